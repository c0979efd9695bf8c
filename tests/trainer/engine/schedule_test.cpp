// Warmup + cosine lr at the steps that define it, and layer-wise lr decay, against the MAE /
// ST-MEM fine-tuning formulas (util/lr_sched.py, util/lr_decay.py) evaluated by Python.
#include "trainer/engine/schedule.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>
#include <vector>

#include "common/error.h"
#include "tests/test_util.h"

namespace ecg::engine {
namespace {

TEST(Schedule, WarmupThenCosineAtKeySteps) {
  WarmupCosineSchedule s{/*base_lr=*/1e-3, /*min_lr=*/1e-5, /*warmup_steps=*/10,
                         /*total_steps=*/110};
  EXPECT_DOUBLE_EQ(s.lr(0), 0.0);  // linear warmup from 0, as MAE
  EXPECT_DOUBLE_EQ(s.lr(5), 0.5e-3);
  EXPECT_DOUBLE_EQ(s.lr(9), 0.9e-3);
  EXPECT_DOUBLE_EQ(s.lr(10), 1e-3);                 // end of warmup: the peak
  EXPECT_NEAR(s.lr(60), (1e-3 + 1e-5) / 2, 1e-15);  // half-way through the cosine
  EXPECT_NEAR(s.lr(109), 1e-5 + (1e-3 - 1e-5) * 0.5 * (1 + std::cos(std::acos(-1.0) * 99 / 100)),
              1e-15);
  EXPECT_DOUBLE_EQ(s.lr(110), 1e-5);  // the floor from total_steps on
  EXPECT_DOUBLE_EQ(s.lr(5000), 1e-5);
  for (int step = 11; step <= 110; ++step) EXPECT_LT(s.lr(step), s.lr(step - 1)) << step;
}

TEST(Schedule, NoWarmupStartsAtBaseLr) {
  WarmupCosineSchedule s{2e-4, 0.0, 0, 100};
  EXPECT_DOUBLE_EQ(s.lr(0), 2e-4);
  EXPECT_NEAR(s.lr(50), 1e-4, 1e-18);
  EXPECT_DOUBLE_EQ(s.lr(100), 0.0);
}

TEST(Schedule, MatchesMaeFormulaAtFractionalEpochs) {
  // MAE's adjust_learning_rate(epoch = step / steps_per_epoch) with warmup_epochs = 2, epochs = 7.
  const int steps_per_epoch = 13;
  WarmupCosineSchedule s{5e-4, 1e-6, 2 * steps_per_epoch, 7 * steps_per_epoch};
  std::ostringstream ours;
  for (int step = 0; step < 7 * steps_per_epoch; step += 3)
    ours << fmt::format("{:.17g}\n", s.lr(step));
  const auto py = ecg::testing::run_python(fmt::format(R"(
import math
lr, min_lr, warm, epochs, spe = 5e-4, 1e-6, 2, 7, {}
for step in range(0, epochs * spe, 3):
    e = step / spe
    if e < warm: v = lr * e / warm
    else: v = min_lr + (lr - min_lr) * 0.5 * (1. + math.cos(math.pi * (e - warm) / (epochs - warm)))
    print(repr(v))
)",
                                                       steps_per_epoch));
  ASSERT_EQ(py.exit_code, 0) << py.output;
  std::istringstream a(ours.str()), b(py.output);
  double x = 0, y = 0;
  int n = 0;
  while (a >> x) {
    ASSERT_TRUE(static_cast<bool>(b >> y));
    EXPECT_NEAR(x, y, 1e-15) << "row " << n;
    ++n;
  }
  EXPECT_GT(n, 20);
}

TEST(Schedule, InvalidSettingsAreRejected) {
  EXPECT_THROW((WarmupCosineSchedule{1e-3, 0, 10, 10}.lr(0)), ecg::Error);    // total <= warmup
  EXPECT_THROW((WarmupCosineSchedule{1e-3, 2e-3, 0, 10}.lr(0)), ecg::Error);  // min > base
  EXPECT_THROW((WarmupCosineSchedule{0, 0, 0, 10}.validate()), ecg::Error);
  EXPECT_THROW((WarmupCosineSchedule{1e-3, 0, 0, 10}.lr(-1)), ecg::Error);
}

TEST(LayerDecay, ScalesFollowBeitConvention) {
  const int depth = 12;
  const double decay = 0.75;
  // MAE param_groups_lrd: layer_scales = [decay ** (num_layers - i)], num_layers = depth + 1.
  EXPECT_DOUBLE_EQ(layer_lr_scale(depth + 1, depth, decay), 1.0);         // head, final norm
  EXPECT_DOUBLE_EQ(layer_lr_scale(depth, depth, decay), 0.75);            // last block
  EXPECT_DOUBLE_EQ(layer_lr_scale(1, depth, decay), std::pow(0.75, 12));  // first block
  EXPECT_DOUBLE_EQ(layer_lr_scale(0, depth, decay), std::pow(0.75, 13));  // embeddings
  for (int layer = 0; layer <= depth + 1; ++layer) {
    EXPECT_DOUBLE_EQ(layer_lr_scale(layer, depth, 1.0), 1.0);  // decay 1 = off
  }
  EXPECT_THROW(layer_lr_scale(depth + 2, depth, decay), ecg::Error);
  EXPECT_THROW(layer_lr_scale(-1, depth, decay), ecg::Error);
  EXPECT_THROW(layer_lr_scale(0, depth, 0.0), ecg::Error);
  EXPECT_THROW(layer_lr_scale(0, depth, 1.5), ecg::Error);
}

}  // namespace
}  // namespace ecg::engine
