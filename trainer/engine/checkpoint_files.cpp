#include "trainer/engine/checkpoint_files.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "common/error.h"
#include "common/log.h"

namespace fs = std::filesystem;

namespace ecg::engine {
namespace {

std::vector<fs::path> step_checkpoints(const std::string& run_dir) {
  std::vector<fs::path> out;
  fs::path dir = fs::path(run_dir) / "checkpoints";
  if (!fs::is_directory(dir)) return out;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    // Only complete files: temp files (".tmp.<pid>") are never renamed into this pattern.
    if (name.rfind("step-", 0) == 0 && entry.path().extension() == ".ckpt") out.push_back(entry.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

std::string step_checkpoint_path(const std::string& run_dir, int64_t global_step) {
  return (fs::path(run_dir) / "checkpoints" / fmt::format("step-{:09d}.ckpt", global_step)).string();
}

std::string newest_checkpoint(const std::string& run_dir) {
  auto all = step_checkpoints(run_dir);
  return all.empty() ? std::string() : all.back().string();
}

void remove_run_dir_without_files(const std::string& run_dir) {
  std::error_code ec;
  if (!fs::is_directory(run_dir, ec)) return;
  const std::string own_tmp = ".tmp." + std::to_string(::getpid());
  for (auto it = fs::recursive_directory_iterator(run_dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (it->is_directory(ec)) continue;
    const std::string name = it->path().filename().string();
    const size_t at = name.rfind(own_tmp);
    if (at == std::string::npos || at + own_tmp.size() != name.size()) return;  // someone's file: keep all
  }
  if (ec) return;
  fs::remove_all(run_dir, ec);
  if (!ec) log::info("removed the run folder {}: the run failed before writing any output", run_dir);
}

void prune_checkpoints(const std::string& run_dir, int keep) {
  auto all = step_checkpoints(run_dir);
  for (size_t i = 0; i + static_cast<size_t>(keep) < all.size(); ++i) {
    std::error_code ignored;
    fs::remove(all[i], ignored);
  }
}

std::string resolve_resume_path(const EngineOptions& options) {
  if (options.resume.empty()) return "";
  if (options.resume == "auto") {
    std::string path = newest_checkpoint(options.out);
    if (path.empty()) log::info("--resume auto: no checkpoint in {}, starting fresh", options.out);
    return path;
  }
  ECG_CHECK(fs::exists(options.resume), "--resume {}: no such checkpoint", options.resume);
  return options.resume;
}

void check_same_settings(const nlohmann::json& saved, const nlohmann::json& now,
                         std::initializer_list<const char*> keys, const std::string& path) {
  for (const char* key : keys) {
    ECG_CHECK(saved.value(key, nlohmann::json()) == now.value(key, nlohmann::json()),
              "--resume {}: checkpoint has {} = {} but this run has {}", path, key,
              saved.value(key, nlohmann::json()).dump(), now.value(key, nlohmann::json()).dump());
  }
}

model::NamedTensors snapshot_state(torch::nn::Module& model) {
  model::NamedTensors out;
  torch::NoGradGuard no_grad;
  for (const auto& item : model.named_parameters()) out.emplace_back(item.key(), item.value().detach().clone());
  for (const auto& item : model.named_buffers()) out.emplace_back(item.key(), item.value().detach().clone());
  return out;
}

std::vector<torch::Tensor> trainable_in_registration_order(torch::nn::Module& model) {
  std::vector<torch::Tensor> out;
  for (const auto& p : model.parameters()) {
    if (p.requires_grad()) out.push_back(p);
  }
  return out;
}

}  // namespace ecg::engine
