#include "sharding/epoch_sampler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <set>

#include "common/error.h"

namespace ecg::sharding {
namespace {

std::vector<int64_t> iota_records(int64_t n, int64_t stride = 1) {
  std::vector<int64_t> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = i * stride;
  return v;
}

std::vector<int64_t> records_of(const std::vector<SampleItem>& items) {
  std::vector<int64_t> out;
  for (const auto& it : items) out.push_back(it.record);
  return out;
}

TEST(EpochSampler, PermutationIsDeterministicAndDiffersAcrossEpochsAndSeeds) {
  EpochSampler a(iota_records(101), 42, 10, 1, 0);
  EpochSampler b(iota_records(101), 42, 10, 1, 0);
  EXPECT_EQ(a.permutation(), b.permutation());
  auto sorted = a.permutation();
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, iota_records(101));  // a permutation of the eligible set
  EXPECT_NE(a.permutation(), iota_records(101));

  auto epoch0 = a.permutation();
  a.set_epoch(1);
  EXPECT_NE(a.permutation(), epoch0);
  a.set_epoch(0);
  EXPECT_EQ(a.permutation(), epoch0);
  EpochSampler c(iota_records(101), 43, 10, 1, 0);
  EXPECT_NE(c.permutation(), epoch0);

  // Input order does not matter (the eligible set is sorted first).
  auto reversed = iota_records(101);
  std::reverse(reversed.begin(), reversed.end());
  EXPECT_EQ(EpochSampler(reversed, 42, 10, 1, 0).permutation(), epoch0);
}

TEST(EpochSampler, PermutationIsPinned) {
  // Pins the algorithm (splitmix64 + mt19937_64 + rejection Fisher-Yates) so that a change in
  // it -- which would silently break resume of existing runs -- fails here.
  std::vector<int64_t> v = iota_records(10);
  shuffle_in_place(v, 1, 0);
  EXPECT_EQ(v, (std::vector<int64_t>{5, 0, 8, 7, 3, 1, 9, 6, 4, 2}));
  EXPECT_EQ(sample_seed(1, 2, 3), 0x1959856AAE874D77ULL);
  EXPECT_EQ(splitmix64(0), 0xE220A8397B1DCDAFULL);  // reference value of splitmix64(seed=0)
}

TEST(EpochSampler, InterleavedSplitIsIndependentOfWorldSize) {
  const auto records = iota_records(250, 3);
  for (int64_t epoch : {0, 1, 5}) {
    EpochSampler one(records, 7, 12, 1, 0);
    one.set_epoch(epoch);
    for (int world : {2, 3, 4, 6}) {
      std::vector<EpochSampler> ranks;
      for (int r = 0; r < world; ++r) {
        ranks.emplace_back(records, 7, 12, world, r);
        ranks.back().set_epoch(epoch);
      }
      ASSERT_EQ(ranks[0].steps_per_epoch(), one.steps_per_epoch());
      for (int64_t s = 0; s < one.steps_per_epoch(); ++s) {
        auto full = one.batch(s);
        std::vector<SampleItem> merged(full.size());
        for (int r = 0; r < world; ++r) {
          auto part = ranks[static_cast<size_t>(r)].batch(s);
          ASSERT_EQ(static_cast<int64_t>(part.size()), 12 / world);  // equal share per rank
          for (size_t k = 0; k < part.size(); ++k) {
            merged[static_cast<size_t>(r) + k * static_cast<size_t>(world)] = part[k];
          }
        }
        for (size_t k = 0; k < full.size(); ++k) {
          EXPECT_EQ(merged[k].record, full[k].record);
          EXPECT_EQ(merged[k].position, full[k].position);
          EXPECT_EQ(merged[k].seed, full[k].seed);  // per-sample seed independent of W
        }
      }
    }
  }
}

TEST(EpochSampler, EachRecordAtMostOncePerEpochAndDropLast) {
  const auto records = iota_records(103);
  const int world = 2;
  std::multiset<int64_t> seen;
  int64_t steps = -1;
  for (int r = 0; r < world; ++r) {
    EpochSampler s(records, 3, 10, world, r);
    s.set_epoch(2);
    steps = s.steps_per_epoch();
    EXPECT_EQ(s.dropped_per_epoch(), 3);
    for (int64_t k = 0; k < s.steps_per_epoch(); ++k) {
      for (const auto& it : s.batch(k)) {
        seen.insert(it.record);
        EXPECT_EQ(it.position / 10, k);
        EXPECT_EQ(it.seed, sample_seed(3, 2, it.record));
      }
    }
  }
  EXPECT_EQ(steps, 10);
  EXPECT_EQ(seen.size(), 100u);  // 3 records dropped by drop-last
  EXPECT_EQ(std::set<int64_t>(seen.begin(), seen.end()).size(), seen.size());
  // The dropped records are the permutation's tail.
  EpochSampler s(records, 3, 10, 1, 0);
  s.set_epoch(2);
  for (size_t k = 100; k < 103; ++k) EXPECT_EQ(seen.count(s.permutation()[k]), 0u);
  EXPECT_THROW(s.batch(10), ecg::Error);
}

TEST(EpochSampler, ResumeFromStepGivesTheSameTail) {
  const auto records = iota_records(64);
  EpochSampler full(records, 11, 8, 2, 1);
  full.set_epoch(3);
  auto all = full.batches_from(0);
  EpochSampler resumed(records, 11, 8, 2, 1);  // a new process after a restart
  resumed.set_epoch(3);
  auto tail = resumed.batches_from(5);
  ASSERT_EQ(tail.size(), all.size() - 5);
  for (size_t k = 0; k < tail.size(); ++k) EXPECT_EQ(records_of(tail[k]), records_of(all[k + 5]));
  EXPECT_TRUE(resumed.batches_from(full.steps_per_epoch()).empty());
  EXPECT_THROW(resumed.batches_from(full.steps_per_epoch() + 1), ecg::Error);
}

TEST(EpochSampler, BatchSizeErrorsNameTheFlag) {
  try {
    EpochSampler s(iota_records(100), 1, 10, 3, 0);
    FAIL() << "expected an error";
  } catch (const ecg::Error& e) {
    EXPECT_NE(e.message().find("--batch-size 10"), std::string::npos) << e.message();
    EXPECT_NE(e.message().find("world size 3"), std::string::npos) << e.message();
  }
  EXPECT_THROW(EpochSampler(iota_records(5), 1, 8, 1, 0), ecg::Error);    // no full batch
  EXPECT_THROW(EpochSampler(iota_records(50), 1, 0, 1, 0), ecg::Error);   // B < 1
  EXPECT_THROW(EpochSampler({1, 2, 2, 3}, 1, 2, 1, 0), ecg::Error);       // duplicates
  EXPECT_THROW(EpochSampler(iota_records(50), 1, 10, 2, 2), ecg::Error);  // rank out of range
}

TEST(EvalPartition, EveryRecordExactlyOnceAcrossRanks) {
  for (int64_t n : {0, 1, 2, 7, 100, 101}) {
    auto records = iota_records(n, 5);
    for (int world : {1, 2, 3}) {
      auto counts = eval_partition_counts(n, world);
      std::vector<int64_t> gathered;  // what a rank-ordered gather produces
      for (int r = 0; r < world; ++r) {
        auto shard = eval_partition(records, world, r);
        EXPECT_EQ(shard.offset, static_cast<int64_t>(gathered.size()));
        EXPECT_EQ(static_cast<int64_t>(shard.records.size()), counts[static_cast<size_t>(r)]);
        gathered.insert(gathered.end(), shard.records.begin(), shard.records.end());
      }
      EXPECT_EQ(gathered, records) << "n=" << n << " world=" << world;
      auto [lo, hi] = std::minmax_element(counts.begin(), counts.end());
      EXPECT_LE(*hi - *lo, 1);
    }
  }
}

TEST(EvalPartition, BatchesKeepEverythingInOrder) {
  auto records = iota_records(23, 2);
  auto batches = eval_batches(records, 5, 9, 0, 100);
  ASSERT_EQ(batches.size(), 5u);
  EXPECT_EQ(batches.back().size(), 3u);  // last batch short, nothing dropped or padded
  std::vector<int64_t> flat;
  for (const auto& b : batches)
    for (const auto& it : b) {
      EXPECT_EQ(it.position, 100 + static_cast<int64_t>(flat.size()));
      EXPECT_EQ(it.seed, sample_seed(9, 0, it.record));
      flat.push_back(it.record);
    }
  EXPECT_EQ(flat, records);
  EXPECT_TRUE(eval_batches({}, 4).empty());
}

}  // namespace
}  // namespace ecg::sharding
