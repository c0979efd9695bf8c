// RUN_DIR/results.json: the stable summary of a finished run (docs/outputs.md).
#pragma once

#include <nlohmann/json.hpp>

#include "trainer/metrics.h"
#include "trainer/task_data.h"
#include "trainer/train_options.h"
#include "trainer/train_state.h"

namespace ecg::trainer {

nlohmann::json make_results_json(const TrainOptions& options, const TaskData& data,
                                 const TrainState& state, const MetricReport& test, int world_size,
                                 double wall_seconds);

}  // namespace ecg::trainer
