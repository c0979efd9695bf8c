// Nested, label-stratified training subsets for the data-efficiency study (--train-fraction F).
//
// One fixed, seeded ordering of all candidate records is built once; the subset for fraction F is
// its first ceil(F * n) records. Every smaller fraction is therefore a prefix of every larger one
// (the 10 % subset lies inside the 20 % subset ...), for a given seed.
//
// The ordering stratifies by each record's RAREST positive label (its frequency counted over the
// candidates; records without a positive label form their own stratum): every stratum is shuffled
// with the seed, and the strata are interleaved proportionally -- the j-th record of a stratum of
// size m sits at key (j + 0.5) / m, and the ordering sorts by that key. Any prefix of length k then
// holds round(k * m / n) +- 1 records of each stratum, so rare labels are represented at every
// fraction (the rarest label of a record is the one random sampling would most likely lose).
// Common labels co-occur with the strata and follow their proportions closely but not exactly.
#pragma once

#include <cstdint>
#include <vector>

namespace ecg::sharding {

// A read-only view of a row-major uint8 label matrix [rows, classes] (e.g. /labels/<task>).
struct LabelView {
  const uint8_t* data = nullptr;
  int64_t rows = 0;
  int64_t classes = 0;
  bool positive(int64_t row, int64_t c) const { return data[row * classes + c] != 0; }
};

// The nested ordering of `candidates` described above (a permutation of `candidates`).
std::vector<int64_t> stratified_order(const LabelView& labels,
                                      const std::vector<int64_t>& candidates, uint64_t seed);

// The first ceil(fraction * n) records of stratified_order, returned SORTED by record index (the
// order the reader and the sampler want). fraction must be in (0, 1]; 1 returns all candidates.
// The error names --train-fraction.
std::vector<int64_t> select_train_fraction(const LabelView& labels,
                                           const std::vector<int64_t>& candidates, double fraction,
                                           uint64_t seed);

}  // namespace ecg::sharding
