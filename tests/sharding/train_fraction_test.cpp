#include "sharding/train_fraction.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "common/error.h"

namespace ecg::sharding {
namespace {

// A multi-label matrix with skewed class frequencies (from ~40 % down to ~1 %) and some
// records without any positive label, like PTB-XL's diagnostic tasks.
struct Labels {
  int64_t rows = 3000, classes = 6;
  std::vector<uint8_t> values;
  Labels() {
    std::mt19937_64 rng(5);
    const double p[] = {0.40, 0.20, 0.10, 0.05, 0.02, 0.01};
    values.resize(static_cast<size_t>(rows * classes));
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t c = 0; c < classes; ++c)
        values[static_cast<size_t>(i * classes + c)] =
            static_cast<double>(rng() % 1000000) / 1e6 < p[c] ? 1 : 0;
  }
  LabelView view() const { return {values.data(), rows, classes}; }
};

std::vector<double> prevalence(const LabelView& l, const std::vector<int64_t>& rows) {
  std::vector<double> out(static_cast<size_t>(l.classes), 0.0);
  for (int64_t r : rows)
    for (int64_t c = 0; c < l.classes; ++c) out[static_cast<size_t>(c)] += l.positive(r, c);
  for (auto& v : out) v /= static_cast<double>(rows.size());
  return out;
}

std::vector<int64_t> candidates(int64_t n) {
  std::vector<int64_t> v;
  for (int64_t i = 0; i < n; i += 1) {
    if (i % 10 != 9) v.push_back(i);  // e.g. training folds only: skip every tenth record
  }
  return v;
}

TEST(TrainFraction, SubsetsAreNestedSortedAndSized) {
  Labels labels;
  auto cand = candidates(labels.rows);
  std::vector<int64_t> previous;
  for (double f : {0.01, 0.05, 0.1, 0.2, 0.5, 1.0}) {
    auto subset = select_train_fraction(labels.view(), cand, f, 17);
    EXPECT_EQ(subset.size(),
              static_cast<size_t>(std::ceil(f * static_cast<double>(cand.size()) - 1e-9)));
    EXPECT_TRUE(std::is_sorted(subset.begin(), subset.end()));
    EXPECT_TRUE(std::includes(cand.begin(), cand.end(), subset.begin(), subset.end()));
    EXPECT_TRUE(std::includes(subset.begin(), subset.end(), previous.begin(), previous.end()))
        << "fraction " << f << " does not contain the smaller subset";
    previous = subset;
  }
  EXPECT_EQ(previous, cand);  // F = 1 is everything
}

TEST(TrainFraction, DeterministicPerSeed) {
  Labels labels;
  auto cand = candidates(labels.rows);
  EXPECT_EQ(select_train_fraction(labels.view(), cand, 0.1, 3),
            select_train_fraction(labels.view(), cand, 0.1, 3));
  EXPECT_NE(select_train_fraction(labels.view(), cand, 0.1, 3),
            select_train_fraction(labels.view(), cand, 0.1, 4));
  auto order = stratified_order(labels.view(), cand, 3);
  auto sorted = order;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, cand);  // a permutation of the candidates
}

TEST(TrainFraction, LabelProportionsFollowTheFullSet) {
  Labels labels;
  auto cand = candidates(labels.rows);
  auto full = prevalence(labels.view(), cand);
  for (double f : {0.05, 0.1, 0.25}) {
    auto subset = select_train_fraction(labels.view(), cand, f, 17);
    auto sub = prevalence(labels.view(), subset);
    for (size_t c = 0; c < full.size(); ++c) {
      // Within 20 % of the full prevalence, or one record, whichever is larger.
      const double tol = std::max(0.2 * full[c], 1.0 / static_cast<double>(subset.size()));
      EXPECT_NEAR(sub[c], full[c], tol) << "class " << c << " fraction " << f;
      EXPECT_GT(sub[c], 0.0) << "rare class " << c << " lost at fraction " << f;
    }
  }
}

TEST(TrainFraction, RejectsBadFractionAndCandidates) {
  Labels labels;
  auto cand = candidates(100);
  for (double f : {0.0, -0.1, 1.5}) {
    try {
      select_train_fraction(labels.view(), cand, f, 1);
      FAIL() << "expected an error for " << f;
    } catch (const ecg::Error& e) {
      EXPECT_NE(e.message().find("--train-fraction"), std::string::npos) << e.message();
    }
  }
  EXPECT_THROW(select_train_fraction(labels.view(), {1, 1}, 0.5, 1), ecg::Error);
  EXPECT_THROW(select_train_fraction(labels.view(), {labels.rows}, 0.5, 1), ecg::Error);
  // A tiny fraction of a small set still yields one record.
  EXPECT_EQ(select_train_fraction(labels.view(), {4, 8, 15}, 0.01, 1).size(), 1u);
}

}  // namespace
}  // namespace ecg::sharding
