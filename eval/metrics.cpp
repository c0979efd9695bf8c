#include "eval/metrics.h"

#include <algorithm>
#include <cmath>
#include <exception>
#include <limits>
#include <numeric>
#include <random>
#include <thread>

#include "common/error.h"

namespace ecg::eval {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// One label's records in descending score order, packed as (record << 2) | positive << 1 |
// last-of-tie-group, so that the per-resample walk touches one small array. Sorting happens
// once; every bootstrap resample reuses the order and only changes the per-record weights
// (how many times the resample drew the record). That is what makes 1,000 resamples cheap.
struct SortedLabel {
  std::vector<std::uint32_t> code;
};

SortedLabel sort_label(const LabelScores& data, std::size_t label) {
  const std::size_t n = data.records, stride = data.labels;
  std::vector<std::uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  const float* s = data.scores.data() + label;
  std::sort(order.begin(), order.end(),
            [&](std::uint32_t a, std::uint32_t b) { return s[a * stride] > s[b * stride]; });
  SortedLabel out;
  out.code.resize(n);
  for (std::size_t k = 0; k < n; ++k) {
    const std::uint32_t r = order[k];
    const bool positive = data.targets[r * stride + label] > 0.5f;
    // Distinct thresholds: a group of equal scores ends where the next score differs.
    const bool group_end = k + 1 == n || s[order[k + 1] * stride] != s[r * stride];
    out.code[k] = (r << 2) | (positive ? 2u : 0u) | (group_end ? 1u : 0u);
  }
  return out;
}

struct CurveMetrics {
  double auroc;
  double auprc;
};

// AUROC and average precision of one label under integer record weights, in one pass over the
// distinct thresholds (descending). AUROC: trapezoid over the ROC steps, i.e. a tie group adds
// neg * (tp_before + pos / 2). AP: sum over thresholds of (delta recall) * precision, with
// precision taken at the threshold (sklearn's step-wise definition).
CurveMetrics weighted_curve(const SortedLabel& label, const std::uint32_t* weights) {
  std::int64_t tp = 0, fp = 0, group_pos = 0, group_neg = 0, area2 = 0;
  double ap = 0;
  for (const std::uint32_t c : label.code) {
    // Branch-free class split: whether a record is positive is unpredictable, a branch on it
    // mispredicts about half the time in this, the bootstrap's innermost loop.
    const std::int64_t w = weights[c >> 2];
    const std::int64_t positive = (c >> 1) & 1u;
    group_pos += w * positive;
    group_neg += w * (1 - positive);
    if (c & 1u) {
      area2 += group_neg * (2 * tp + group_pos);  // twice the trapezoid, kept exact in integers
      tp += group_pos;
      fp += group_neg;
      if (group_pos > 0) {
        ap +=
            static_cast<double>(group_pos) * static_cast<double>(tp) / static_cast<double>(tp + fp);
      }
      group_pos = group_neg = 0;
    }
  }
  if (tp == 0 || fp == 0) return {kNaN, kNaN};
  return {static_cast<double>(area2) / (2.0 * static_cast<double>(tp) * static_cast<double>(fp)),
          ap / static_cast<double>(tp)};
}

// SplitMix64 finaliser: turns (seed, resample index) into a well-mixed per-resample seed, so that
// resample r is the same whichever thread draws it.
std::uint64_t mix(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// Unbiased integer in [0, n) (Lemire's multiply-shift with rejection). Written out rather than
// std::uniform_int_distribution because that one's algorithm differs between standard libraries,
// and the bootstrap must be reproducible everywhere from its seed.
std::uint64_t bounded(std::mt19937_64& rng, std::uint64_t n) {
  unsigned __int128 m = static_cast<unsigned __int128>(rng()) * n;
  std::uint64_t low = static_cast<std::uint64_t>(m);
  if (low < n) {
    const std::uint64_t threshold = (0 - n) % n;
    while (low < threshold) {
      m = static_cast<unsigned __int128>(rng()) * n;
      low = static_cast<std::uint64_t>(m);
    }
  }
  return static_cast<std::uint64_t>(m >> 64);
}

// Everything the bootstrap needs about the evaluable labels of the shared targets.
struct LabelPlan {
  std::vector<std::size_t> evaluable;  // label indices with a positive and a negative
  // For the redraw rule, per evaluable label (rarest side first): records of the rarer class and
  // of the other class. A resample is kept when both lists have a drawn record for every label.
  std::vector<std::size_t> check_order;  // positions into `evaluable`, rarest label first
  std::vector<std::vector<std::uint32_t>> rare_side, common_side;
};

LabelPlan plan_labels(const LabelScores& data, const std::vector<LabelMetrics>& metrics) {
  LabelPlan plan;
  for (std::size_t j = 0; j < data.labels; ++j) {
    if (metrics[j].evaluable) plan.evaluable.push_back(j);
  }
  plan.rare_side.resize(plan.evaluable.size());
  plan.common_side.resize(plan.evaluable.size());
  for (std::size_t e = 0; e < plan.evaluable.size(); ++e) {
    const std::size_t j = plan.evaluable[e];
    std::vector<std::uint32_t> pos, neg;
    for (std::size_t r = 0; r < data.records; ++r) {
      (data.targets[r * data.labels + j] > 0.5f ? pos : neg)
          .push_back(static_cast<std::uint32_t>(r));
    }
    if (pos.size() <= neg.size()) {
      plan.rare_side[e] = std::move(pos);
      plan.common_side[e] = std::move(neg);
    } else {
      plan.rare_side[e] = std::move(neg);
      plan.common_side[e] = std::move(pos);
    }
  }
  plan.check_order.resize(plan.evaluable.size());
  std::iota(plan.check_order.begin(), plan.check_order.end(), std::size_t{0});
  std::stable_sort(plan.check_order.begin(), plan.check_order.end(),
                   [&](std::size_t a, std::size_t b) {
                     return plan.rare_side[a].size() < plan.rare_side[b].size();
                   });
  return plan;
}

bool any_drawn(const std::vector<std::uint32_t>& records, const std::uint32_t* counts) {
  for (const std::uint32_t r : records) {
    if (counts[r] != 0) return true;
  }
  return false;
}

// Per-resample, per-model, per-evaluable-label metrics: value(r, m, e).
struct BootstrapSamples {
  std::size_t models = 0, labels = 0;
  std::vector<double> auroc, auprc;
  std::int64_t redraws = 0;
  std::size_t index(std::size_t r, std::size_t m, std::size_t e) const {
    return (r * models + m) * labels + e;
  }
};

BootstrapSamples run_bootstrap(const std::vector<const LabelScores*>& models, const LabelPlan& plan,
                               const BootstrapOptions& options) {
  const LabelScores& base = *models[0];
  const std::size_t n = base.records, n_eval = plan.evaluable.size();
  const std::size_t resamples = static_cast<std::size_t>(options.resamples);

  std::vector<std::vector<SortedLabel>> sorted(models.size());
  for (std::size_t m = 0; m < models.size(); ++m) {
    for (const std::size_t j : plan.evaluable) sorted[m].push_back(sort_label(*models[m], j));
  }

  BootstrapSamples out;
  out.models = models.size();
  out.labels = n_eval;
  out.auroc.assign(resamples * out.models * n_eval, kNaN);
  out.auprc.assign(out.auroc.size(), kNaN);
  std::vector<std::int64_t> redraws(resamples, 0);

  // Draws resample r (redrawing until every evaluable label has both classes) into `counts`.
  auto draw = [&](std::size_t r, std::vector<std::uint32_t>& counts) {
    std::mt19937_64 rng(mix(options.seed ^ mix(r)));
    std::vector<std::int64_t> failures(n_eval, 0);
    for (int attempt = 0; attempt < options.max_draws_per_resample; ++attempt) {
      std::fill(counts.begin(), counts.end(), 0u);
      for (std::size_t i = 0; i < n; ++i) ++counts[bounded(rng, n)];
      bool ok = true;
      for (const std::size_t e : plan.check_order) {
        if (!any_drawn(plan.rare_side[e], counts.data()) ||
            !any_drawn(plan.common_side[e], counts.data())) {
          ++failures[e];
          ok = false;
          break;
        }
      }
      if (ok) return;
      ++redraws[r];
    }
    const std::size_t worst = static_cast<std::size_t>(
        std::max_element(failures.begin(), failures.end()) - failures.begin());
    ECG_FAIL(
        "bootstrap: no resample of {} records with a positive and a negative of every evaluable "
        "label after {} draws (max_draws_per_resample); label '{}' has only {} record(s) of its "
        "rarer class; drop it or raise the limit",
        n, options.max_draws_per_resample, base.name(plan.evaluable[worst]),
        plan.rare_side[worst].size());
  };

  auto work = [&](std::size_t begin, std::size_t end) {
    std::vector<std::uint32_t> counts(n);
    for (std::size_t r = begin; r < end; ++r) {
      draw(r, counts);
      for (std::size_t m = 0; m < out.models; ++m) {
        for (std::size_t e = 0; e < n_eval; ++e) {
          const CurveMetrics c = weighted_curve(sorted[m][e], counts.data());
          out.auroc[out.index(r, m, e)] = c.auroc;
          out.auprc[out.index(r, m, e)] = c.auprc;
        }
      }
    }
  };

  const std::size_t threads =
      std::max<std::size_t>(1, std::min<std::size_t>(options.threads, resamples));
  if (threads == 1) {
    work(0, resamples);
  } else {
    std::vector<std::thread> pool;
    std::vector<std::exception_ptr> errors(threads);
    for (std::size_t t = 0; t < threads; ++t) {
      const std::size_t begin = resamples * t / threads, end = resamples * (t + 1) / threads;
      pool.emplace_back([&, t, begin, end] {
        try {
          work(begin, end);
        } catch (...) {
          errors[t] = std::current_exception();
        }
      });
    }
    for (auto& th : pool) th.join();
    for (auto& e : errors) {
      if (e) std::rethrow_exception(e);
    }
  }
  out.redraws = std::accumulate(redraws.begin(), redraws.end(), std::int64_t{0});
  return out;
}

Interval percentile_interval(std::vector<double> values, double confidence) {
  const double alpha = (1.0 - confidence) / 2.0;
  Interval ci;
  ci.lower = percentile_sorted_inplace(values, alpha);
  ci.upper = percentile_sorted_inplace(values, 1.0 - alpha);
  return ci;
}

constexpr Interval kNaNInterval{kNaN, kNaN};

void check_options(const BootstrapOptions& options) {
  ECG_CHECK(options.resamples >= 0, "bootstrap resamples must be >= 0, got {}", options.resamples);
  ECG_CHECK(options.confidence > 0 && options.confidence < 1,
            "bootstrap confidence must be in (0, 1), got {}", options.confidence);
  ECG_CHECK(options.max_draws_per_resample >= 1,
            "bootstrap max_draws_per_resample must be >= 1, got {}",
            options.max_draws_per_resample);
  ECG_CHECK(options.threads >= 1, "bootstrap threads must be >= 1, got {}", options.threads);
}

// Point estimates per label on the full records (unit weights).
std::vector<LabelMetrics> point_metrics(const LabelScores& data) {
  std::vector<LabelMetrics> out(data.labels);
  const std::vector<std::uint32_t> ones(data.records, 1u);
  for (std::size_t j = 0; j < data.labels; ++j) {
    LabelMetrics& m = out[j];
    m.name = data.name(j);
    for (std::size_t r = 0; r < data.records; ++r) {
      (data.targets[r * data.labels + j] > 0.5f ? m.positives : m.negatives) += 1;
    }
    m.evaluable = m.positives > 0 && m.negatives > 0;
    const CurveMetrics c = weighted_curve(sort_label(data, j), ones.data());
    m.auroc = m.evaluable ? c.auroc : kNaN;
    m.auprc = m.evaluable ? c.auprc : kNaN;
    m.auroc_ci = m.auprc_ci = kNaNInterval;
  }
  return out;
}

double macro(const std::vector<LabelMetrics>& labels, double LabelMetrics::*field) {
  double sum = 0;
  std::size_t count = 0;
  for (const auto& m : labels) {
    if (!m.evaluable) continue;
    sum += m.*field;
    ++count;
  }
  return count == 0 ? kNaN : sum / static_cast<double>(count);
}

// Macro average of model m in resample r.
double macro_sample(const BootstrapSamples& s, const std::vector<double>& values, std::size_t r,
                    std::size_t m) {
  double sum = 0;
  for (std::size_t e = 0; e < s.labels; ++e) sum += values[s.index(r, m, e)];
  return sum / static_cast<double>(s.labels);
}

nlohmann::json number(double v) {
  return std::isnan(v) ? nlohmann::json(nullptr) : nlohmann::json(v);
}
nlohmann::json interval(const Interval& ci) {
  if (!ci.exists()) return nullptr;
  return {number(ci.lower), number(ci.upper)};
}

// The paired difference of `estimate` whose resample values are diff_of(r): the macro average or
// one label. One definition of the CI and p-value for both.
template <class DiffOf>
PairedDifference paired_difference(const BootstrapSamples& s, const std::vector<double>& values,
                                   double estimate, double confidence, DiffOf diff_of) {
  PairedDifference d;
  d.estimate = estimate;
  const std::size_t resamples = values.size() / (s.models * std::max<std::size_t>(s.labels, 1));
  if (resamples == 0 || s.labels == 0) {
    d.ci = kNaNInterval;
    d.p_value = kNaN;
    return d;
  }
  std::vector<double> diffs(resamples);
  std::size_t le = 0, ge = 0;
  for (std::size_t r = 0; r < resamples; ++r) {
    diffs[r] = diff_of(r);
    le += diffs[r] <= 0;
    ge += diffs[r] >= 0;
  }
  d.p_value = std::min(1.0, 2.0 * static_cast<double>(std::min(le, ge)) / resamples);
  d.ci = percentile_interval(std::move(diffs), confidence);
  return d;
}

PairedDifference macro_difference(const BootstrapSamples& s, const std::vector<double>& values,
                                  double estimate, double confidence) {
  return paired_difference(s, values, estimate, confidence, [&](std::size_t r) {
    return macro_sample(s, values, r, 0) - macro_sample(s, values, r, 1);
  });
}

// Evaluable label number e (position in LabelPlan::evaluable).
PairedDifference label_difference(const BootstrapSamples& s, const std::vector<double>& values,
                                  std::size_t e, double estimate, double confidence) {
  return paired_difference(s, values, estimate, confidence, [&](std::size_t r) {
    return values[s.index(r, 0, e)] - values[s.index(r, 1, e)];
  });
}

constexpr PairedDifference kNoDifference{kNaN, kNaNInterval, kNaN};

}  // namespace

void LabelScores::validate() const {
  ECG_CHECK(records > 0 && labels > 0,
            "metrics: need at least one record and one label, got {} x {}", records, labels);
  ECG_CHECK(records < (std::size_t{1} << 30), "metrics: {} records exceed the 2^30 limit", records);
  ECG_CHECK(scores.size() == records * labels,
            "metrics: scores has {} values, expected records x labels = {} x {}", scores.size(),
            records, labels);
  ECG_CHECK(targets.size() == records * labels,
            "metrics: targets has {} values, expected records x labels = {} x {}", targets.size(),
            records, labels);
  ECG_CHECK(names.empty() || names.size() == labels, "metrics: {} label names for {} labels",
            names.size(), labels);
  for (std::size_t i = 0; i < scores.size(); ++i) {
    ECG_CHECK(std::isfinite(scores[i]), "metrics: score of record {} label '{}' is {}", i / labels,
              name(i % labels), scores[i]);
    ECG_CHECK(targets[i] == 0.0f || targets[i] == 1.0f,
              "metrics: target of record {} label '{}' is {}, expected 0 or 1", i / labels,
              name(i % labels), targets[i]);
  }
}

std::string format_with_ci(double value, const Interval& ci, int digits) {
  if (!ci.exists()) return fmt::format("{:.{}f} [CI n/a]", value, digits);
  return fmt::format("{:.{}f} [{:.{}f}, {:.{}f}]", value, digits, ci.lower, digits, ci.upper, digits);
}

std::string LabelScores::name(std::size_t label) const {
  return names.empty() ? "label_" + std::to_string(label) : names[label];
}

double roc_auc(const float* scores, const float* targets, std::size_t n, std::size_t stride) {
  LabelScores data;
  data.records = n;
  data.labels = 1;
  for (std::size_t i = 0; i < n; ++i) {
    data.scores.push_back(scores[i * stride]);
    data.targets.push_back(targets[i * stride]);
  }
  data.validate();
  return point_metrics(data)[0].auroc;
}

double average_precision(const float* scores, const float* targets, std::size_t n,
                         std::size_t stride) {
  LabelScores data;
  data.records = n;
  data.labels = 1;
  for (std::size_t i = 0; i < n; ++i) {
    data.scores.push_back(scores[i * stride]);
    data.targets.push_back(targets[i * stride]);
  }
  data.validate();
  return point_metrics(data)[0].auprc;
}

std::vector<std::pair<double, double>> weighted_label_metrics(
    const LabelScores& data, const std::vector<std::uint32_t>& weights) {
  data.validate();
  ECG_CHECK(weights.size() == data.records, "metrics: {} weights for {} records", weights.size(),
            data.records);
  std::vector<std::pair<double, double>> out;
  for (std::size_t j = 0; j < data.labels; ++j) {
    const CurveMetrics c = weighted_curve(sort_label(data, j), weights.data());
    out.emplace_back(c.auroc, c.auprc);
  }
  return out;
}

double percentile_sorted_inplace(std::vector<double>& values, double q) {
  ECG_CHECK(!values.empty(), "percentile of an empty sample");
  ECG_CHECK(q >= 0 && q <= 1, "percentile q must be in [0, 1], got {}", q);
  std::sort(values.begin(), values.end());
  const double pos = q * static_cast<double>(values.size() - 1);
  const std::size_t lo = static_cast<std::size_t>(std::floor(pos));
  const std::size_t hi = std::min(lo + 1, values.size() - 1);
  return values[lo] + (values[hi] - values[lo]) * (pos - static_cast<double>(lo));
}

MetricReport evaluate_metrics(const LabelScores& data, const BootstrapOptions& options) {
  data.validate();
  check_options(options);
  MetricReport report;
  report.records = data.records;
  report.labels = point_metrics(data);
  report.macro_auroc = macro(report.labels, &LabelMetrics::auroc);
  report.macro_auprc = macro(report.labels, &LabelMetrics::auprc);
  report.macro_auroc_ci = report.macro_auprc_ci = kNaNInterval;
  report.resamples = options.resamples;
  report.seed = options.seed;
  report.confidence = options.confidence;
  const LabelPlan plan = plan_labels(data, report.labels);
  report.evaluable_labels = plan.evaluable.size();
  if (options.resamples == 0 || plan.evaluable.empty()) return report;

  const BootstrapSamples s = run_bootstrap({&data}, plan, options);
  report.redraws = s.redraws;
  const std::size_t resamples = static_cast<std::size_t>(options.resamples);
  std::vector<double> column(resamples);
  for (std::size_t e = 0; e < plan.evaluable.size(); ++e) {
    LabelMetrics& m = report.labels[plan.evaluable[e]];
    for (std::size_t r = 0; r < resamples; ++r) column[r] = s.auroc[s.index(r, 0, e)];
    m.auroc_ci = percentile_interval(column, options.confidence);
    for (std::size_t r = 0; r < resamples; ++r) column[r] = s.auprc[s.index(r, 0, e)];
    m.auprc_ci = percentile_interval(column, options.confidence);
  }
  for (std::size_t r = 0; r < resamples; ++r) column[r] = macro_sample(s, s.auroc, r, 0);
  report.macro_auroc_ci = percentile_interval(column, options.confidence);
  for (std::size_t r = 0; r < resamples; ++r) column[r] = macro_sample(s, s.auprc, r, 0);
  report.macro_auprc_ci = percentile_interval(column, options.confidence);
  return report;
}

PairedReport paired_bootstrap(const LabelScores& a, const LabelScores& b,
                              const BootstrapOptions& options) {
  a.validate();
  b.validate();
  check_options(options);
  ECG_CHECK(a.records == b.records && a.labels == b.labels,
            "paired bootstrap: model A has {} x {} predictions, model B {} x {}", a.records,
            a.labels, b.records, b.labels);
  ECG_CHECK(a.targets == b.targets,
            "paired bootstrap: the two models' targets differ; both must score the same records");
  const std::vector<LabelMetrics> ma = point_metrics(a), mb = point_metrics(b);
  PairedReport report;
  report.records = a.records;
  report.macro_auroc_a = macro(ma, &LabelMetrics::auroc);
  report.macro_auroc_b = macro(mb, &LabelMetrics::auroc);
  report.macro_auprc_a = macro(ma, &LabelMetrics::auprc);
  report.macro_auprc_b = macro(mb, &LabelMetrics::auprc);
  report.resamples = options.resamples;
  report.seed = options.seed;
  report.confidence = options.confidence;
  const LabelPlan plan = plan_labels(a, ma);
  report.evaluable_labels = plan.evaluable.size();

  BootstrapSamples s;
  s.models = 2;
  s.labels = plan.evaluable.size();
  if (options.resamples > 0 && !plan.evaluable.empty()) s = run_bootstrap({&a, &b}, plan, options);
  report.redraws = s.redraws;
  report.auroc = macro_difference(s, s.auroc, report.macro_auroc_a - report.macro_auroc_b,
                                  options.confidence);
  report.auprc = macro_difference(s, s.auprc, report.macro_auprc_a - report.macro_auprc_b,
                                  options.confidence);
  // Per label, from the same resamples. A label outside the plan is not evaluable: no estimate.
  report.labels.resize(a.labels);
  for (std::size_t j = 0; j < a.labels; ++j) {
    report.labels[j].name = a.name(j);
    report.labels[j].auroc = report.labels[j].auprc = kNoDifference;
  }
  for (std::size_t e = 0; e < plan.evaluable.size(); ++e) {
    const std::size_t j = plan.evaluable[e];
    LabelDifference& d = report.labels[j];
    d.evaluable = true;
    d.auroc = label_difference(s, s.auroc, e, ma[j].auroc - mb[j].auroc, options.confidence);
    d.auprc = label_difference(s, s.auprc, e, ma[j].auprc - mb[j].auprc, options.confidence);
  }
  return report;
}

SeedPooledReport seed_pooled_bootstrap(const std::vector<LabelScores>& a, const std::vector<LabelScores>& b,
                                       const BootstrapOptions& options) {
  ECG_CHECK(!a.empty(), "seed-pooled bootstrap: no model given");
  ECG_CHECK(b.empty() || b.size() == a.size(), "seed-pooled bootstrap: {} models of A but {} of B (paired by seed)",
            a.size(), b.size());
  check_options(options);
  std::vector<const LabelScores*> models;
  for (const auto& m : a) models.push_back(&m);
  for (const auto& m : b) models.push_back(&m);
  for (const LabelScores* m : models) {
    m->validate();
    ECG_CHECK(m->records == a[0].records && m->labels == a[0].labels,
              "seed-pooled bootstrap: models have {} x {} and {} x {} predictions", a[0].records, a[0].labels,
              m->records, m->labels);
    ECG_CHECK(m->targets == a[0].targets,
              "seed-pooled bootstrap: the models' targets differ; all seeds must score the same test records");
  }
  const std::size_t seeds = a.size();
  const bool paired = !b.empty();
  std::vector<std::vector<LabelMetrics>> points;
  for (const LabelScores* m : models) points.push_back(point_metrics(*m));
  auto seed_mean = [&](std::size_t first, double LabelMetrics::*field) {
    double sum = 0;
    for (std::size_t s = 0; s < seeds; ++s) sum += macro(points[first + s], field);
    return sum / static_cast<double>(seeds);
  };
  SeedPooledReport report;
  report.records = a[0].records;
  report.seeds = seeds;
  report.macro_auroc_a = seed_mean(0, &LabelMetrics::auroc);
  report.macro_auprc_a = seed_mean(0, &LabelMetrics::auprc);
  report.macro_auroc_b = paired ? seed_mean(seeds, &LabelMetrics::auroc) : kNaN;
  report.macro_auprc_b = paired ? seed_mean(seeds, &LabelMetrics::auprc) : kNaN;
  report.macro_auroc_a_ci = report.macro_auprc_a_ci = kNaNInterval;
  report.auroc = report.auprc = kNoDifference;
  if (paired) {
    report.auroc.estimate = report.macro_auroc_a - report.macro_auroc_b;
    report.auprc.estimate = report.macro_auprc_a - report.macro_auprc_b;
  }
  report.resamples = options.resamples;
  report.seed = options.seed;
  report.confidence = options.confidence;
  const LabelPlan plan = plan_labels(a[0], points[0]);
  report.evaluable_labels = plan.evaluable.size();
  if (options.resamples == 0 || plan.evaluable.empty()) return report;

  const BootstrapSamples s = run_bootstrap(models, plan, options);
  report.redraws = s.redraws;
  const std::size_t resamples = static_cast<std::size_t>(options.resamples);
  // The seed-mean macro of the models [first, first + seeds) in resample r.
  auto sample_mean = [&](const std::vector<double>& values, std::size_t r, std::size_t first) {
    double sum = 0;
    for (std::size_t m = first; m < first + seeds; ++m) sum += macro_sample(s, values, r, m);
    return sum / static_cast<double>(seeds);
  };
  std::vector<double> column(resamples);
  for (std::size_t r = 0; r < resamples; ++r) column[r] = sample_mean(s.auroc, r, 0);
  report.macro_auroc_a_ci = percentile_interval(column, options.confidence);
  for (std::size_t r = 0; r < resamples; ++r) column[r] = sample_mean(s.auprc, r, 0);
  report.macro_auprc_a_ci = percentile_interval(column, options.confidence);
  if (paired) {
    report.auroc = paired_difference(s, s.auroc, report.auroc.estimate, options.confidence, [&](std::size_t r) {
      return sample_mean(s.auroc, r, 0) - sample_mean(s.auroc, r, seeds);
    });
    report.auprc = paired_difference(s, s.auprc, report.auprc.estimate, options.confidence, [&](std::size_t r) {
      return sample_mean(s.auprc, r, 0) - sample_mean(s.auprc, r, seeds);
    });
  }
  return report;
}

nlohmann::json to_json(const MetricReport& report) {
  nlohmann::json labels = nlohmann::json::array();
  for (const auto& m : report.labels) {
    labels.push_back({{"name", m.name},
                      {"positives", m.positives},
                      {"negatives", m.negatives},
                      {"evaluable", m.evaluable},
                      {"auroc", number(m.auroc)},
                      {"auroc_ci", interval(m.auroc_ci)},
                      {"auprc", number(m.auprc)},
                      {"auprc_ci", interval(m.auprc_ci)}});
  }
  return {{"records", report.records},
          {"evaluable_labels", report.evaluable_labels},
          {"macro_auroc", number(report.macro_auroc)},
          {"macro_auroc_ci", interval(report.macro_auroc_ci)},
          {"macro_auprc", number(report.macro_auprc)},
          {"macro_auprc_ci", interval(report.macro_auprc_ci)},
          {"bootstrap",
           {{"resamples", report.resamples},
            {"seed", report.seed},
            {"confidence", report.confidence},
            {"method", "percentile"},
            {"redraws", report.redraws}}},
          {"labels", labels}};
}

nlohmann::json to_json(const PairedReport& report) {
  auto diff = [](const PairedDifference& d) {
    return nlohmann::json{
        {"estimate", number(d.estimate)}, {"ci", interval(d.ci)}, {"p_value", number(d.p_value)}};
  };
  nlohmann::json per_label = nlohmann::json::array();
  for (const auto& d : report.labels) {
    per_label.push_back({{"label", d.name},
                         {"evaluable", d.evaluable},
                         {"auroc", diff(d.auroc)},
                         {"auprc", diff(d.auprc)}});
  }
  return {{"records", report.records},
          {"evaluable_labels", report.evaluable_labels},
          {"macro_auroc_a", number(report.macro_auroc_a)},
          {"macro_auroc_b", number(report.macro_auroc_b)},
          {"macro_auprc_a", number(report.macro_auprc_a)},
          {"macro_auprc_b", number(report.macro_auprc_b)},
          {"auroc_difference", diff(report.auroc)},
          {"auprc_difference", diff(report.auprc)},
          {"per_label", per_label},
          {"bootstrap",
           {{"resamples", report.resamples},
            {"seed", report.seed},
            {"confidence", report.confidence},
            {"method", "paired percentile"},
            {"redraws", report.redraws}}}};
}

}  // namespace ecg::eval
