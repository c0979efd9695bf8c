// Asynchronous batch prefetch: overlaps HDF5 reads and per-sample transforms (crop, lead
// selection) with the trainer's compute.
//
// Threads: ONE I/O thread (a 1-thread Boost.Asio pool) owns the Hdf5RecordReader and makes every
// HDF5 call (see hdf5_record_reader.h for why one); a Boost.Asio worker pool runs the per-sample
// transforms. Up to `depth` batches are in flight or ready ahead of the consumer; next() hands
// the next one over and schedules one more. A batch's records are read in sorted order (contiguous
// runs merged) and then placed back in the sampler's slot order.
//
// Errors thrown on a background thread (the read, or the caller's transform) are captured and
// rethrown by the next() that asks for that batch, as an ecg::Error naming the file and the step.
// The destructor stops scheduling, drops queued work and joins all threads; it does not wait for
// the consumer and is safe mid-epoch.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "data/dataset_info.h"
#include "sharding/epoch_sampler.h"
#include "sharding/hdf5_record_reader.h"

namespace ecg::sharding {

// Per-sample transform: reads one record restricted to the selected leads, `in` = [L, T]
// (row-major), writes `out` = [L, crop]. Must be thread-safe (called concurrently for different
// samples) and deterministic given item.seed for reproducible training.
using SampleTransform = std::function<void(const SampleItem& item, const float* in, int leads,
                                           int64_t in_samples, float* out, int64_t out_samples)>;

// Crop window of `crop` samples at an offset drawn from item.seed (uniform over every valid
// offset, same offset for all leads). crop == T gives the identity.
SampleTransform random_crop_transform();
// Deterministic centre crop (evaluation).
SampleTransform center_crop_transform();
// The offset random_crop_transform uses for `item` (exposed for tests and for logging).
int64_t random_crop_offset(uint64_t sample_seed, int64_t in_samples, int64_t crop);

// Lead names (data/hdf5_layout.h order, case-insensitive) -> row indices; the error names
// --leads and the unknown lead.
std::vector<int> lead_indices_from_names(const std::vector<std::string>& names);

struct PrefetchConfig {
  std::vector<int> leads;     // row indices into the 12 leads; empty = all, in file order
  int64_t crop_samples = 0;   // output length; 0 = T (no crop)
  int depth = 3;              // batches ahead of the consumer (>= 1)
  int worker_threads = 2;     // transform threads (>= 1)
  SampleTransform transform;  // empty = random_crop_transform()
};

struct Batch {
  int64_t step = 0;                  // index into the batch plan
  int64_t size = 0;                  // samples in this batch (b)
  int leads = 0;                     // L
  int64_t samples = 0;               // crop length
  std::vector<float> signals;        // [b, L, samples], contiguous
  std::vector<SampleItem> items;     // b items, same order as the rows of `signals`
  int64_t num_classes = 0;           // C (0 when no labels were given)
  std::vector<uint8_t> labels;       // [b, C]
  double wait_seconds = 0.0;         // how long next() blocked for this batch (data-wait time)
  double read_seconds = 0.0;         // I/O thread time spent reading this batch
  double transform_seconds = 0.0;    // worker time spent transforming it (summed over chunks)
  double ready_after_seconds = 0.0;  // from scheduling to ready (read + transform + queueing)
};

class Prefetcher {
 public:
  // `path`: the HDF5 file (opened on the I/O thread; open/validation errors surface on the first
  // next()). `plan`: the batches, in order (e.g. EpochSampler::batches_from(k) to resume at step
  // k, or eval_batches(...)). `labels`: the task's label matrix (may be empty: rows == 0).
  Prefetcher(std::string path, std::vector<std::vector<SampleItem>> plan, data::LabelMatrix labels,
             PrefetchConfig config);
  ~Prefetcher();
  Prefetcher(const Prefetcher&) = delete;
  Prefetcher& operator=(const Prefetcher&) = delete;

  int64_t num_batches() const;
  // Index of the batch the next call to next() returns; == num_batches() when exhausted.
  int64_t position() const;
  bool done() const { return position() >= num_batches(); }

  // The next batch in plan order; blocks until it is ready. Rethrows a background error.
  Batch next();
  // Same, asserting that the trainer and the prefetcher agree on the step (index into the plan).
  Batch next(int64_t expected_step);

  // Optional: hands a consumed batch's buffers back for reuse by later batches (saves the page
  // faults of a fresh multi-MB allocation per step). The batch is left empty.
  void recycle(Batch&& batch);

  // Sum of Batch::wait_seconds so far (the per-rank data-wait metric).
  double total_wait_seconds() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace ecg::sharding
