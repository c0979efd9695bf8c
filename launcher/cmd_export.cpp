// `ecgdist export --checkpoint CKPT --out FILE.pt`: writes the model weights of a checkpoint as a
// plain state dict (collections.OrderedDict of tensors) that Python's torch.load reads, for
// inference outside ecgdist, with the checkpoint's metadata as an extra record (model/model_export.h).
#include <nlohmann/json.hpp>

#include "common/atomic_file.h"
#include "common/error.h"
#include "common/log.h"
#include "launcher/command_registry.h"
#include "model/checkpoint.h"
#include "model/model_export.h"

namespace ecg::launcher {
namespace {

struct ExportOptions {
  std::string checkpoint;
  std::string out;
  std::string config_out;
};

int run_export(const ExportOptions& o) {
  const model::ExportSummary exported = model::export_state_dict(o.checkpoint, o.out);
  const model::StMemConfig& config = exported.config;
  const bool headless = exported.headless;
  log::info(
      "exported {} tensors (ST-MEM {}: width {}, depth {}, heads {}, {}) from {} to {}",
      exported.tensors, config.size, config.width, config.depth, config.heads,
      headless ? std::string("encoder only, no head") : fmt::format("{} classes", config.num_classes),
      o.checkpoint, o.out);
  if (exported.metadata) {
    log::info("{} carries the checkpoint's task, classes and preprocessing manifest (record {}): evaluate and "
              "predict check it against their data", o.out, model::kExportMetaRecord);
  } else {
    log::warn("{} records no preprocessing ({} has no ecgdist metadata): evaluate and predict will need "
              "--trust-data-preprocessing to use it on an HDF5 file", o.out, o.checkpoint);
  }
  if (!o.config_out.empty()) {
    write_file_atomically(o.config_out, nlohmann::json(config).dump(2) + "\n");
    log::info("wrote the architecture to {}", o.config_out);
  }
  return 0;
}

const RegisterCommand kRegisterExport{CommandSpec{
    "export", "Export a checkpoint's ST-MEM weights as a torch.load-able state dict (.pt)", 80,
    [](CLI::App& sub) -> std::function<int()> {
      auto o = std::make_shared<ExportOptions>();
      sub.add_option("--checkpoint", o->checkpoint,
                     "checkpoint to export (ecgdist checkpoint or torch.save'd state dict)")
          ->required()
          ->check(CLI::ExistingFile);
      sub.add_option("--out", o->out, "output file (.pt), written atomically")->required();
      sub.add_option("--config-out", o->config_out,
                     "also write the inferred architecture as JSON here (empty: do not)");
      return [o] { return run_export(*o); };
    }}};

}  // namespace
}  // namespace ecg::launcher
