// `ecgdist train`: the post-training recipes (trainer/finetune/recipe.h) as a task on the engine. The
// task builds the ST-MEM classifier (optionally from --init), trains the head alone in stage 1
// and everything with stochastic depth in stage 2, evaluates the validation fold after every
// epoch (early stopping on macro AUROC, the best epoch kept as RUN_DIR/best.ckpt), and finally
// scores the test fold with the best weights. Outputs in RUN_DIR follow docs/outputs.md.
#pragma once

#include "comm/communicator.h"
#include "trainer/finetune/train_options.h"
#include "monitoring/metrics_options.h"

namespace ecg::finetune {

// Returns the process exit code: 0 done, engine::kPreemptedExitCode after a stop-signal
// checkpoint.
int run_training(comm::Communicator& comm, TrainOptions options,
                 const monitoring::MetricsOptions& metrics_options);

}  // namespace ecg::finetune
