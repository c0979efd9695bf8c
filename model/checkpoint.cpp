#include "model/checkpoint.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>

#include "common/error.h"
#include "model/torch_save_writer.h"
#include "model/untrusted_zip.h"

namespace fs = std::filesystem;

namespace ecg::model {
namespace {

constexpr const char* kMetaKey = "meta";
constexpr const char* kStateKey = "state";
constexpr const char* kOptimizerKey = "optimizer";

// Tensor names go into the JSON meta and the archive keys are plain indices: archive keys become
// TorchScript attribute names, where the dots of parameter names are not safe.
std::string tensor_key(size_t i) { return "t" + std::to_string(i); }

// load_checkpoint past the checks on the file: foreign exceptions are translated by the caller.
LoadedCheckpoint read_checkpoint(const std::string& path, torch::optim::Optimizer* optimizer) {
  torch::serialize::InputArchive archive;
  archive.load_from(path);
  c10::IValue meta_value;
  ECG_CHECK(archive.try_read(kMetaKey, meta_value) && meta_value.isString(),
            "{} is not an ecgdist checkpoint (no meta record)", path);
  LoadedCheckpoint out;
  out.meta = nlohmann::json::parse(meta_value.toStringRef());
  ECG_CHECK(out.meta.value("format", "") == kCheckpointFormat, "{}: unknown checkpoint format", path);
  // Compared as JSON: a conversion to int of a hostile 1e300 would be undefined behaviour.
  ECG_CHECK(out.meta.value("format_version", nlohmann::json()) == kCheckpointVersion,
            "{}: checkpoint format version {} is not supported (expected {})", path,
            out.meta.value("format_version", nlohmann::json()).dump(), kCheckpointVersion);
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
  const fs::path dir = fs::path(path).parent_path().empty() ? fs::path(".") : fs::path(path).parent_path();
  std::error_code ec;
  fs::create_directories(dir, ec);
  ECG_CHECK(!ec, "{}: cannot create the folder for checkpoint {}: {}", dir.string(), path, ec.message());
  write_archive_atomically(path, "checkpoint", [&](const ByteSink& sink, const std::function<bool()>&) {
    archive.save_to(sink);
  });
}

// Our checkpoints are TorchScript archives (torch::serialize), which hold constants.pkl; torch.save
// files never do. Looking at the zip directory decides without running LibTorch's loader on a
// file that may be neither.
bool is_ecgdist_checkpoint(const std::string& path) {
  try {
    return UntrustedZip::open_file(path, UntrustedZip::Compressed::small_only)
        .record_size("constants.pkl")
        .has_value();
  } catch (const ecg::Error&) {
    return false;
  }
}

LoadedCheckpoint load_checkpoint(const std::string& path, torch::optim::Optimizer* optimizer) {
  ECG_CHECK(fs::exists(path), "checkpoint {} does not exist", path);
  // LibTorch's archive reader inflates every record it reads whole: the directory is checked
  // first (records no larger than the file, compressed ones small), which bounds its memory.
  try {
    UntrustedZip::open_file(path, UntrustedZip::Compressed::small_only);
  } catch (...) {
    rethrow_as_error(path, "not a readable ecgdist checkpoint");
  }
  try {
    return read_checkpoint(path, optimizer);
  } catch (...) {
    rethrow_as_error(path, "cannot read the ecgdist checkpoint");
  }
}

LoadedCheckpoint load_any_checkpoint(const std::string& path) {
  ECG_CHECK(fs::exists(path), "checkpoint {} does not exist", path);
  if (is_ecgdist_checkpoint(path)) return load_checkpoint(path);
  LoadedCheckpoint out;
  out.state = read_torch_save_state_dict(path);  // first: its errors say what is wrong with the file
  out.meta = read_export_meta(path);
  return out;
}

nlohmann::json export_meta(const nlohmann::json& checkpoint_meta) {
  if (!checkpoint_meta.is_object()) return nullptr;
  nlohmann::json out = {{"format", kExportMetaFormat}, {"format_version", kExportMetaVersion}};
  for (const char* key : {"model_config", "task", "classes", "preprocessing", "options", "source_kind"}) {
    if (checkpoint_meta.contains(key)) out[key] = checkpoint_meta.at(key);
  }
  if (checkpoint_meta.contains("kind")) out["source_kind"] = checkpoint_meta.at("kind");
  return out;
}

nlohmann::json read_export_meta(const std::string& path) {
  try {
    const UntrustedZip zip = UntrustedZip::open_file(path);
    if (!zip.record_size(kExportMetaRecord).has_value()) return nullptr;
    const std::string text = zip.read_record(kExportMetaRecord, kMaxExportMetaBytes, "ecgdist metadata");
    nlohmann::json meta;
    try {
      meta = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
      ECG_FAIL("{}: record {} is not valid JSON: {}", path, kExportMetaRecord, e.what());
    }
    ECG_CHECK(meta.is_object() && meta.contains("format") && meta.at("format") == kExportMetaFormat,
              "{}: record {} is not ecgdist export metadata (format '{}' expected)", path, kExportMetaRecord,
              kExportMetaFormat);
    ECG_CHECK(meta.contains("format_version") && meta.at("format_version") == kExportMetaVersion,
              "{}: record {}: format_version {} is not supported (expected {})", path, kExportMetaRecord,
              meta.value("format_version", nlohmann::json()).dump(), kExportMetaVersion);
    return meta;
  } catch (...) {
    rethrow_as_error(path, "cannot read the ecgdist metadata of the torch.save file");
  }
}

}  // namespace ecg::model
