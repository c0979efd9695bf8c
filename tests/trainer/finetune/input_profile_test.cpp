// The input profile (trainer/finetune/profile_defaults.h): its JSON/CLI spelling, ST-MEM's schedule defaults
// (explicit flags win; lr follows the resolved global batch), the data refusal naming file and
// manifest fields, and the schedule those defaults give (3 of 10 epochs warmup, cosine to 0).
#include "trainer/finetune/profile_defaults.h"

#include <gtest/gtest.h>

#include <set>

#include "common/error.h"
#include "trainer/engine/schedule.h"
#include "trainer/finetune/train_options.h"

namespace ecg::finetune {
namespace {

TEST(InputProfile, SpelledDefaultAndStMemInJsonAndCli) {
  EXPECT_EQ(nlohmann::json(InputProfile::standard), "default");
  EXPECT_EQ(nlohmann::json(InputProfile::st_mem), "st-mem");
  EXPECT_EQ(profiles_by_name().at("st-mem"), InputProfile::st_mem);
  EXPECT_EQ(profile_from_options(nlohmann::json::object(), "c.ckpt"), InputProfile::standard);
  EXPECT_EQ(profile_from_options({{"profile", "st-mem"}}, "c.ckpt"), InputProfile::st_mem);
  EXPECT_THROW(profile_from_options({{"profile", "stmem"}}, "c.ckpt"), ecg::Error);
  TrainOptions o;
  EXPECT_EQ(nlohmann::json(o).at("profile"), "default");
}

TEST(InputProfile, StMemDefaultsFillOnlyTheFlagsNotGiven) {
  TrainOptions o;
  o.profile = InputProfile::st_mem;
  o.batch_size = 64;  // given
  o.epochs = 3;       // given
  const std::set<std::string> given = {"--batch-size", "--epochs"};
  auto set = apply_profile_defaults(o, [&](const std::string& f) { return given.count(f) > 0; });
  EXPECT_EQ(o.batch_size, 64);
  EXPECT_EQ(o.epochs, 3);
  EXPECT_DOUBLE_EQ(o.warmup_fraction, 0.3);
  EXPECT_DOUBLE_EQ(o.min_lr, 0.0);
  EXPECT_DOUBLE_EQ(o.weight_decay, 0.05);
  EXPECT_DOUBLE_EQ(o.lr, 1e-3 * 64 / 256);  // blr x resolved global batch / 256
  EXPECT_EQ(set, (std::vector<std::string>{"warmup_fraction=0.3", "min_lr=0", "weight_decay=0.05", "lr=0.00025"}));

  TrainOptions d;
  d.profile = InputProfile::st_mem;
  apply_profile_defaults(d, [](const std::string&) { return false; });
  EXPECT_EQ(d.batch_size, 16);
  EXPECT_EQ(d.epochs, 10);
  EXPECT_DOUBLE_EQ(d.lr, 1e-3 * 16 / 256);

  TrainOptions plain;  // the default profile changes nothing
  const nlohmann::json before = plain;
  EXPECT_TRUE(apply_profile_defaults(plain, [](const std::string&) { return false; }).empty());
  EXPECT_EQ(nlohmann::json(plain), before);
}

TEST(InputProfile, DefaultsGiveStMemsThreeWarmupEpochsAndCosineToZero) {
  TrainOptions d;
  d.profile = InputProfile::st_mem;
  apply_profile_defaults(d, [](const std::string&) { return false; });
  const int64_t steps_per_epoch = 100;
  auto s = engine::warmup_cosine(d.lr, d.min_lr, steps_per_epoch * d.epochs, d.warmup_fraction);
  EXPECT_EQ(s.warmup_steps, 3 * steps_per_epoch);
  EXPECT_DOUBLE_EQ(s.lr(150), d.lr * 0.5);               // epoch 1.5 of 3 warmup epochs
  EXPECT_DOUBLE_EQ(s.lr(3 * steps_per_epoch), d.lr);     // peak at the end of warmup
  EXPECT_NEAR(s.lr(10 * steps_per_epoch - 1), 0.0, d.lr * 1e-4);  // ~0 at the end of epoch 10
}

TEST(InputProfile, RefusesAWronglyPreprocessedFileNamingFileAndFields) {
  data::Manifest m;  // preprocess's defaults: band-passed, z-scored
  try {
    check_profile_data(InputProfile::st_mem, m, "F.h5");
    FAIL() << "accepted a filtered file";
  } catch (const ecg::Error& e) {
    const std::string what = e.message();
    EXPECT_EQ(what.rfind("F.h5: --profile st-mem needs", 0), 0u) << what;
    EXPECT_NE(what.find("manifest says filter: true, normalization: record"), std::string::npos) << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
  }
  m.filter = false;
  m.normalization = "none";
  EXPECT_NO_THROW(check_profile_data(InputProfile::st_mem, m, "F.h5"));
  m.target_rate = 500;
  EXPECT_THROW(check_profile_data(InputProfile::st_mem, m, "F.h5"), ecg::Error);
  data::Manifest filtered;
  EXPECT_NO_THROW(check_profile_data(InputProfile::standard, filtered, "F.h5"));
}

TEST(InputProfile, StMemRefusesAnotherCropLength) {
  TrainOptions o;
  o.data = "x.h5";
  o.out = "run";
  o.profile = InputProfile::st_mem;
  resolve_defaults(o);
  EXPECT_NO_THROW(validate(o));
  o.crop_length = 750;
  EXPECT_THROW(validate(o), ecg::Error);
}

}  // namespace
}  // namespace ecg::finetune
