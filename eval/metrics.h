// Evaluation metrics for multi-label ECG diagnosis: per-label and macro AUROC / AUPRC with
// percentile bootstrap confidence intervals, plus a paired bootstrap for comparing two models on
// the same records. Torch-free on purpose (plain std::vector<float>): the evaluation writes its
// predictions once and everything here can run on them without LibTorch.
//
// Definitions match scikit-learn exactly, so published numbers can be reproduced:
//  - AUROC == sklearn.metrics.roc_auc_score (trapezoid over distinct thresholds; tied scores
//    count half, i.e. the Mann-Whitney statistic with average ranks).
//  - AUPRC == sklearn.metrics.average_precision_score (step-wise sum over distinct thresholds of
//    (R_k - R_{k-1}) * P_k; NOT the trapezoid, which is optimistic).
// A label without positives or without negatives has no AUROC; it is reported (NaN, evaluable =
// false) and excluded from the macro averages.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace ecg::eval {

// Scores and 0/1 targets of `records` records over `labels` labels, both row-major
// [records x labels] (the layout of a batch of sigmoid outputs and multi-hot targets).
struct LabelScores {
  std::size_t records = 0;
  std::size_t labels = 0;
  std::vector<float> scores;
  std::vector<float> targets;      // each exactly 0 or 1
  std::vector<std::string> names;  // label names for reports and errors; empty = "label_<j>"

  // Throws (one line naming the field) on a size mismatch, a non-finite score or a target that is
  // neither 0 nor 1.
  void validate() const;
  std::string name(std::size_t label) const;
};

// Single-label metrics over n scores/targets (stride lets a column of a row-major matrix be used
// in place). NaN when the label has no positive or no negative.
double roc_auc(const float* scores, const float* targets, std::size_t n, std::size_t stride = 1);
double average_precision(const float* scores, const float* targets, std::size_t n,
                         std::size_t stride = 1);
inline double roc_auc(const std::vector<float>& scores, const std::vector<float>& targets) {
  return roc_auc(scores.data(), targets.data(), scores.size());
}
inline double average_precision(const std::vector<float>& scores,
                                const std::vector<float>& targets) {
  return average_precision(scores.data(), targets.data(), scores.size());
}

struct BootstrapOptions {
  int resamples = 1000;      // 0: point estimates only, no CIs (NaN here, null in JSON, "n/a" in text)
  std::uint64_t seed = 0;    // same seed + same data -> identical intervals, whatever `threads`
  double confidence = 0.95;  // percentile method: [(1-c)/2, (1+c)/2] quantiles
  // A resample in which an evaluable label has no positive (or no negative) is redrawn, as the
  // PTB-XL benchmark does; after this many draws for one resample we give up with an error.
  int max_draws_per_resample = 10000;
  int threads = 1;  // worker threads for the resamples (results do not depend on it)
};

struct Interval {
  double lower = 0;
  double upper = 0;
  // False for "no CI": --bootstrap 0, or a label that is not evaluable (both bounds NaN).
  bool exists() const { return !(std::isnan(lower) && std::isnan(upper)); }
};

// "0.8123 [0.7912, 0.8350]", or "0.8123 [CI n/a]" without a CI (the one text form of a metric with
// its interval in logs and tables; `digits` after the point).
std::string format_with_ci(double value, const Interval& ci, int digits = 4);

struct LabelMetrics {
  std::string name;
  std::int64_t positives = 0;
  std::int64_t negatives = 0;
  bool evaluable = false;  // has at least one positive and one negative
  double auroc = 0;        // NaN when !evaluable
  double auprc = 0;
  Interval auroc_ci;  // NaN when !evaluable or resamples == 0
  Interval auprc_ci;
};

struct MetricReport {
  std::size_t records = 0;
  std::size_t evaluable_labels = 0;
  std::vector<LabelMetrics> labels;
  double macro_auroc = 0;  // mean over evaluable labels; NaN when there is none
  double macro_auprc = 0;
  Interval macro_auroc_ci;
  Interval macro_auprc_ci;
  int resamples = 0;
  std::uint64_t seed = 0;
  double confidence = 0;
  std::int64_t redraws = 0;  // resamples thrown away by the redraw rule
};

// Point estimates and (if options.resamples > 0) bootstrap CIs.
MetricReport evaluate_metrics(const LabelScores& data, const BootstrapOptions& options = {});

// Difference a - b of two models' macro and per-label metrics on the same records and targets,
// with a paired bootstrap (both models scored on the same resample indices; macro and per-label
// CIs come from the same resamples). The label set that is averaged is the one evaluable on the
// full records, identical for both models.
struct PairedDifference {
  double estimate = 0;  // metric(a) - metric(b) on the full records
  Interval ci;
  // Two-sided bootstrap p-value for "no difference": 2 * min(P(d <= 0), P(d >= 0)), capped at 1.
  double p_value = 0;
};

// One label's paired difference a - b, from the same resamples as the macro one. A label that is
// not evaluable on the full records (no positive or no negative) has no AUROC for either model:
// NaN estimate, no CI, NaN p-value. An evaluable label is defined in every resample (the redraw
// rule of BootstrapOptions), so its CI never mixes in undefined values.
struct LabelDifference {
  std::string name;
  bool evaluable = false;
  PairedDifference auroc;
  PairedDifference auprc;
};

struct PairedReport {
  std::size_t records = 0;
  std::size_t evaluable_labels = 0;
  double macro_auroc_a = 0;
  double macro_auroc_b = 0;
  double macro_auprc_a = 0;
  double macro_auprc_b = 0;
  PairedDifference auroc;  // of the macro averages
  PairedDifference auprc;
  std::vector<LabelDifference> labels;  // every label, in column order
  int resamples = 0;
  std::uint64_t seed = 0;
  double confidence = 0;
  std::int64_t redraws = 0;
};

// Throws unless a and b have the same records, labels and targets.
PairedReport paired_bootstrap(const LabelScores& a, const LabelScores& b,
                              const BootstrapOptions& options = {});

// Seed-mean macro metrics of recipe A (and optionally a baseline B), each trained with several
// seeds and all tested on the same records, with one bootstrap pooled over the seeds: every
// resample draws the test records once and scores every seed's model on those same records, and
// the statistic is the mean over seeds (for the difference, the mean over seeds of the paired
// difference a[s] - b[s]). So the CI reflects the test-set sampling of the seed-mean, the thing
// the point estimate is, rather than averaging per-seed CI bounds (which is neither a CI of the
// mean nor the seed spread). Seed-to-seed variation enters only through the mean; report the
// seed sd beside it. With one seed and B given this equals paired_bootstrap's macro numbers
// (same seed, same resamples).
struct SeedPooledReport {
  std::size_t records = 0;
  std::size_t evaluable_labels = 0;
  std::size_t seeds = 0;           // models per recipe
  double macro_auroc_a = 0;        // mean over seeds of each model's macro AUROC
  double macro_auprc_a = 0;
  Interval macro_auroc_a_ci;       // pooled bootstrap CI of that seed-mean
  Interval macro_auprc_a_ci;
  double macro_auroc_b = 0;        // NaN without B
  double macro_auprc_b = 0;
  PairedDifference auroc;          // seed-mean of a[s] - b[s]; NaN without B
  PairedDifference auprc;
  int resamples = 0;
  std::uint64_t seed = 0;
  double confidence = 0;
  std::int64_t redraws = 0;
};

// `a` holds one LabelScores per seed; `b` is empty or holds the baseline's, paired with `a` by
// position (a[s] and b[s] share a seed). Throws unless every model has the same records, labels
// and targets, or when b is neither empty nor as long as a.
SeedPooledReport seed_pooled_bootstrap(const std::vector<LabelScores>& a, const std::vector<LabelScores>& b,
                                       const BootstrapOptions& options = {});

// Per-label (AUROC, AUPRC) when record i counts weights[i] times: a bootstrap resample expressed
// as multiplicities (what the bootstrap computes internally; exposed for tests and for callers
// that draw their own resamples). NaN for a label without a positive or a negative under the
// weights.
std::vector<std::pair<double, double>> weighted_label_metrics(
    const LabelScores& data, const std::vector<std::uint32_t>& weights);

// Percentile of `values` (q in [0,1]) with linear interpolation between order statistics, as
// numpy.percentile's default; `values` is sorted in place.
double percentile_sorted_inplace(std::vector<double>& values, double q);

// JSON for evaluation reports (NaN becomes null: JSON has no NaN; an interval that does not exist
// is null, not [null, null]).
nlohmann::json to_json(const MetricReport& report);
nlohmann::json to_json(const PairedReport& report);

}  // namespace ecg::eval
