#include "sharding/prefetcher.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>

#include "common/error.h"
#include "tests/sharding/sharding_fixture.h"
#include "tests/test_util.h"

namespace ecg::sharding {
namespace {

using ecg::testing::FixtureOptions;
using ecg::testing::TempDir;
using ecg::testing::write_fixture_file;

// The synchronous reference: one record at a time, lead selection, random crop by seed.
std::vector<float> reference_batch(Hdf5RecordReader& reader, const std::vector<SampleItem>& items,
                                   const std::vector<int>& leads, int64_t crop) {
  const int64_t T = reader.num_samples();
  std::vector<float> record(static_cast<size_t>(reader.record_size()));
  std::vector<float> out;
  for (const auto& it : items) {
    reader.read_signals({it.record}, record.data());
    const int64_t off = random_crop_offset(it.seed, T, crop);
    for (int l : leads)
      for (int64_t t = 0; t < crop; ++t)
        out.push_back(record[static_cast<size_t>(l * T + off + t)]);
  }
  return out;
}

TEST(Prefetcher, BatchesEqualSynchronousReadAndCrop) {
  TempDir dir;
  const std::string path = dir / "p.h5";
  write_fixture_file(path);
  Hdf5RecordReader reader(path);
  const auto labels = ecg::data::read_labels(path, "diagnostic");
  std::vector<int64_t> eligible;
  for (int64_t i = 0; i < 40; ++i)
    if (i % 5 != 0) eligible.push_back(i);
  EpochSampler sampler(eligible, 5, 8, 2, 1);
  sampler.set_epoch(1);
  PrefetchConfig cfg;
  cfg.leads = lead_indices_from_names({"II", "v1", "V6"});
  ASSERT_EQ(cfg.leads, (std::vector<int>{1, 6, 11}));
  cfg.crop_samples = 50;
  cfg.depth = 2;
  cfg.worker_threads = 2;
  Prefetcher prefetcher(path, sampler.batches_from(0), labels, cfg);
  ASSERT_EQ(prefetcher.num_batches(), sampler.steps_per_epoch());

  double waited = 0.0;
  for (int64_t s = 0; s < sampler.steps_per_epoch(); ++s) {
    Batch b = prefetcher.next(s);
    auto items = sampler.batch(s);
    EXPECT_EQ(b.step, s);
    ASSERT_EQ(b.size, 4);
    EXPECT_EQ(b.leads, 3);
    EXPECT_EQ(b.samples, 50);
    for (size_t k = 0; k < items.size(); ++k) {
      EXPECT_EQ(b.items[k].record, items[k].record);
      EXPECT_EQ(b.items[k].seed, items[k].seed);
      for (int64_t c = 0; c < labels.num_classes(); ++c)
        EXPECT_EQ(b.labels[k * static_cast<size_t>(labels.num_classes()) + static_cast<size_t>(c)],
                  labels.values[static_cast<size_t>(items[k].record * labels.num_classes() + c)]);
    }
    EXPECT_EQ(b.signals, reference_batch(reader, items, cfg.leads, 50)) << "step " << s;
    EXPECT_GE(b.wait_seconds, 0.0);
    waited += b.wait_seconds;
    if (s % 2 == 0) prefetcher.recycle(std::move(b));  // reused buffers must hold fresh data
  }
  EXPECT_TRUE(prefetcher.done());
  EXPECT_DOUBLE_EQ(prefetcher.total_wait_seconds(), waited);
  EXPECT_THROW(prefetcher.next(), ecg::Error);
}

TEST(Prefetcher, EvalBatchesWithAllLeadsAndNoCrop) {
  TempDir dir;
  const std::string path = dir / "e.h5";
  write_fixture_file(path);
  Hdf5RecordReader reader(path);
  auto shard = eval_partition({3, 4, 5, 9, 30, 31, 33}, 2, 0);  // records 3, 4, 5, 9
  PrefetchConfig cfg;
  cfg.transform = center_crop_transform();
  Prefetcher prefetcher(path, eval_batches(shard.records, 3), ecg::data::LabelMatrix{}, cfg);
  Batch first = prefetcher.next();
  Batch second = prefetcher.next();
  EXPECT_EQ(first.size, 3);
  EXPECT_EQ(second.size, 1);  // short last batch, no padding
  EXPECT_EQ(first.leads, 12);
  EXPECT_EQ(first.samples, 64);
  EXPECT_EQ(first.num_classes, 0);
  std::vector<float> expect(static_cast<size_t>(reader.record_size()));
  reader.read_signals({9}, expect.data());
  EXPECT_EQ(second.signals, expect);
}

TEST(Prefetcher, TransformErrorPropagatesToNextWithTheFile) {
  TempDir dir;
  const std::string path = dir / "err.h5";
  write_fixture_file(path);
  std::vector<std::vector<SampleItem>> plan = {
      {{1, 0, 0}, {2, 1, 0}}, {{3, 2, 0}, {17, 3, 0}}, {{4, 4, 0}}};
  PrefetchConfig cfg;
  cfg.transform = [](const SampleItem& item, const float* in, int leads, int64_t in_samples,
                     float* out, int64_t out_samples) {
    if (item.record == 17) throw std::runtime_error("bad sample 17");
    std::memcpy(out, in, static_cast<size_t>(leads * out_samples) * sizeof(float));
    (void)in_samples;
  };
  Prefetcher prefetcher(path, plan, ecg::data::LabelMatrix{}, cfg);
  EXPECT_NO_THROW(prefetcher.next());
  try {
    prefetcher.next();
    FAIL() << "expected the transform's error";
  } catch (const ecg::Error& e) {
    EXPECT_NE(e.message().find("bad sample 17"), std::string::npos) << e.message();
    EXPECT_NE(e.message().find(path), std::string::npos) << e.message();
    EXPECT_NE(e.message().find("batch 1"), std::string::npos) << e.message();
  }
  EXPECT_NO_THROW(prefetcher.next());  // later batches are unaffected
}

TEST(Prefetcher, ReadErrorNamesTheFile) {
  TempDir dir;
  const std::string path = dir / "nosig.h5";
  FixtureOptions o;
  o.signals = false;
  write_fixture_file(path, o);
  Prefetcher prefetcher(path, {{{1, 0, 0}}}, ecg::data::LabelMatrix{}, PrefetchConfig{});
  try {
    prefetcher.next();
    FAIL() << "expected an error";
  } catch (const ecg::Error& e) {
    EXPECT_NE(e.message().find(path), std::string::npos) << e.message();
    EXPECT_NE(e.message().find("/signals"), std::string::npos) << e.message();
  }
}

TEST(Prefetcher, StepMismatchIsAnError) {
  TempDir dir;
  write_fixture_file(dir / "m.h5");
  Prefetcher prefetcher(dir / "m.h5", {{{1, 0, 0}}, {{2, 1, 0}}}, ecg::data::LabelMatrix{}, PrefetchConfig{});
  EXPECT_THROW(prefetcher.next(1), ecg::Error);
  EXPECT_NO_THROW(prefetcher.next(0));
}

TEST(Prefetcher, DestroyedMidEpochShutsDownCleanly) {
  TempDir dir;
  const std::string path = dir / "s.h5";
  write_fixture_file(path);
  EpochSampler sampler(
      [] {
        std::vector<int64_t> v(40);
        for (int64_t i = 0; i < 40; ++i) v[static_cast<size_t>(i)] = i;
        return v;
      }(),
      1, 4, 1, 0);
  std::atomic<int> calls{0};
  PrefetchConfig cfg;
  cfg.depth = 4;
  cfg.crop_samples = 32;
  auto crop = random_crop_transform();
  cfg.transform = [&](const SampleItem& item, const float* in, int leads, int64_t in_samples,
                      float* out, int64_t out_samples) {
    calls.fetch_add(1);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));  // keep work in flight
    crop(item, in, leads, in_samples, out, out_samples);
  };
  for (int consumed : {0, 1, 3}) {
    calls = 0;
    {
      Prefetcher prefetcher(path, sampler.batches_from(0), ecg::data::LabelMatrix{}, cfg);
      for (int k = 0; k < consumed; ++k) prefetcher.next();
    }  // destructor joins here; the test would hang (CTest timeout) if it did not
    // Never more than consumed + depth batches were touched: the pipeline is bounded.
    EXPECT_LE(calls.load(), (consumed + cfg.depth) * 4);
  }
}

TEST(Prefetcher, LeadNamesAreValidated) {
  EXPECT_EQ(lead_indices_from_names({"I", "aVR", "AVL", "avf"}), (std::vector<int>{0, 3, 4, 5}));
  EXPECT_THROW(lead_indices_from_names({"V7"}), ecg::Error);
  EXPECT_THROW(lead_indices_from_names({"I", "i"}), ecg::Error);
}

TEST(Prefetcher, RandomCropOffsetCoversTheRangeDeterministically) {
  std::vector<int> hits(11, 0);
  for (uint64_t seed = 0; seed < 2000; ++seed) {
    int64_t off = random_crop_offset(sample_seed(1, 0, static_cast<int64_t>(seed)), 60, 50);
    ASSERT_GE(off, 0);
    ASSERT_LE(off, 10);
    ++hits[static_cast<size_t>(off)];
    EXPECT_EQ(off, random_crop_offset(sample_seed(1, 0, static_cast<int64_t>(seed)), 60, 50));
  }
  for (int h : hits) EXPECT_GT(h, 100);  // every offset reachable, roughly uniform
  EXPECT_EQ(random_crop_offset(123, 50, 50), 0);
}

}  // namespace
}  // namespace ecg::sharding
