// Stochastic depth: off in eval mode, per-sample masks scaled by 1/keep in training, linear
// rates over depth, and masks that depend only on each sample's seed (so the world size, the
// batch composition and resumes never change what a sample sees).
#include "model/drop_path.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "common/error.h"
#include "model/st_mem.h"

namespace ecg::model {
namespace {

TEST(DropPath, RatesRiseLinearlyOverDepth) {
  auto r = linear_drop_path_rates(5, 0.2);
  ASSERT_EQ(r.size(), 5u);
  for (size_t i = 0; i < r.size(); ++i) EXPECT_NEAR(r[i], 0.05 * static_cast<double>(i), 1e-12);
  EXPECT_EQ(linear_drop_path_rates(1, 0.3), std::vector<double>{0.0});

  StMemConfig c = StMemConfig::preset("tiny");
  c.drop_path = 0.3;
  StMem m(c);
  auto rates = m->drop_path_rates();
  EXPECT_NEAR(rates.front(), 0.0, 1e-12);
  EXPECT_NEAR(rates[1], 0.1, 1e-12);
  EXPECT_NEAR(rates.back(), 0.3, 1e-12);
  m->set_drop_path(0.6);
  EXPECT_NEAR(m->drop_path_rates().back(), 0.6, 1e-12);
  EXPECT_NEAR(m->config().drop_path, 0.6, 1e-12);
  EXPECT_THROW(m->set_drop_path(1.0), ecg::Error);
}

TEST(DropPath, IdentityInEvalModeOrAtRateZero) {
  auto x = torch::randn({8, 5, 4});
  auto seeds = torch::arange(8, torch::kLong);
  EXPECT_TRUE(torch::equal(drop_path(x, 0.5, /*training=*/false, seeds, 3), x));
  EXPECT_TRUE(torch::equal(drop_path(x, 0.0, /*training=*/true, seeds, 3), x));

  torch::manual_seed(0);
  StMemConfig c = StMemConfig::preset("tiny");
  c.drop_path = 0.5;
  StMem with(c);
  c.drop_path = 0.0;
  StMem without(c);
  {
    torch::NoGradGuard no_grad;
    auto src = with->named_parameters();
    for (auto& item : without->named_parameters()) item.value().copy_(src[item.key()]);
  }
  with->eval();
  without->eval();
  torch::NoGradGuard no_grad;
  auto in = torch::randn({4, 12, 750});
  EXPECT_TRUE(
      torch::equal(with->forward(in, torch::arange(4, torch::kLong)), without->forward(in)));
}

TEST(DropPath, PerSampleMaskIsScaledByOneOverKeep) {
  const int64_t n = 20000;
  auto x = torch::ones({n, 3, 2});
  auto seeds = torch::arange(n, torch::kLong) * 7919 + 11;
  auto y = drop_path(x, 0.25, true, seeds, 5);
  // Each sample is either all zero or all 1/0.75 (whole-sample mask).
  auto per_sample = y.view({n, -1});
  auto first = per_sample.select(1, 0);
  EXPECT_TRUE(per_sample.eq(first.unsqueeze(1)).all().item<bool>());
  auto kept = first.gt(0);
  EXPECT_TRUE(first.masked_select(kept).sub(1.0 / 0.75).abs().max().item<double>() < 1e-6);
  const double keep_fraction = kept.to(torch::kDouble).mean().item<double>();
  EXPECT_NEAR(keep_fraction, 0.75, 0.015);
  // Expectation preserved.
  EXPECT_NEAR(y.mean().item<double>(), 1.0, 0.03);
  // Global-generator fallback has the same law.
  auto z = drop_path(x, 0.25, true, torch::Tensor(), 5).view({n, -1}).select(1, 0);
  EXPECT_NEAR(z.gt(0).to(torch::kDouble).mean().item<double>(), 0.75, 0.015);
  EXPECT_TRUE(z.masked_select(z.gt(0)).sub(1.0 / 0.75).abs().max().item<double>() < 1e-6);
}

TEST(DropPath, MaskDependsOnlyOnSampleSeedAndStream) {
  auto seeds = torch::tensor({101, 202, 303, 404, 505, 606, 707, 808}, torch::kLong);
  auto x = torch::ones({8, 4});
  auto a = drop_path_mask(x, 0.5, seeds, 9);
  auto b = drop_path_mask(x, 0.5, seeds, 9);
  EXPECT_TRUE(torch::equal(a, b));
  // A sample keeps its mask when it sits elsewhere in another batch (e.g. another world size).
  auto idx = torch::tensor({5, 2, 7}, torch::kLong);
  auto sub = drop_path_mask(torch::ones({3, 4}), 0.5, seeds.index_select(0, idx), 9);
  EXPECT_TRUE(torch::equal(sub, a.index_select(0, idx)));
  // Streams (block, branch) are independent draws.
  int differ = 0;
  for (int64_t s = 0; s < 256; ++s) {
    differ += (hashed_uniform(s, drop_path_stream(0, 0)) < 0.5) !=
              (hashed_uniform(s, drop_path_stream(0, 1)) < 0.5);
  }
  EXPECT_GT(differ, 80);
  EXPECT_LT(differ, 176);
  EXPECT_THROW(drop_path_mask(x, 0.5, torch::arange(3, torch::kLong), 0), ecg::Error);
}

TEST(DropPath, ModelTrainingForwardIsDeterministicGivenSeeds) {
  torch::manual_seed(0);
  StMemConfig c = StMemConfig::preset("tiny");
  c.drop_path = 0.6;
  c.num_classes = 2;
  StMem m(c);
  m->train();
  torch::NoGradGuard no_grad;
  auto x = torch::randn({6, 12, 750});
  auto seeds = torch::arange(6, torch::kLong) + 1000;
  auto a = m->forward(x, seeds);
  torch::manual_seed(12345);  // the global generator must not matter
  auto b = m->forward(x, seeds);
  EXPECT_TRUE(torch::equal(a, b));
  // Per-sample independence: sample 4 alone gives the same logits as inside the batch.
  auto alone = m->forward(x.slice(0, 4, 5), seeds.slice(0, 4, 5));
  EXPECT_TRUE(torch::allclose(alone, a.slice(0, 4, 5), 1e-4, 1e-5));
  // Other seeds drop other branches.
  EXPECT_FALSE(torch::allclose(a, m->forward(x, seeds + 77)));
  // Eval mode: no drop at all, seeds irrelevant.
  m->eval();
  EXPECT_TRUE(torch::equal(m->forward(x, seeds), m->forward(x)));
}

}  // namespace
}  // namespace ecg::model
