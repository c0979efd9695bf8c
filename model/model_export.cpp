#include "model/model_export.h"

#include "model/checkpoint.h"
#include "model/state_dict.h"
#include "model/torch_save_writer.h"

namespace ecg::model {

ExportSummary export_state_dict(const std::string& checkpoint, const std::string& out) {
  LoadedCheckpoint source = load_any_checkpoint(checkpoint);
  StateDict& state = source.state;
  ExportSummary summary;
  summary.config = infer_config(state, checkpoint);
  StMem net(summary.config);
  summary.headless = state.count("head.weight") == 0 && state.count("head.bias") == 0;
  LoadOptions load;
  load.allow_missing_head = summary.headless;
  load_state_dict(net, state, load);
  NamedTensors tensors;
  for (auto& [name, tensor] : model_state_dict(net)) {
    if (!(summary.headless && name.rfind("head.", 0) == 0)) tensors.emplace_back(name, tensor);
  }
  // The metadata travels with the weights so that evaluate / predict check the exported model
  // against their data exactly as they check the checkpoint (model/checkpoint.h).
  ExtraRecords extra;
  const nlohmann::json meta = export_meta(source.meta);
  if (!meta.is_null()) extra.emplace_back(kExportMetaRecord, meta.dump(2));
  summary.metadata = !meta.is_null();
  write_torch_save(out, tensors, extra);
  summary.tensors = tensors.size();
  return summary;
}

}  // namespace ecg::model
