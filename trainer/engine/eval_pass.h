// The one evaluation loop of ecgdist: validation and test in `train`, `evaluate`, `predict` on an
// HDF5 file, and pretraining's held-out loss all run their records through it. Each rank takes
// its contiguous block of the split (sharding::eval_partition: every record exactly once, no
// padded duplicates), reads it with the prefetcher, and stages each batch on the model's device
// exactly as training stages its batches (BatchStager: on a GPU pinned memory and a copy stream),
// with the model in eval mode, without gradients, under the watchdog's deadline for the phase.
// What a batch is scored for (probabilities, a masked reconstruction loss) is the caller's.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "comm/communicator.h"
#include "sharding/prefetcher.h"
#include "trainer/engine/device.h"

namespace ecg::comm {
class Watchdog;
}

namespace ecg::engine {

struct EvalPass {
  std::string path;               // the HDF5 file
  std::vector<int64_t> records;   // the split, in its order (rows of the file)
  int64_t batch = 32;             // records per batch on each rank
  std::vector<int> lead_rows;     // rows of /signals to feed, in model lead order (empty: all)
  int64_t crop_samples = 0;       // 0: whole records (the caller cuts its crops)
  sharding::SampleTransform transform;  // with crop_samples: how a window is cut
  uint64_t seed = 0;              // per-record seeds: sample_seed(seed, seed_epoch, record)
  int64_t seed_epoch = 0;
  std::string phase;              // watchdog phase, e.g. "validation"
  double timeout = 0;             // the phase's deadline in seconds (0: none)
  // false: batches are handed over on the host only (DeviceBatch::signals undefined), for a
  // caller that prepares its input on the CPU first (ST-MEM's filtered eval crops).
  bool stage_on_device = true;
};

// This rank's share of pass.records: the first record's index in the split and the count.
struct EvalShare {
  int64_t first = 0;
  int64_t count = 0;
};

// Runs `on_batch` for each of this rank's batches in the split's order (DeviceBatch::host is the
// prefetched batch: its items carry each record's position in pass.records). The model is put in
// eval mode and restored; no gradient is recorded. Returns this rank's share.
EvalShare run_eval_pass(torch::nn::Module& model, torch::Device device, comm::Communicator& comm,
                        comm::Watchdog* watchdog, const EvalPass& pass,
                        const std::function<void(const DeviceBatch&)>& on_batch);

// Every rank's rows of `width` floats gathered to every rank in the split's order: rank r
// contributes the rows of its share (run_eval_pass), blocks are padded to the largest and the
// padding dropped, so that no record is counted twice.
std::vector<float> gather_eval_rows(comm::Communicator& comm, const std::vector<float>& local, int64_t num_records,
                                    int64_t width, const std::string& phase);

}  // namespace ecg::engine
