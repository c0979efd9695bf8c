// The numbers behind `ecgdist report`'s table and figures, gathered from the catalogued runs
// (eval/run_catalog.h) into plain structs: no files written, no plotting, so that each figure's
// arithmetic (means over seeds, relative gains, the best epoch's validation values) is tested
// on hand-made runs. figures.h turns these into CSVs and gnuplot scripts.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "eval/run_catalog.h"

namespace ecg::report {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Training fractions are written as doubles (0.1, 1.0); two runs share a cell when they agree
// to far below the sweep's 10 % steps.
bool same_fraction(double a, double b);

// The tasks present, sorted.
std::vector<std::string> tasks_of(const std::vector<eval::CatalogRun>& runs);
// The runs of one cell of the grid, by seed (find_runs' order).
std::vector<const eval::CatalogRun*> select_runs(const std::vector<eval::CatalogRun>& runs, const std::string& task,
                                                 eval::Variant variant, double fraction);
// The training fractions present for (task, variant), ascending.
std::vector<double> fractions_of(const std::vector<eval::CatalogRun>& runs, const std::string& task,
                                 eval::Variant variant);

// One test metric of a cell over its seeds.
struct CellMetric {
  int seeds = 0;
  double mean = kNaN;
  // The run's bootstrap CI (results.json) for one seed; NaN for several (a mean of the seeds'
  // bounds would be neither a CI of the mean nor the seed spread: Figure 4's band comes from
  // paired_cells.h's pooled bootstrap instead) and when the run has no CI (--bootstrap 0).
  double lower = kNaN;
  double upper = kNaN;
  double sd = kNaN;  // sample standard deviation over seeds (n - 1); NaN for one seed
  double min = kNaN;
  double max = kNaN;
};

// `metric` is "macro_auroc" or "macro_auprc" of results.json's test block.
CellMetric test_metric(const std::vector<const eval::CatalogRun*>& runs, const std::string& metric);

// A paired difference (variant - fine-tune) with its bootstrap CI and two-sided p-value; NaN
// when not computed.
struct Difference {
  double estimate = kNaN, lower = kNaN, upper = kNaN, p = kNaN;
};

// One row of the results table: a task x variant x fraction cell.
struct TableRow {
  std::string task;
  eval::Variant variant = eval::Variant::fine_tune;
  double fraction = 1.0;
  CellMetric auroc;
  CellMetric auprc;
  // (mean - baseline) / baseline * 100 against fine-tune of the same task and fraction; NaN when
  // there is no such baseline (and for the baseline itself, which the table marks as such).
  double auroc_gain_pct = kNaN;
  double auprc_gain_pct = kNaN;
  // Paired differences against fine-tune of the same task and fraction, over the `paired_seeds`
  // seeds both have (paired_cells.h): the seed-mean of the per-seed difference with the
  // seed-pooled paired bootstrap CI. NaN / 0 for fine-tune itself and without a baseline.
  int paired_seeds = 0;
  Difference d_auroc;
  Difference d_auprc;
};
// Sorted by task, fraction (largest first: the paper's headline is 100 %), then variant.
std::vector<TableRow> table_rows(const std::vector<eval::CatalogRun>& runs);
// (value - base) / base * 100; NaN when either is NaN or base is 0.
double relative_gain_pct(double value, double base);

// Figures 2 and 3 compare one post-train run with one fine-tune run: the largest fraction both
// have, and there the lowest seed both have.
struct RunPair {
  const eval::CatalogRun* post_train = nullptr;
  const eval::CatalogRun* fine_tune = nullptr;
  double fraction = 1.0;
  uint64_t seed = 0;
};
std::optional<RunPair> pick_pair(const std::vector<eval::CatalogRun>& runs, const std::string& task);

// Figure 2: one label's paired difference post-train - fine-tune.
struct LabelDifferenceRow {
  std::string label;
  bool evaluable = false;
  double auroc = kNaN, auroc_lower = kNaN, auroc_upper = kNaN, auroc_p = kNaN;
  double auprc = kNaN, auprc_lower = kNaN, auprc_upper = kNaN, auprc_p = kNaN;
};
// From eval::compare_runs' JSON for the runs {fine-tune, post-train} (baseline first): the
// second run's vs_baseline.per_label.
std::vector<LabelDifferenceRow> label_differences(const nlohmann::json& comparison);

// history.csv (docs/outputs.md). Errors name the file and the row.
struct HistoryPoint {
  int epoch = 0;
  int stage = 0;
  double val_auroc = kNaN;
  double val_auprc = kNaN;
};
std::vector<HistoryPoint> read_history(const std::string& run_dir);

// Figure 3: a run's validation curve on the fine-tuning epoch axis.
struct CurvePoint {
  int x = 0;  // stage-2 epoch; stage-1 (linear probing) epochs lead up to it as 1 - n .. 0
  int stage = 0;
  int epoch = 0;
  double auroc = kNaN;
  double auprc = kNaN;
  bool best = false;  // the epoch whose model was tested (results.json best_stage/best_epoch)
};
struct ValidationCurve {
  eval::Variant variant = eval::Variant::fine_tune;
  std::string dir;
  std::vector<CurvePoint> points;
  std::optional<int> early_stop_epoch;  // results.json early_stop_epoch (stage 2), when present
};
ValidationCurve validation_curve(const eval::CatalogRun& run);

// The validation macro AUROC / AUPRC of the run's tested model: history.csv's row at
// results.json best_stage / best_epoch. Errors name the file lacking the row or field.
HistoryPoint best_validation(const eval::CatalogRun& run);

// Figure 4: test metrics of one variant at one fraction, over seeds.
struct EfficiencyPoint {
  eval::Variant variant = eval::Variant::fine_tune;
  double fraction = 1.0;
  CellMetric auroc;
  CellMetric auprc;
};
// post-train and fine-tune at every fraction each has.
std::vector<EfficiencyPoint> efficiency_points(const std::vector<eval::CatalogRun>& runs, const std::string& task);

// Figure 4's second figure: a variant's paired difference against fine-tune at one fraction.
struct DifferencePoint {
  eval::Variant variant = eval::Variant::post_train;
  double fraction = 1.0;
  int paired_seeds = 0;
  Difference d_auroc;
  Difference d_auprc;
};

// Figure 5: validation metrics at the best epoch, over seeds.
struct AblationBar {
  eval::Variant variant = eval::Variant::fine_tune;
  int seeds = 0;
  double auroc_mean = kNaN, auroc_min = kNaN, auroc_max = kNaN;
  double auprc_mean = kNaN, auprc_min = kNaN, auprc_max = kNaN;
  double auroc_sd = kNaN, auprc_sd = kNaN;  // sample sd over seeds (n - 1); NaN for one seed
};
// post-train, w/o SD, w/o LP, fine-tune (those present) at `fraction`.
std::vector<AblationBar> ablation_bars(const std::vector<eval::CatalogRun>& runs, const std::string& task,
                                       double fraction);

}  // namespace ecg::report
