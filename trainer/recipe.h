// `ecgdist train`: the recipes of Zhou et al. (2025) on the data-parallel engine.
//   post-train   stage 1: linear probing (frozen encoder, head only, --lp-epochs at --lp-lr);
//                stage 2: fine-tuning of everything from that head with stochastic depth
//                (--drop-path, default 0.1) at --lr, early stopping on val macro AUROC.
//   fine-tune    the baseline: new head, stage 2 only, no stochastic depth unless asked.
//   linear-probe stage 1 only, up to --epochs with early stopping.
// The best validation checkpoint is evaluated on the test fold; outputs in RUN_DIR follow
// docs/outputs.md.
#pragma once

#include "comm/communicator.h"
#include "monitoring/metrics_options.h"
#include "trainer/train_options.h"

namespace ecg::trainer {

// Returns the process exit code: 0 done, kPreemptedExitCode after a stop-signal checkpoint.
int run_training(comm::Communicator& comm, TrainOptions options,
                 const monitoring::MetricsOptions& metrics_options);

}  // namespace ecg::trainer
