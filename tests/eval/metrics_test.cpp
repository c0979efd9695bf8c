// AUROC / AUPRC against scikit-learn (the oracle the published PTB-XL numbers come from), the
// bootstrap's determinism, redraw rule and interval behaviour, and the paired bootstrap.
#include "eval/metrics.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "common/error.h"
#include "tests/test_util.h"

namespace ecg::eval {
namespace {

using ecg::testing::run_python;
using ecg::testing::TempDir;
using ecg::testing::write_text_file;

// Records x labels with label j's prevalence spread over [0.03, 0.5] and scores that separate the
// classes only partly (AUROC around 0.7-0.9). `round_to` > 0 rounds scores to that step (ties).
LabelScores make_data(std::size_t records, std::size_t labels, std::uint32_t seed,
                      double round_to = 0) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> unit(0, 1);
  std::normal_distribution<double> noise(0, 1);
  LabelScores d;
  d.records = records;
  d.labels = labels;
  for (std::size_t r = 0; r < records; ++r) {
    for (std::size_t j = 0; j < labels; ++j) {
      const double prevalence =
          0.03 + 0.47 * static_cast<double>(j) / std::max<double>(1, labels - 1);
      const bool positive = unit(rng) < prevalence;
      double score = 1.0 / (1.0 + std::exp(-(noise(rng) + (positive ? 1.2 : 0.0) - 1.0)));
      if (round_to > 0) score = std::round(score / round_to) * round_to;
      d.scores.push_back(static_cast<float>(score));
      d.targets.push_back(positive ? 1.0f : 0.0f);
    }
  }
  return d;
}

void write_matrix(const std::string& path, const std::vector<float>& values, std::size_t cols) {
  std::string text;
  for (std::size_t i = 0; i < values.size(); ++i) {
    text += fmt::format("{:.9g}", values[i]);
    text += (i + 1) % cols == 0 ? '\n' : ' ';
  }
  write_text_file(path, text);
}

struct Reference {
  bool defined = false;
  double auroc = 0, auprc = 0;
};

// sklearn's roc_auc_score / average_precision_score per label (rows repeated weights[i] times when
// weights are given). Undefined labels (one class only) come back as defined = false.
std::vector<Reference> sklearn_metrics(const LabelScores& d,
                                       const std::vector<std::uint32_t>& weights = {}) {
  TempDir dir;
  write_matrix(dir / "scores.txt", d.scores, d.labels);
  write_matrix(dir / "targets.txt", d.targets, d.labels);
  std::string repeat = "None";
  if (!weights.empty()) {
    std::vector<float> w(weights.begin(), weights.end());
    write_matrix(dir / "weights.txt", w, 1);
    repeat = fmt::format("np.loadtxt('{}', ndmin=1).astype(int)", dir / "weights.txt");
  }
  const std::string code = fmt::format(R"(
import json, numpy as np
from sklearn.metrics import roc_auc_score, average_precision_score
s = np.loadtxt('{}', ndmin=2).astype(np.float32)
t = np.loadtxt('{}', ndmin=2).astype(int)
rep = {}
if rep is not None:
    s = np.repeat(s, rep, axis=0); t = np.repeat(t, rep, axis=0)
out = []
for j in range(s.shape[1]):
    if t[:, j].min() == t[:, j].max():
        out.append(None)
    else:
        out.append([roc_auc_score(t[:, j], s[:, j]), average_precision_score(t[:, j], s[:, j])])
print(json.dumps(out))
)",
                                       dir / "scores.txt", dir / "targets.txt", repeat);
  const auto result = run_python(code);
  EXPECT_EQ(result.exit_code, 0) << result.output;
  std::string text = result.output;  // the JSON is the last line (warnings may precede it)
  while (!text.empty() && text.back() == '\n') text.pop_back();
  const std::size_t line = text.rfind('\n');
  const auto json = nlohmann::json::parse(line == std::string::npos ? text : text.substr(line + 1));
  std::vector<Reference> out;
  for (const auto& item : json) {
    Reference ref;
    if (!item.is_null()) {
      ref.defined = true;
      ref.auroc = item[0].get<double>();
      ref.auprc = item[1].get<double>();
    }
    out.push_back(ref);
  }
  return out;
}

void expect_matches_sklearn(const LabelScores& d) {
  const MetricReport report = evaluate_metrics(d, {/*resamples=*/0});
  const std::vector<Reference> ref = sklearn_metrics(d);
  ASSERT_EQ(ref.size(), d.labels);
  double sum_auroc = 0, sum_auprc = 0;
  std::size_t evaluable = 0;
  for (std::size_t j = 0; j < d.labels; ++j) {
    const LabelMetrics& m = report.labels[j];
    EXPECT_EQ(m.evaluable, ref[j].defined) << "label " << j;
    if (!ref[j].defined) {
      EXPECT_TRUE(std::isnan(m.auroc));
      EXPECT_TRUE(std::isnan(m.auprc));
      continue;
    }
    EXPECT_NEAR(m.auroc, ref[j].auroc, 1e-6) << "label " << j;
    EXPECT_NEAR(m.auprc, ref[j].auprc, 1e-6) << "label " << j;
    sum_auroc += ref[j].auroc;
    sum_auprc += ref[j].auprc;
    ++evaluable;
  }
  ASSERT_EQ(report.evaluable_labels, evaluable);
  if (evaluable > 0) {
    EXPECT_NEAR(report.macro_auroc, sum_auroc / evaluable, 1e-6);
    EXPECT_NEAR(report.macro_auprc, sum_auprc / evaluable, 1e-6);
  }
}

TEST(Metrics, RandomScoresMatchSklearn) {
  expect_matches_sklearn(make_data(400, 8, 1));
}

TEST(Metrics, HeavyTiesMatchSklearn) {
  // Scores rounded to one decimal: ~11 distinct values over 500 records.
  expect_matches_sklearn(make_data(500, 6, 2, 0.1));
}

TEST(Metrics, PerfectInvertedAndConstantClassifiers) {
  LabelScores d;
  d.records = 10;
  d.labels = 3;
  d.names = {"perfect", "inverted", "constant"};
  for (std::size_t r = 0; r < d.records; ++r) {
    const float t = r < 3 ? 1.0f : 0.0f;
    const float s = static_cast<float>(r) / 10.0f;
    d.scores.insert(d.scores.end(), {1.0f - s, s, 0.5f});
    d.targets.insert(d.targets.end(), {t, t, t});
  }
  const MetricReport report = evaluate_metrics(d, {0});
  EXPECT_DOUBLE_EQ(report.labels[0].auroc, 1.0);
  EXPECT_DOUBLE_EQ(report.labels[0].auprc, 1.0);
  EXPECT_DOUBLE_EQ(report.labels[1].auroc, 0.0);
  EXPECT_DOUBLE_EQ(report.labels[2].auroc, 0.5);
  EXPECT_DOUBLE_EQ(report.labels[2].auprc, 0.3);  // all tied: precision = prevalence
  expect_matches_sklearn(d);
}

TEST(Metrics, LabelsWithoutPositivesOrNegativesAreExcludedFromMacro) {
  LabelScores d = make_data(200, 5, 3);
  for (std::size_t r = 0; r < d.records; ++r) {
    d.targets[r * d.labels + 1] = 0.0f;  // no positive
    d.targets[r * d.labels + 3] = 1.0f;  // no negative
  }
  const MetricReport report = evaluate_metrics(d, {/*resamples=*/50});
  EXPECT_FALSE(report.labels[1].evaluable);
  EXPECT_EQ(report.labels[1].positives, 0);
  EXPECT_FALSE(report.labels[3].evaluable);
  EXPECT_EQ(report.labels[3].negatives, 0);
  EXPECT_TRUE(std::isnan(report.labels[1].auroc_ci.lower));
  EXPECT_EQ(report.evaluable_labels, 3u);
  EXPECT_FALSE(std::isnan(report.macro_auroc_ci.lower));
  const auto json = to_json(report);
  EXPECT_TRUE(json["labels"][1]["auroc"].is_null());
  EXPECT_EQ(json["evaluable_labels"], 3);
  expect_matches_sklearn(d);
}

TEST(Metrics, NoEvaluableLabelGivesNaNMacro) {
  LabelScores d;
  d.records = 4;
  d.labels = 1;
  d.scores = {0.1f, 0.2f, 0.3f, 0.4f};
  d.targets = {0, 0, 0, 0};
  const MetricReport report = evaluate_metrics(d, {100});
  EXPECT_EQ(report.evaluable_labels, 0u);
  EXPECT_TRUE(std::isnan(report.macro_auroc));
  EXPECT_TRUE(std::isnan(roc_auc(d.scores, d.targets)));
}

TEST(Metrics, WeightedMetricsEqualSklearnOnRepeatedRecords) {
  // The bootstrap evaluates a resample as record multiplicities; check that against sklearn run on
  // the records actually repeated (with ties, so tie groups with mixed weights are exercised).
  const LabelScores d = make_data(150, 4, 4, 0.05);
  std::mt19937 rng(7);
  std::vector<std::uint32_t> weights(d.records);
  for (auto& w : weights) w = rng() % 4;  // 0..3, as a bootstrap resample has
  const auto ours = weighted_label_metrics(d, weights);
  const auto ref = sklearn_metrics(d, weights);
  for (std::size_t j = 0; j < d.labels; ++j) {
    ASSERT_TRUE(ref[j].defined);
    EXPECT_NEAR(ours[j].first, ref[j].auroc, 1e-6) << "label " << j;
    EXPECT_NEAR(ours[j].second, ref[j].auprc, 1e-6) << "label " << j;
  }
}

TEST(Metrics, PercentileMatchesNumpy) {
  std::vector<double> v = {0.3, 0.1, 0.9, 0.5, 0.7, 0.2, 0.65};
  const auto result = run_python(
      "import numpy as np\n"
      "v=[0.3,0.1,0.9,0.5,0.7,0.2,0.65]\n"
      "print(repr(float(np.percentile(v,2.5))), repr(float(np.percentile(v,97.5))))\n");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  double lo = 0, hi = 0;
  ASSERT_EQ(std::sscanf(result.output.c_str(), "%lf %lf", &lo, &hi), 2) << result.output;
  EXPECT_NEAR(percentile_sorted_inplace(v, 0.025), lo, 1e-12);
  EXPECT_NEAR(percentile_sorted_inplace(v, 0.975), hi, 1e-12);
}

TEST(Metrics, InvalidInputIsRejectedNamingTheField) {
  LabelScores d = make_data(10, 2, 5);
  d.names = {"NORM", "MI"};
  d.targets[3] = 0.5f;
  try {
    evaluate_metrics(d);
    FAIL() << "expected an error";
  } catch (const ecg::Error& e) {
    EXPECT_NE(e.message().find("target of record 1 label 'MI'"), std::string::npos) << e.message();
  }
  d = make_data(10, 2, 5);
  d.scores[0] = std::nanf("");
  EXPECT_THROW(evaluate_metrics(d), ecg::Error);
  d = make_data(10, 2, 5);
  d.scores.pop_back();
  EXPECT_THROW(evaluate_metrics(d), ecg::Error);
}

TEST(Bootstrap, DeterministicForASeedWhateverTheThreads) {
  const LabelScores d = make_data(300, 6, 6);
  BootstrapOptions options;
  options.resamples = 200;
  options.seed = 42;
  const std::string one = to_json(evaluate_metrics(d, options)).dump();
  EXPECT_EQ(one, to_json(evaluate_metrics(d, options)).dump());
  options.threads = 2;
  EXPECT_EQ(one, to_json(evaluate_metrics(d, options)).dump());
  options.seed = 43;
  EXPECT_NE(one, to_json(evaluate_metrics(d, options)).dump());
}

TEST(Bootstrap, IntervalsContainTheEstimateAndShrinkWithMoreRecords) {
  BootstrapOptions options;
  options.resamples = 300;
  options.seed = 1;
  const MetricReport small = evaluate_metrics(make_data(200, 5, 8), options);
  const MetricReport large = evaluate_metrics(make_data(2000, 5, 8), options);
  for (const MetricReport* r : {&small, &large}) {
    EXPECT_LT(r->macro_auroc_ci.lower, r->macro_auroc);
    EXPECT_GT(r->macro_auroc_ci.upper, r->macro_auroc);
    EXPECT_LT(r->macro_auprc_ci.lower, r->macro_auprc);
    EXPECT_GT(r->macro_auprc_ci.upper, r->macro_auprc);
    for (const auto& m : r->labels) {
      EXPECT_LE(m.auroc_ci.lower, m.auroc) << m.name;
      EXPECT_GE(m.auroc_ci.upper, m.auroc) << m.name;
    }
  }
  const double small_width = small.macro_auroc_ci.upper - small.macro_auroc_ci.lower;
  const double large_width = large.macro_auroc_ci.upper - large.macro_auroc_ci.lower;
  // ~1/sqrt(n): ten times the records gives about a third of the width.
  EXPECT_LT(large_width, 0.6 * small_width);
}

TEST(Bootstrap, ResamplesWithoutARareClassAreRedrawn) {
  // One positive in 40 records: a resample misses it with probability (39/40)^40 ~ 0.36.
  LabelScores d = make_data(40, 2, 9);
  d.names = {"common", "rare"};
  for (std::size_t r = 0; r < d.records; ++r) {
    d.targets[r * 2] = r % 2 == 0 ? 1.0f : 0.0f;
    d.targets[r * 2 + 1] = r == 17 ? 1.0f : 0.0f;
  }
  BootstrapOptions options;
  options.resamples = 200;
  const MetricReport report = evaluate_metrics(d, options);
  EXPECT_GT(report.redraws, 30);  // expected ~ 200 * 0.36 / 0.64 = 113
  EXPECT_LT(report.redraws, 300);
  EXPECT_TRUE(std::isfinite(report.labels[1].auroc_ci.lower));
  EXPECT_TRUE(std::isfinite(report.macro_auroc_ci.upper));

  options.max_draws_per_resample = 1;  // with 200 resamples one will surely need a redraw
  try {
    evaluate_metrics(d, options);
    FAIL() << "expected an error";
  } catch (const ecg::Error& e) {
    EXPECT_NE(e.message().find("label 'rare' has only 1 record(s)"), std::string::npos)
        << e.message();
  }
}

TEST(Bootstrap, PairedDifferenceOfAModelWithItselfIsZero) {
  const LabelScores d = make_data(300, 4, 10);
  BootstrapOptions options;
  options.resamples = 100;
  const PairedReport p = paired_bootstrap(d, d, options);
  EXPECT_EQ(p.auroc.estimate, 0.0);
  EXPECT_EQ(p.auroc.ci.lower, 0.0);
  EXPECT_EQ(p.auroc.ci.upper, 0.0);
  EXPECT_EQ(p.auroc.p_value, 1.0);
}

TEST(Bootstrap, PairedDifferenceDetectsABetterModel) {
  const LabelScores a = make_data(500, 4, 11);
  LabelScores b = a;
  std::mt19937 rng(3);
  std::normal_distribution<float> noise(0, 0.15f);
  for (auto& s : b.scores) s += noise(rng);  // b = a blurred: worse in expectation
  BootstrapOptions options;
  options.resamples = 300;
  options.seed = 5;
  const PairedReport p = paired_bootstrap(a, b, options);
  const MetricReport ra = evaluate_metrics(a, options), rb = evaluate_metrics(b, options);
  EXPECT_DOUBLE_EQ(p.macro_auroc_a, ra.macro_auroc);
  EXPECT_DOUBLE_EQ(p.macro_auroc_b, rb.macro_auroc);
  EXPECT_DOUBLE_EQ(p.auroc.estimate, ra.macro_auroc - rb.macro_auroc);
  EXPECT_GT(p.auroc.ci.lower, 0.0);
  EXPECT_LT(p.auroc.p_value, 0.05);
  // Pairing removes the record-sampling noise the models share: the difference's interval is
  // narrower than that of independent resamples, whose width would be ~sqrt(wa^2 + wb^2).
  const double wa = ra.macro_auroc_ci.upper - ra.macro_auroc_ci.lower;
  const double wb = rb.macro_auroc_ci.upper - rb.macro_auroc_ci.lower;
  EXPECT_LT(p.auroc.ci.upper - p.auroc.ci.lower, 0.8 * std::sqrt(wa * wa + wb * wb));
  const auto json = to_json(p);
  EXPECT_EQ(json["bootstrap"]["resamples"], 300);

  b.targets[0] = 1.0f - b.targets[0];
  EXPECT_THROW(paired_bootstrap(a, b, options), ecg::Error);
}

// The report's seed-pooled bootstrap (eval::seed_pooled_bootstrap): one seed is paired_bootstrap's
// macro difference (same resamples), and the single-recipe form is evaluate_metrics' macro CI.
TEST(Metrics, SeedPooledWithOneSeedIsThePairedBootstrap) {
  const LabelScores a = make_data(300, 4, 21);
  LabelScores b = a;
  std::mt19937 rng(4);
  std::normal_distribution<float> noise(0, 0.2f);
  for (auto& s : b.scores) s += noise(rng);
  BootstrapOptions options;
  options.resamples = 150;
  options.seed = 9;
  const PairedReport p = paired_bootstrap(a, b, options);
  const SeedPooledReport s = seed_pooled_bootstrap({a}, {b}, options);
  EXPECT_DOUBLE_EQ(s.auroc.estimate, p.auroc.estimate);
  EXPECT_DOUBLE_EQ(s.auroc.ci.lower, p.auroc.ci.lower);
  EXPECT_DOUBLE_EQ(s.auroc.ci.upper, p.auroc.ci.upper);
  EXPECT_DOUBLE_EQ(s.auprc.ci.upper, p.auprc.ci.upper);
  EXPECT_DOUBLE_EQ(s.auroc.p_value, p.auroc.p_value);
  const MetricReport ra = evaluate_metrics(a, options);
  const SeedPooledReport alone = seed_pooled_bootstrap({a}, {}, options);
  EXPECT_DOUBLE_EQ(alone.macro_auroc_a, ra.macro_auroc);
  EXPECT_DOUBLE_EQ(alone.macro_auroc_a_ci.lower, ra.macro_auroc_ci.lower);
  EXPECT_DOUBLE_EQ(alone.macro_auprc_a_ci.upper, ra.macro_auprc_ci.upper);
  EXPECT_TRUE(std::isnan(alone.auroc.estimate));
}

TEST(Metrics, SeedPooledEstimateIsTheMeanOfThePerSeedDifferences) {
  const LabelScores a0 = make_data(300, 4, 31);
  std::vector<LabelScores> a(3, a0), b(3, a0);
  std::mt19937 rng(5);
  std::normal_distribution<float> noise(0, 0.2f);
  for (int s = 0; s < 3; ++s) {
    for (auto& x : a[s].scores) x += 0.05f * noise(rng);
    for (auto& x : b[s].scores) x += noise(rng);
  }
  BootstrapOptions options;
  options.resamples = 200;
  double mean = 0;
  for (int s = 0; s < 3; ++s) mean += paired_bootstrap(a[s], b[s], options).auroc.estimate / 3;
  const SeedPooledReport pooled = seed_pooled_bootstrap(a, b, options);
  EXPECT_EQ(pooled.seeds, 3u);
  EXPECT_NEAR(pooled.auroc.estimate, mean, 1e-12);
  EXPECT_LT(pooled.auroc.ci.lower, pooled.auroc.estimate);
  EXPECT_GT(pooled.auroc.ci.upper, pooled.auroc.estimate);
  EXPECT_GT(pooled.auroc.ci.lower, 0.0);  // a is much less blurred than b
  // Pairing is by position and needs as many baselines as models; the targets must agree.
  EXPECT_THROW(seed_pooled_bootstrap(a, {b[0]}, options), ecg::Error);
  b[1].targets[0] = 1.0f - b[1].targets[0];
  EXPECT_THROW(seed_pooled_bootstrap(a, b, options), ecg::Error);
}

}  // namespace
}  // namespace ecg::eval
