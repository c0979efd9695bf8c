#include "experiments/report/report_data.h"

#include <algorithm>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>

#include "common/error.h"
#include "common/json_integer.h"
#include "data/formats/csv_table.h"
#include "eval/run_files.h"

namespace ecg::report {
namespace {

using eval::CatalogRun;
using eval::Variant;

std::string results_file(const CatalogRun& run) { return run.dir + "/results.json"; }

// A number of the JSON, NaN for null or absent (results.json writes non-finite values as null).
double number_or_nan(const nlohmann::json& object, const char* field) {
  if (!object.is_object() || !object.contains(field) || !object.at(field).is_number()) return kNaN;
  return object.at(field).get<double>();
}

std::pair<double, double> interval_or_nan(const nlohmann::json& object, const std::string& field) {
  if (!object.is_object() || !object.contains(field)) return {kNaN, kNaN};
  const auto& ci = object.at(field);
  if (!ci.is_array() || ci.size() != 2 || !ci[0].is_number() || !ci[1].is_number()) return {kNaN, kNaN};
  return {ci[0].get<double>(), ci[1].get<double>()};
}

double mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? kNaN : s / static_cast<double>(v.size());
}

// Sample standard deviation (n - 1); NaN below two values.
double sample_sd(const std::vector<double>& v) {
  if (v.size() < 2) return kNaN;
  const double m = mean(v);
  double ss = 0;
  for (double x : v) ss += (x - m) * (x - m);
  return std::sqrt(ss / static_cast<double>(v.size() - 1));
}

int int_field(const nlohmann::json& results, const char* field, const std::string& file) {
  const std::optional<int64_t> v =
      results.contains(field) ? json_integer_in(results.at(field), 0, std::numeric_limits<int>::max()) : std::nullopt;
  ECG_CHECK(v.has_value(), "{}: '{}' missing or not an integer in [0, {}]", file, field, std::numeric_limits<int>::max());
  return static_cast<int>(*v);
}

}  // namespace

bool same_fraction(double a, double b) { return std::fabs(a - b) < 1e-6; }

std::vector<std::string> tasks_of(const std::vector<CatalogRun>& runs) {
  std::set<std::string> tasks;
  for (const auto& r : runs) tasks.insert(r.task);
  return {tasks.begin(), tasks.end()};
}

std::vector<const CatalogRun*> select_runs(const std::vector<CatalogRun>& runs, const std::string& task,
                                           Variant variant, double fraction) {
  std::vector<const CatalogRun*> out;
  for (const auto& r : runs)
    if (r.task == task && r.variant == variant && same_fraction(r.fraction, fraction)) out.push_back(&r);
  return out;
}

std::vector<double> fractions_of(const std::vector<CatalogRun>& runs, const std::string& task, Variant variant) {
  std::vector<double> out;
  for (const auto& r : runs) {
    if (r.task != task || r.variant != variant) continue;
    if (std::none_of(out.begin(), out.end(), [&](double f) { return same_fraction(f, r.fraction); }))
      out.push_back(r.fraction);
  }
  std::sort(out.begin(), out.end());
  return out;
}

CellMetric test_metric(const std::vector<const CatalogRun*>& runs, const std::string& metric) {
  CellMetric m;
  std::vector<double> values, lowers, uppers;
  for (const CatalogRun* r : runs) {
    const nlohmann::json test = r->results.value("test", nlohmann::json::object());
    values.push_back(number_or_nan(test, metric.c_str()));
    const auto ci = interval_or_nan(test, metric + "_ci");
    lowers.push_back(ci.first);
    uppers.push_back(ci.second);
  }
  m.seeds = static_cast<int>(runs.size());
  if (values.empty()) return m;
  m.mean = mean(values);
  if (values.size() == 1) {
    m.lower = lowers[0];
    m.upper = uppers[0];
  }
  m.min = *std::min_element(values.begin(), values.end());
  m.max = *std::max_element(values.begin(), values.end());
  m.sd = sample_sd(values);
  return m;
}

double relative_gain_pct(double value, double base) {
  if (std::isnan(value) || std::isnan(base) || base == 0) return kNaN;
  return (value - base) / base * 100.0;
}

std::vector<TableRow> table_rows(const std::vector<CatalogRun>& runs) {
  constexpr Variant kOrder[] = {Variant::fine_tune, Variant::post_train, Variant::wo_sd, Variant::wo_lp,
                                Variant::linear_probe};
  std::vector<TableRow> rows;
  for (const std::string& task : tasks_of(runs)) {
    std::vector<double> fractions;
    for (Variant v : kOrder)
      for (double f : fractions_of(runs, task, v))
        if (std::none_of(fractions.begin(), fractions.end(), [&](double g) { return same_fraction(f, g); }))
          fractions.push_back(f);
    std::sort(fractions.rbegin(), fractions.rend());
    for (double f : fractions) {
      const auto base_runs = select_runs(runs, task, Variant::fine_tune, f);
      const CellMetric base_auroc = test_metric(base_runs, "macro_auroc");
      const CellMetric base_auprc = test_metric(base_runs, "macro_auprc");
      for (Variant v : kOrder) {
        const auto cell = select_runs(runs, task, v, f);
        if (cell.empty()) continue;
        TableRow row;
        row.task = task;
        row.variant = v;
        row.fraction = f;
        row.auroc = test_metric(cell, "macro_auroc");
        row.auprc = test_metric(cell, "macro_auprc");
        if (v != Variant::fine_tune) {
          row.auroc_gain_pct = relative_gain_pct(row.auroc.mean, base_auroc.mean);
          row.auprc_gain_pct = relative_gain_pct(row.auprc.mean, base_auprc.mean);
        }
        rows.push_back(row);
      }
    }
  }
  return rows;
}

std::optional<RunPair> pick_pair(const std::vector<CatalogRun>& runs, const std::string& task) {
  const auto post = fractions_of(runs, task, Variant::post_train);
  const auto fine = fractions_of(runs, task, Variant::fine_tune);
  for (auto f = post.rbegin(); f != post.rend(); ++f) {
    if (std::none_of(fine.begin(), fine.end(), [&](double g) { return same_fraction(*f, g); })) continue;
    const auto p = select_runs(runs, task, Variant::post_train, *f);
    const auto b = select_runs(runs, task, Variant::fine_tune, *f);
    for (const CatalogRun* pr : p)  // by seed, ascending
      for (const CatalogRun* br : b)
        if (pr->seed == br->seed) return RunPair{pr, br, *f, pr->seed};
  }
  return std::nullopt;
}

std::vector<LabelDifferenceRow> label_differences(const nlohmann::json& comparison) {
  const auto& runs = comparison.at("runs");
  ECG_CHECK(runs.size() == 2 && runs[1].contains("vs_baseline"), "report: a comparison of two runs was expected");
  std::vector<LabelDifferenceRow> rows;
  for (const auto& l : runs[1].at("vs_baseline").at("per_label")) {
    LabelDifferenceRow row;
    row.label = l.at("label").get<std::string>();
    row.evaluable = l.value("evaluable", false);
    auto fill = [&](const char* key, double& est, double& lo, double& hi, double& p) {
      const auto& d = l.value(key, nlohmann::json::object());
      est = number_or_nan(d, "estimate");
      std::tie(lo, hi) = interval_or_nan(d, "ci");
      p = number_or_nan(d, "p_value");
    };
    fill("auroc", row.auroc, row.auroc_lower, row.auroc_upper, row.auroc_p);
    fill("auprc", row.auprc, row.auprc_lower, row.auprc_upper, row.auprc_p);
    rows.push_back(row);
  }
  return rows;
}

std::vector<HistoryPoint> read_history(const std::string& run_dir) {
  const std::string path = run_dir + "/history.csv";
  const data::CsvRows rows = data::parse_csv(eval::read_run_file(run_dir, eval::RunFile::history_csv), path);
  ECG_CHECK(!rows.empty(), "{}: empty (expected a header row)", path);
  const auto& header = rows.front();
  auto column = [&](const char* name) {
    auto it = std::find(header.begin(), header.end(), name);
    ECG_CHECK(it != header.end(), "{}: no '{}' column", path, name);
    return static_cast<size_t>(it - header.begin());
  };
  const size_t epoch = column("epoch"), stage = column("stage"), auroc = column("val_macro_auroc"),
               auprc = column("val_macro_auprc");
  auto number = [&](size_t row, size_t col) {
    const std::string& cell = rows[row].at(col);
    if (cell.empty() || cell == "nan" || cell == "null") return kNaN;
    try {
      size_t used = 0;
      const double v = std::stod(cell, &used);
      if (used == cell.size()) return v;
    } catch (const std::exception&) {
    }
    ECG_FAIL("{}: row {} column {}: '{}' is not a number", path, row + 1, header[col], data::cell_excerpt(cell));
  };
  std::vector<HistoryPoint> out;
  for (size_t i = 1; i < rows.size(); ++i) {
    if (rows[i].size() == 1 && rows[i][0].empty()) continue;
    ECG_CHECK(rows[i].size() == header.size(), "{}: row {} has {} fields, the header {}", path, i + 1,
              rows[i].size(), header.size());
    HistoryPoint p;
    p.epoch = static_cast<int>(number(i, epoch));
    p.stage = static_cast<int>(number(i, stage));
    p.val_auroc = number(i, auroc);
    p.val_auprc = number(i, auprc);
    out.push_back(p);
  }
  return out;
}

HistoryPoint best_validation(const CatalogRun& run) {
  const int stage = int_field(run.results, "best_stage", results_file(run));
  const int epoch = int_field(run.results, "best_epoch", results_file(run));
  for (const HistoryPoint& p : read_history(run.dir))
    if (p.stage == stage && p.epoch == epoch) return p;
  ECG_FAIL("{}/history.csv: no row for results.json's best_stage {} best_epoch {}", run.dir, stage, epoch);
}

ValidationCurve validation_curve(const CatalogRun& run) {
  ValidationCurve curve;
  curve.variant = run.variant;
  curve.dir = run.dir;
  const auto history = read_history(run.dir);
  const int best_stage = int_field(run.results, "best_stage", results_file(run));
  const int best_epoch = int_field(run.results, "best_epoch", results_file(run));
  int lp_epochs = 0;
  for (const auto& p : history)
    if (p.stage == 1) lp_epochs = std::max(lp_epochs, p.epoch);
  for (const auto& p : history) {
    CurvePoint c;
    c.stage = p.stage;
    c.epoch = p.epoch;
    // Linear probing leads up to fine-tuning: its last epoch is 0, fine-tuning starts at 1.
    c.x = p.stage == 1 ? p.epoch - lp_epochs : p.epoch;
    c.auroc = p.val_auroc;
    c.auprc = p.val_auprc;
    c.best = p.stage == best_stage && p.epoch == best_epoch;
    curve.points.push_back(c);
  }
  if (run.results.contains("early_stop_epoch")) {
    if (auto e = json_integer_in(run.results.at("early_stop_epoch"), 0, std::numeric_limits<int>::max())) curve.early_stop_epoch = static_cast<int>(*e);
  }
  return curve;
}

std::vector<EfficiencyPoint> efficiency_points(const std::vector<CatalogRun>& runs, const std::string& task) {
  std::vector<EfficiencyPoint> out;
  for (Variant v : {Variant::post_train, Variant::fine_tune}) {
    for (double f : fractions_of(runs, task, v)) {
      const auto cell = select_runs(runs, task, v, f);
      out.push_back({v, f, test_metric(cell, "macro_auroc"), test_metric(cell, "macro_auprc")});
    }
  }
  return out;
}

std::vector<AblationBar> ablation_bars(const std::vector<CatalogRun>& runs, const std::string& task,
                                       double fraction) {
  std::vector<AblationBar> out;
  for (Variant v : {Variant::post_train, Variant::wo_sd, Variant::wo_lp, Variant::fine_tune}) {
    const auto cell = select_runs(runs, task, v, fraction);
    if (cell.empty()) continue;
    std::vector<double> auroc, auprc;
    for (const CatalogRun* r : cell) {
      const HistoryPoint best = best_validation(*r);
      auroc.push_back(best.val_auroc);
      auprc.push_back(best.val_auprc);
    }
    AblationBar bar;
    bar.variant = v;
    bar.seeds = static_cast<int>(cell.size());
    bar.auroc_mean = mean(auroc);
    bar.auroc_min = *std::min_element(auroc.begin(), auroc.end());
    bar.auroc_max = *std::max_element(auroc.begin(), auroc.end());
    bar.auprc_mean = mean(auprc);
    bar.auprc_min = *std::min_element(auprc.begin(), auprc.end());
    bar.auprc_max = *std::max_element(auprc.begin(), auprc.end());
    bar.auroc_sd = sample_sd(auroc);
    bar.auprc_sd = sample_sd(auprc);
    out.push_back(bar);
  }
  return out;
}

}  // namespace ecg::report
