// `ecgdist pretrain`: ST-MEM masked pretraining (model/st_mem_pretrain.h) of a foundation model
// on unlabelled records, as a task on the engine (interleaved sharding, bucketed all-reduce
// overlapped with backward, per-step agreement, atomic checkpoints, `--resume auto`, stop-signal
// preemption, Prometheus metrics with ecgdist_stage 0 and ecgdist_pretrain_loss).
//
// RUN_DIR receives:
//   encoder.ckpt          the encoder alone (ST-MEM parameter names, no head), for train --init
//                         and `export`; its meta records the architecture and the preprocessing
//   pretrain_history.csv  epoch, train loss, held-out loss (with --val-folds), lr, seconds
//   results.json          kind "pretraining": options, losses, throughput
//   checkpoints/          resumable training checkpoints (encoder + decoder + optimiser)
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "comm/communicator.h"
#include "model/st_mem_pretrain.h"
#include "monitoring/metrics_options.h"
#include "sharding/prefetcher.h"
#include "trainer/pretrain/pretrain_options.h"

namespace ecg::comm {
class Watchdog;
}

namespace ecg::pretrain {

// Returns the process exit code: 0 done, engine::kPreemptedExitCode after a stop-signal
// checkpoint.
int run_pretraining(comm::Communicator& comm, PretrainOptions options,
                    const monitoring::MetricsOptions& metrics_options);

// Mean masked-patch reconstruction loss over `records` (every rank scores a block; the sum is
// all-reduced): the centre crop of `crop` samples made by `transform` (sharding's centre crop, or
// ST-MEM's filtered, standardised one), masks fixed by (seed, record) so that successive
// evaluations compare like with like. The same value on every rank.
double heldout_reconstruction_loss(model::StMemPretrain& model, comm::Communicator& comm,
                                   const std::string& path, const std::vector<int64_t>& records,
                                   int64_t crop, int64_t batch, uint64_t seed,
                                   comm::Watchdog* watchdog, double timeout, sharding::SampleTransform transform);

}  // namespace ecg::pretrain
