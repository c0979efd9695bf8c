// Two real ranks reading one HDF5 file: both open it read-only at the same time (HDF5 file
// locking must allow that), each prefetches its interleaved share, and the shares gathered in
// rank order rebuild the single-process global batch; the eval partition gathers to the split.
#include <gtest/gtest.h>
#include <mpi.h>

#include <memory>

#include "sharding/epoch_sampler.h"
#include "sharding/prefetcher.h"
#include "tests/sharding/sharding_fixture.h"
#include "tests/test_util.h"

namespace ecg::sharding {
namespace {

// Rank 0 writes the fixture; every rank gets its path.
struct SharedFixture {
  std::unique_ptr<ecg::testing::TempDir> dir;
  std::string path;
  SharedFixture() {
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    char buf[4096] = {0};
    if (rank == 0) {
      dir = std::make_unique<ecg::testing::TempDir>();
      path = *dir / "shared.h5";
      ecg::testing::write_fixture_file(path);
      path.copy(buf, sizeof(buf) - 1);
    }
    MPI_Bcast(buf, sizeof(buf), MPI_CHAR, 0, MPI_COMM_WORLD);
    path = buf;
  }
  ~SharedFixture() { MPI_Barrier(MPI_COMM_WORLD); }  // nobody reads once rank 0 deletes it
};

TEST(ShardingMpi, RankSharesRebuildTheGlobalBatch) {
  int rank = 0, world = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &world);
  SharedFixture fixture;
  std::vector<int64_t> eligible;
  for (int64_t i = 0; i < 40; ++i)
    if (i % 7 != 3) eligible.push_back(i);
  const int64_t B = 4 * world;
  EpochSampler mine(eligible, 13, B, world, rank);
  EpochSampler single(eligible, 13, B, 1, 0);
  mine.set_epoch(2);
  single.set_epoch(2);
  ASSERT_EQ(mine.steps_per_epoch(), single.steps_per_epoch());

  PrefetchConfig cfg;
  cfg.crop_samples = 48;
  cfg.leads = {0, 7};
  Prefetcher prefetcher(fixture.path, mine.batches_from(0), ecg::data::LabelMatrix{}, cfg);
  for (int64_t s = 0; s < mine.steps_per_epoch(); ++s) {
    Batch b = prefetcher.next(s);
    std::vector<int64_t> local;
    for (size_t k = 0; k < b.items.size(); ++k) {
      local.push_back(b.items[k].record);
      const int64_t off = random_crop_offset(b.items[k].seed, 64, 48);
      for (int64_t t = 0; t < 48; ++t) {
        ASSERT_EQ(b.signals[(k * 2 + 1) * 48 + static_cast<size_t>(t)],
                  ecg::testing::fixture_value(b.items[k].record, 7, off + t));
      }
    }
    std::vector<int64_t> gathered(static_cast<size_t>(B));
    MPI_Allgather(local.data(), static_cast<int>(local.size()), MPI_INT64_T, gathered.data(),
                  static_cast<int>(local.size()), MPI_INT64_T, MPI_COMM_WORLD);
    // gathered is rank-major; slot j of the global batch is rank j % W, position j / W.
    auto expect = single.batch(s);
    const size_t per_rank = local.size();
    for (size_t j = 0; j < expect.size(); ++j) {
      EXPECT_EQ(
          gathered[(j % static_cast<size_t>(world)) * per_rank + j / static_cast<size_t>(world)],
          expect[j].record)
          << "step " << s << " slot " << j;
    }
  }
}

TEST(ShardingMpi, EvalPartitionGathersToTheSplit) {
  int rank = 0, world = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &world);
  std::vector<int64_t> split;
  for (int64_t i = 0; i < 37; ++i) split.push_back(i * 2 + 1);
  auto shard = eval_partition(split, world, rank);
  auto counts64 = eval_partition_counts(static_cast<int64_t>(split.size()), world);
  std::vector<int> counts, displs;
  int at = 0;
  for (int64_t c : counts64) {
    counts.push_back(static_cast<int>(c));
    displs.push_back(at);
    at += static_cast<int>(c);
  }
  std::vector<int64_t> gathered(split.size());
  MPI_Gatherv(shard.records.data(), static_cast<int>(shard.records.size()), MPI_INT64_T,
              gathered.data(), counts.data(), displs.data(), MPI_INT64_T, 0, MPI_COMM_WORLD);
  if (rank == 0) {
    EXPECT_EQ(gathered, split);
  }
}

}  // namespace
}  // namespace ecg::sharding
