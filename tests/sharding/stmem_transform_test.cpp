#include "sharding/stmem_transform.h"

#include <gtest/gtest.h>

#include <cstring>

#include "common/error.h"
#include "sharding/epoch_sampler.h"
#include "tests/sharding/sharding_fixture.h"
#include "tests/test_util.h"

namespace ecg::sharding {
namespace {

using ecg::testing::FixtureOptions;
using ecg::testing::TempDir;
using ecg::testing::write_fixture_file;

// The prefetcher with the st-mem transform (2 workers) gives, for every sample, exactly
// prepare_train_crop of that record (after lead selection) with the item's seed, and that seed is
// sample_seed(seed, epoch, record): the training crops are a pure function of (seed, epoch, record).
void expect_prefetched_equals_direct(const std::vector<int>& leads) {
  TempDir dir;
  const std::string path = dir / "raw.h5";
  FixtureOptions fixture;
  fixture.records = 6;
  fixture.samples = 2500;
  write_fixture_file(path, fixture);
  const int L = leads.empty() ? 12 : static_cast<int>(leads.size());
  data::StMemInputSpec spec;
  spec.leads = L;
  auto input = std::make_shared<const data::StMemInput>(spec);

  EpochSampler sampler({0, 1, 2, 3, 4, 5}, /*seed=*/11, /*global_batch=*/3, /*world=*/1, /*rank=*/0);
  sampler.set_epoch(2);
  PrefetchConfig config;
  config.leads = leads;
  config.crop_samples = spec.crop_samples;
  config.worker_threads = 2;
  config.transform = stmem_train_transform(input);
  Prefetcher prefetcher(path, sampler.batches_from(0), data::LabelMatrix{}, config);

  Hdf5RecordReader reader(path);
  std::vector<float> record(static_cast<size_t>(reader.record_size()));
  std::vector<float> selected(static_cast<size_t>(L * fixture.samples));
  int checked = 0;
  while (!prefetcher.done()) {
    Batch b = prefetcher.next();
    ASSERT_EQ(b.samples, spec.crop_samples);
    ASSERT_EQ(b.leads, L);
    for (int64_t k = 0; k < b.size; ++k) {
      const SampleItem& item = b.items[static_cast<size_t>(k)];
      EXPECT_EQ(item.seed, sample_seed(11, 2, item.record));
      reader.read_signals({item.record}, record.data());
      for (int l = 0; l < L; ++l) {
        const int row = leads.empty() ? l : leads[static_cast<size_t>(l)];
        std::memcpy(selected.data() + l * fixture.samples, record.data() + row * fixture.samples,
                    static_cast<size_t>(fixture.samples) * sizeof(float));
      }
      auto direct = input->prepare_train_crop(selected.data(), fixture.samples, item.seed);
      ASSERT_EQ(0, std::memcmp(direct.data(), b.signals.data() + k * L * spec.crop_samples,
                               direct.size() * sizeof(float)))
          << "record " << item.record;
      ++checked;
    }
  }
  EXPECT_EQ(checked, 6);
}

TEST(StMemTrainTransform, PrefetchedCropEqualsPrepareTrainCropForTheSameSeed) {
  expect_prefetched_equals_direct({});
}

TEST(StMemTrainTransform, LeadSubsetIsStandardisedOverThoseLeads) {
  expect_prefetched_equals_direct({0, 1, 6});
}

TEST(StMemTrainTransform, RefusesAnotherShape) {
  auto transform = stmem_train_transform(std::make_shared<const data::StMemInput>());
  std::vector<float> in(12 * 2500, 0.f), out(12 * 750);
  SampleItem item;
  EXPECT_THROW(transform(item, in.data(), 12, 2500, out.data(), 750), ecg::Error);
}

}  // namespace
}  // namespace ecg::sharding
