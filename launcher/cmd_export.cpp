// `ecgdist export --checkpoint CKPT --out FILE.pt`: writes the model weights of a checkpoint as a
// plain state dict (collections.OrderedDict of tensors) that Python's torch.load reads, for
// inference outside the trainer. The checkpoint is read by model::load_any_state_dict (trainer
// checkpoints through their registered loader, torch.save files natively) and validated by
// loading it strictly into the ST-MEM architecture its shapes describe, so an export is never a
// partial or mis-shaped model.
#include <nlohmann/json.hpp>

#include "common/atomic_file.h"
#include "common/error.h"
#include "common/log.h"
#include "launcher/command_registry.h"
#include "model/state_dict.h"

namespace ecg::launcher {
namespace {

struct ExportOptions {
  std::string checkpoint;
  std::string out;
  std::string config_out;
};

int run_export(const ExportOptions& o) {
  model::StateDict state = model::load_any_state_dict(o.checkpoint);
  model::StMemConfig config = model::infer_config(state, o.checkpoint);
  model::StMem net(config);
  // A pretrained encoder (`ecgdist pretrain`'s encoder.ckpt, ST-MEM's encoder.pth) has no head:
  // it is exported without one, as ST-MEM's own encoder checkpoints are.
  const bool headless = state.count("head.weight") == 0 && state.count("head.bias") == 0;
  model::LoadOptions load;
  load.allow_missing_head = headless;
  model::load_state_dict(net, state, load);
  model::NamedTensors tensors;
  for (auto& [name, tensor] : model::model_state_dict(net)) {
    if (!(headless && name.rfind("head.", 0) == 0)) tensors.emplace_back(name, tensor);
  }
  model::write_torch_save(o.out, tensors);
  log::info(
      "exported {} tensors (ST-MEM {}: width {}, depth {}, heads {}, {}) from {} to {}",
      tensors.size(), config.size, config.width, config.depth, config.heads,
      headless ? std::string("encoder only, no head") : fmt::format("{} classes", config.num_classes),
      o.checkpoint, o.out);
  if (!o.config_out.empty()) {
    write_file_atomically(o.config_out, nlohmann::json(config).dump(2) + "\n");
    log::info("wrote the architecture to {}", o.config_out);
  }
  return 0;
}

const RegisterCommand kRegister{CommandSpec{
    "export", "Export a checkpoint's ST-MEM weights as a torch.load-able state dict (.pt)", 80,
    [](CLI::App& sub) -> std::function<int()> {
      auto o = std::make_shared<ExportOptions>();
      sub.add_option("--checkpoint", o->checkpoint,
                     "checkpoint to export (trainer checkpoint or torch.save'd state dict)")
          ->required()
          ->check(CLI::ExistingFile);
      sub.add_option("--out", o->out, "output file (.pt), written atomically")->required();
      sub.add_option("--config-out", o->config_out,
                     "also write the inferred architecture as JSON here (empty: do not)");
      return [o] { return run_export(*o); };
    }}};

}  // namespace
}  // namespace ecg::launcher
