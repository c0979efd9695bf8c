#include "monitoring/file_sd.h"

#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/atomic_file.h"
#include "common/error.h"
#include "common/log.h"

namespace ecg::monitoring {
namespace {

const char* lookup(const EnvLookup& env, const char* name) {
  const char* value = env ? env(name) : std::getenv(name);
  return value != nullptr && *value != '\0' ? value : nullptr;
}

}  // namespace

std::map<std::string, std::string> job_target_labels(const EnvLookup& env) {
  std::map<std::string, std::string> labels;
  if (const char* id = lookup(env, "SLURM_JOB_ID")) labels["slurm_job_id"] = id;
  if (const char* name = lookup(env, "SLURM_JOB_NAME")) labels["slurm_job_name"] = name;
  return labels;
}

std::string scrape_host(const std::string& bind_address) {
  if (bind_address.empty() || bind_address == "0.0.0.0" || bind_address == "::" ||
      bind_address == "[::]") {
    char name[HOST_NAME_MAX + 1] = {};
    ECG_CHECK(::gethostname(name, sizeof name - 1) == 0, "gethostname failed: {}",
              std::strerror(errno));
    return name;
  }
  if (bind_address.find(':') != std::string::npos && bind_address.front() != '[') {
    return "[" + bind_address + "]";
  }
  return bind_address;
}

std::string file_sd_json(const std::string& target,
                         const std::map<std::string, std::string>& labels) {
  nlohmann::json group;
  group["targets"] = nlohmann::json::array({target});
  group["labels"] = nlohmann::json::object();
  for (const auto& [key, value] : labels) group["labels"][key] = value;
  return nlohmann::json::array({group}).dump(2) + "\n";
}

std::string file_sd_file_name(int rank, const EnvLookup& env) {
  const char* job = lookup(env, "SLURM_JOB_ID");
  const std::string id = job != nullptr ? std::string(job) : std::to_string(::getpid());
  return "ecgdist-" + id + "-rank" + std::to_string(rank) + ".json";
}

FileSdTarget::FileSdTarget(const std::string& dir, const std::string& file_name,
                           const std::string& target,
                           const std::map<std::string, std::string>& labels) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  ECG_CHECK(!ec && std::filesystem::is_directory(dir),
            "--metrics-sd-dir {}: cannot create directory: {}", dir, ec.message());
  path_ = (std::filesystem::path(dir) / file_name).string();
  // Prometheus only reads *.json here; the atomic writer's temp name (<path>.tmp.<pid>) does not
  // match such a glob, so the server never sees a partial file.
  write_file_atomically(path_, file_sd_json(target, labels));
  log::debug("file_sd target {} written to {}", target, path_);
}

FileSdTarget::~FileSdTarget() {
  std::error_code ec;
  std::filesystem::remove(path_, ec);
  if (ec) log::warn("cannot remove file_sd target file {}: {}", path_, ec.message());
}

}  // namespace ecg::monitoring
