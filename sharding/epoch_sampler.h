// Which records a rank trains on at each step of an epoch, and which it evaluates.
//
// Training: the eligible records are permuted once per epoch by a PRNG seeded from (seed, epoch);
// the permutation is cut into global batches of B; rank r of W takes positions r, r+W, r+2W, ...
// of each global batch. The set of samples in step s therefore does not depend on W, every rank
// gets B/W samples per step, and a record appears at most once per epoch. The final partial
// global batch (n % B records) is DROPPED so that every rank takes the same number of steps (a
// collective per step would otherwise deadlock); the next epoch's permutation differs, so no
// record is excluded systematically. Everything is a pure function of (records, seed, epoch, B,
// W, r): a resumed run asks for step k directly and gets what the uninterrupted run got.
//
// Evaluation: every record of the split exactly once across ranks, in contiguous blocks (no
// padded duplicates; counts may differ by one). The trainer gathers the per-rank results in rank
// order, which reproduces the split's order.
#pragma once

#include <cstdint>
#include <vector>

namespace ecg::sharding {

// splitmix64 finaliser (Steele, Lea, Flood 2014): a fixed, portable 64-bit mixer.
uint64_t splitmix64(uint64_t x);

// The PRNG seed of epoch `epoch` of a run seeded with `seed`.
uint64_t epoch_seed(uint64_t seed, int64_t epoch);

// Per-sample randomness (crop offset, drop-path, ...) = hash(seed, epoch, record). Independent of
// the world size, the rank and the step, so resume and rescaling do not change what a sample sees.
uint64_t sample_seed(uint64_t seed, int64_t epoch, int64_t record);

// Fisher-Yates shuffle of `values` with std::mt19937_64 seeded by epoch_seed(seed, epoch) and
// rejection-sampled bounded draws. Written out (not std::shuffle / uniform_int_distribution)
// because those algorithms are implementation-defined: the permutation must be identical across
// compilers and standard libraries.
void shuffle_in_place(std::vector<int64_t>& values, uint64_t seed, int64_t epoch);

struct SampleItem {
  int64_t record = 0;    // row index in /signals
  int64_t position = 0;  // global position in this epoch's permutation (step * B + slot)
  uint64_t seed = 0;     // sample_seed(seed, epoch, record)
};

class EpochSampler {
 public:
  // `records`: the eligible record indices (any order; sorted internally, duplicates rejected).
  // Errors name --batch-size when B % W != 0, B < 1, or B exceeds the number of records.
  EpochSampler(std::vector<int64_t> records, uint64_t seed, int64_t global_batch, int world_size,
               int rank);

  // Selects the epoch (computes its permutation). Epoch 0 is selected on construction.
  void set_epoch(int64_t epoch);
  int64_t epoch() const { return epoch_; }

  int64_t num_records() const { return static_cast<int64_t>(records_.size()); }
  int64_t global_batch() const { return global_batch_; }
  int64_t local_batch() const { return global_batch_ / world_size_; }
  int world_size() const { return world_size_; }
  int rank() const { return rank_; }
  // Full global batches per epoch; the same on every rank.
  int64_t steps_per_epoch() const { return num_records() / global_batch_; }
  // Records left out of this epoch by drop-last (n % B).
  int64_t dropped_per_epoch() const { return num_records() % global_batch_; }

  // This rank's share of step `step` (0-based within the epoch), in slot order r, r+W, ...
  std::vector<SampleItem> batch(int64_t step) const;
  // The whole global batch of step `step` (all ranks' samples), in slot order.
  std::vector<SampleItem> global_batch_items(int64_t step) const;
  // This rank's batches from step `first` (resume point) to the end of the epoch.
  std::vector<std::vector<SampleItem>> batches_from(int64_t first) const;

  // The epoch's permutation of the (sorted) eligible records.
  const std::vector<int64_t>& permutation() const { return permutation_; }

 private:
  SampleItem item_at(int64_t position) const;
  void check_step(int64_t step) const;

  std::vector<int64_t> records_;
  uint64_t seed_;
  int64_t global_batch_;
  int world_size_;
  int rank_;
  int64_t epoch_ = -1;
  std::vector<int64_t> permutation_;
};

// Evaluation split for rank `rank` of `world_size`: a contiguous block of `records` (kept in the
// given order). Block sizes differ by at most one; every record is in exactly one block.
struct EvalShard {
  int64_t offset = 0;            // index in `records` of this rank's first record
  std::vector<int64_t> records;  // this rank's records
};
EvalShard eval_partition(const std::vector<int64_t>& records, int world_size, int rank);
// Per-rank record counts of eval_partition (what MPI_Gatherv needs), rank order.
std::vector<int64_t> eval_partition_counts(int64_t num_records, int world_size);

// Cuts a list of records into consecutive batches of at most `batch_size` items (the last one may
// be short) -- evaluation does not drop anything. Items carry position = index in `records` and
// seed = sample_seed(seed, epoch, record) (deterministic eval crops).
std::vector<std::vector<SampleItem>> eval_batches(const std::vector<int64_t>& records,
                                                  int64_t batch_size, uint64_t seed = 0,
                                                  int64_t epoch = 0, int64_t first_position = 0);

}  // namespace ecg::sharding
