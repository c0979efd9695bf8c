#include "trainer/checkpoint.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>

#include "common/atomic_file.h"
#include "common/error.h"
#include "model/state_dict.h"

namespace fs = std::filesystem;

namespace ecg::trainer {
namespace {

constexpr const char* kMetaKey = "meta";
constexpr const char* kStateKey = "state";
constexpr const char* kOptimizerKey = "optimizer";

// Tensor names go into the JSON meta and the archive keys are plain indices: archive keys become
// TorchScript attribute names, where the dots of parameter names are not safe.
std::string tensor_key(size_t i) { return "t" + std::to_string(i); }

}  // namespace

void save_checkpoint(const std::string& path, const nlohmann::json& meta_in, const NamedTensors& state,
                     torch::optim::Optimizer* optimizer) {
  nlohmann::json meta = meta_in;
  meta["format"] = kCheckpointFormat;
  meta["format_version"] = kCheckpointVersion;
  std::vector<std::string> names;
  torch::serialize::OutputArchive tensors;
  for (size_t i = 0; i < state.size(); ++i) {
    names.push_back(state[i].first);
    tensors.write(tensor_key(i), state[i].second.detach().to(torch::kCPU).contiguous());
  }
  meta["state_names"] = names;
  torch::serialize::OutputArchive archive;
  archive.write(kMetaKey, c10::IValue(meta.dump()));
  archive.write(kStateKey, tensors);
  if (optimizer != nullptr) {
    torch::serialize::OutputArchive opt;
    optimizer->save(opt);
    archive.write(kOptimizerKey, opt);
  }
  fs::create_directories(fs::path(path).parent_path().empty() ? fs::path(".") : fs::path(path).parent_path());
  write_atomically(path, [&](const std::string& tmp) { archive.save_to(tmp); });
}

bool is_ecgdist_checkpoint(const std::string& path) {
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(path);
    c10::IValue meta;
    return archive.try_read(kMetaKey, meta) && meta.isString();
  } catch (const std::exception&) {
    return false;
  }
}

LoadedCheckpoint load_checkpoint(const std::string& path, torch::optim::Optimizer* optimizer) {
  ECG_CHECK(fs::exists(path), "checkpoint {} does not exist", path);
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path);
  } catch (const std::exception& e) {
    ECG_FAIL("{} is not a readable ecgdist checkpoint: {}", path, std::string(e.what()).substr(0, 200));
  }
  c10::IValue meta_value;
  ECG_CHECK(archive.try_read(kMetaKey, meta_value) && meta_value.isString(),
            "{} is not an ecgdist checkpoint (no meta record)", path);
  LoadedCheckpoint out;
  out.meta = nlohmann::json::parse(meta_value.toStringRef());
  ECG_CHECK(out.meta.value("format", "") == kCheckpointFormat, "{}: unknown checkpoint format", path);
  ECG_CHECK(out.meta.value("format_version", 0) == kCheckpointVersion,
            "{}: checkpoint format version {} is not supported (expected {})", path,
            out.meta.value("format_version", 0), kCheckpointVersion);
  torch::serialize::InputArchive tensors;
  ECG_CHECK(archive.try_read(kStateKey, tensors), "{}: checkpoint has no model state", path);
  auto names = out.meta.at("state_names").get<std::vector<std::string>>();
  for (size_t i = 0; i < names.size(); ++i) {
    torch::Tensor t;
    ECG_CHECK(tensors.try_read(tensor_key(i), t), "{}: tensor '{}' missing from checkpoint", path, names[i]);
    out.state.emplace(names[i], t);
  }
  if (optimizer != nullptr) {
    torch::serialize::InputArchive opt;
    ECG_CHECK(archive.try_read(kOptimizerKey, opt), "{}: checkpoint has no optimizer state to resume", path);
    optimizer->load(opt);
  }
  return out;
}

LoadedCheckpoint load_any_checkpoint(const std::string& path) {
  ECG_CHECK(fs::exists(path), "checkpoint {} does not exist", path);
  if (is_ecgdist_checkpoint(path)) return load_checkpoint(path);
  LoadedCheckpoint out;
  out.state = model::read_torch_save_state_dict(path);
  return out;
}

// `ecgdist export` and other users of model::load_any_state_dict accept our checkpoints too.
const bool kRegistered = [] {
  model::register_state_dict_loader("ecgdist-checkpoint", [](const std::string& path) {
    std::optional<model::StateDict> out;
    if (is_ecgdist_checkpoint(path)) out = load_checkpoint(path).state;
    return out;
  });
  return true;
}();

std::string step_checkpoint_path(const std::string& run_dir, int64_t global_step) {
  return (fs::path(run_dir) / "checkpoints" / fmt::format("step-{:09d}.ckpt", global_step)).string();
}

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

std::string newest_checkpoint(const std::string& run_dir) {
  auto all = step_checkpoints(run_dir);
  return all.empty() ? std::string() : all.back().string();
}

void prune_checkpoints(const std::string& run_dir, int keep) {
  auto all = step_checkpoints(run_dir);
  for (size_t i = 0; i + static_cast<size_t>(keep) < all.size(); ++i) {
    std::error_code ignored;
    fs::remove(all[i], ignored);
  }
}

}  // namespace ecg::trainer
