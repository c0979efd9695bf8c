// RUN_DIR/results.json: the stable summary of a finished `train` run (docs/outputs.md).
#pragma once

#include <nlohmann/json.hpp>

#include "trainer/engine/train_state.h"
#include "eval/metrics.h"
#include "trainer/finetune/finetune_state.h"
#include "trainer/finetune/task_data.h"
#include "trainer/finetune/train_options.h"

namespace ecg::finetune {

nlohmann::json make_results_json(const TrainOptions& options, const TaskData& data, const FinetuneState& task,
                                 const engine::TrainState& engine, const eval::MetricReport& test, int world_size,
                                 double wall_seconds);

}  // namespace ecg::finetune
