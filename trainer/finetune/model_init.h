// Weights into the fine-tuning model: --init (strict, never silently random), a resumed or best
// state, and the checks that refuse a checkpoint of another run or of data prepared differently.
#pragma once

#include <initializer_list>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "model/st_mem.h"
#include "trainer/finetune/task_data.h"
#include "trainer/finetune/train_options.h"

namespace ecg::finetune {

// Strict: every model tensor present with the same shape, nothing unexpected. `source` names the
// file in errors.
void load_model_state(model::StMem& model, const std::map<std::string, torch::Tensor>& state,
                      const std::string& source);

// --init: an encoder from an ecgdist checkpoint or a torch.save file (ST-MEM's encoder.pth, our
// export); every encoder tensor must be present. An ecgdist checkpoint's preprocessing manifest
// must match the data's, and its architecture the chosen --model. The file's head is kept as
// options.init_head says (InitHead): a kept head continues a classifier, so its classes must be
// the task's and its input pipeline (profile) this run's; otherwise the head is new.
void load_init_weights(model::StMem& model, const TrainOptions& options, const TaskData& data);

// A resumed run must be the same run: task, recipe, model, seed, batch and schedule settings.
void check_resume_compatible(const nlohmann::json& meta, const TrainOptions& options,
                             const TaskData& data, const std::string& path);

}  // namespace ecg::finetune
