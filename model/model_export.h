// `ecgdist export`: a checkpoint's ST-MEM weights as a plain state dict (collections.OrderedDict
// of CPU tensors) that Python's torch.load reads, for inference outside ecgdist. The checkpoint
// (ours or a torch.save file) is validated by loading it strictly into the architecture its
// shapes describe, so an export is never a partial or mis-shaped model. A pretrained encoder
// (no head) is exported without one, as ST-MEM's own encoder checkpoints are. The checkpoint's
// metadata (model config, task, classes, preprocessing manifest, options) goes into the file as the
// extra record model::kExportMetaRecord, which torch.load ignores.
#pragma once

#include <cstddef>
#include <string>

#include "model/st_mem_config.h"

namespace ecg::model {

struct ExportSummary {
  StMemConfig config;  // the architecture inferred from the weights
  bool headless = false;
  size_t tensors = 0;
  bool metadata = false;  // the file carries kExportMetaRecord (false: the source had no metadata)
};

// Writes `out` atomically; errors name `checkpoint`.
ExportSummary export_state_dict(const std::string& checkpoint, const std::string& out);

}  // namespace ecg::model
