#include "sharding/epoch_sampler.h"

#include <algorithm>
#include <random>

#include "common/error.h"

namespace ecg::sharding {
namespace {

// Uniform integer in [0, bound) from a 64-bit engine by rejection (no modulo bias). Written out
// because std::uniform_int_distribution's algorithm is implementation-defined.
uint64_t bounded(std::mt19937_64& rng, uint64_t bound) {
  const uint64_t threshold = (0 - bound) % bound;  // 2^64 mod bound
  for (;;) {
    uint64_t r = rng();
    if (r >= threshold) return r % bound;
  }
}

}  // namespace

uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

uint64_t epoch_seed(uint64_t seed, int64_t epoch) {
  return splitmix64(splitmix64(seed) ^ static_cast<uint64_t>(epoch));
}

uint64_t sample_seed(uint64_t seed, int64_t epoch, int64_t record) {
  // A different chain from epoch_seed (extra round with a constant) so that the sample seed of
  // record 0 is not the epoch's permutation seed.
  return splitmix64(splitmix64(epoch_seed(seed, epoch) ^ 0x5A4D504C45ULL) ^
                    static_cast<uint64_t>(record));
}

void shuffle_in_place(std::vector<int64_t>& values, uint64_t seed, int64_t epoch) {
  std::mt19937_64 rng(epoch_seed(seed, epoch));
  for (size_t i = values.size(); i > 1; --i) {
    size_t j = static_cast<size_t>(bounded(rng, i));
    std::swap(values[i - 1], values[j]);
  }
}

EpochSampler::EpochSampler(std::vector<int64_t> records, uint64_t seed, int64_t global_batch,
                           int world_size, int rank)
    : records_(std::move(records)),
      seed_(seed),
      global_batch_(global_batch),
      world_size_(world_size),
      rank_(rank) {
  ECG_CHECK(world_size >= 1 && rank >= 0 && rank < world_size, "invalid rank {} of world size {}",
            rank, world_size);
  ECG_CHECK(global_batch >= 1, "--batch-size must be at least 1 (got {})", global_batch);
  ECG_CHECK(global_batch % world_size == 0,
            "--batch-size {} is not divisible by the world size {} (the global batch is split "
            "evenly across ranks)",
            global_batch, world_size);
  std::sort(records_.begin(), records_.end());
  ECG_CHECK(std::adjacent_find(records_.begin(), records_.end()) == records_.end(),
            "sampler: duplicate record index in the eligible set");
  ECG_CHECK(records_.empty() || records_.front() >= 0, "sampler: negative record index {}",
            records_.front());
  ECG_CHECK(static_cast<int64_t>(records_.size()) >= global_batch,
            "--batch-size {} exceeds the {} eligible training records (no full batch per epoch)",
            global_batch, records_.size());
  set_epoch(0);
}

void EpochSampler::set_epoch(int64_t epoch) {
  ECG_CHECK(epoch >= 0, "sampler: negative epoch {}", epoch);
  if (epoch == epoch_) return;
  permutation_ = records_;
  shuffle_in_place(permutation_, seed_, epoch);
  epoch_ = epoch;
}

SampleItem EpochSampler::item_at(int64_t position) const {
  SampleItem item;
  item.record = permutation_[static_cast<size_t>(position)];
  item.position = position;
  item.seed = sample_seed(seed_, epoch_, item.record);
  return item;
}

void EpochSampler::check_step(int64_t step) const {
  ECG_CHECK(step >= 0 && step < steps_per_epoch(), "sampler: step {} outside epoch of {} steps",
            step, steps_per_epoch());
}

std::vector<SampleItem> EpochSampler::batch(int64_t step) const {
  check_step(step);
  std::vector<SampleItem> out;
  out.reserve(static_cast<size_t>(local_batch()));
  const int64_t base = step * global_batch_;
  for (int64_t slot = rank_; slot < global_batch_; slot += world_size_) {
    out.push_back(item_at(base + slot));
  }
  return out;
}

std::vector<SampleItem> EpochSampler::global_batch_items(int64_t step) const {
  check_step(step);
  std::vector<SampleItem> out;
  out.reserve(static_cast<size_t>(global_batch_));
  for (int64_t slot = 0; slot < global_batch_; ++slot)
    out.push_back(item_at(step * global_batch_ + slot));
  return out;
}

std::vector<std::vector<SampleItem>> EpochSampler::batches_from(int64_t first) const {
  ECG_CHECK(first >= 0 && first <= steps_per_epoch(),
            "sampler: resume step {} outside epoch of {} steps", first, steps_per_epoch());
  std::vector<std::vector<SampleItem>> out;
  for (int64_t s = first; s < steps_per_epoch(); ++s) out.push_back(batch(s));
  return out;
}

std::vector<int64_t> eval_partition_counts(int64_t num_records, int world_size) {
  ECG_CHECK(world_size >= 1, "invalid world size {}", world_size);
  ECG_CHECK(num_records >= 0, "invalid record count {}", num_records);
  std::vector<int64_t> counts(static_cast<size_t>(world_size));
  const int64_t base = num_records / world_size;
  const int64_t extra = num_records % world_size;  // the first `extra` ranks get one more
  for (int r = 0; r < world_size; ++r) counts[static_cast<size_t>(r)] = base + (r < extra ? 1 : 0);
  return counts;
}

EvalShard eval_partition(const std::vector<int64_t>& records, int world_size, int rank) {
  ECG_CHECK(world_size >= 1 && rank >= 0 && rank < world_size, "invalid rank {} of world size {}",
            rank, world_size);
  auto counts = eval_partition_counts(static_cast<int64_t>(records.size()), world_size);
  EvalShard shard;
  for (int r = 0; r < rank; ++r) shard.offset += counts[static_cast<size_t>(r)];
  auto begin = records.begin() + shard.offset;
  shard.records.assign(begin, begin + counts[static_cast<size_t>(rank)]);
  return shard;
}

std::vector<std::vector<SampleItem>> eval_batches(const std::vector<int64_t>& records,
                                                  int64_t batch_size, uint64_t seed, int64_t epoch,
                                                  int64_t first_position) {
  ECG_CHECK(batch_size >= 1, "evaluation batch size must be at least 1 (got {})", batch_size);
  std::vector<std::vector<SampleItem>> out;
  for (size_t i = 0; i < records.size(); i += static_cast<size_t>(batch_size)) {
    std::vector<SampleItem> batch;
    size_t end = std::min(records.size(), i + static_cast<size_t>(batch_size));
    for (size_t k = i; k < end; ++k) {
      batch.push_back({records[k], first_position + static_cast<int64_t>(k),
                       sample_seed(seed, epoch, records[k])});
    }
    out.push_back(std::move(batch));
  }
  return out;
}

}  // namespace ecg::sharding
