// Each of `ecgdist report`'s figures as files in the output folder: `<base>.csv` (the plotted
// numbers), `<base>.gp` (the gnuplot script that plots that CSV, kept so that a user can restyle
// or re-plot it with `gnuplot <base>.gp` in the folder) and `<base>.png` / `<base>.svg`. Every
// file is written atomically; the images by gnuplot into temp names, renamed once it succeeded.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "experiments/report/report_data.h"

namespace ecg::report {

struct PlotContext {
  std::string out_dir;
  std::string gnuplot = "gnuplot";  // program name or path (experiments/report/gnuplot.h)
};

// A written figure, as the HTML page shows it.
struct Figure {
  std::string base;     // file name without extension, e.g. "fig2_per_label_superdiagnostic"
  std::string title;    // one line
  std::string caption;  // what is plotted and how (runs, seeds, fraction, resamples)
};

// File names are "fig<N>_<what>_" + file_stem(task) (experiments/report/plot_text.h): a task name is text
// from a run's results.json, never a file name or script text by itself.

// Figure 2: per-label paired differences post-train - fine-tune (AUROC and AUPRC panels).
Figure figure_per_label(const PlotContext& ctx, const std::string& task, const RunPair& pair,
                        const std::vector<LabelDifferenceRow>& rows, int resamples, uint64_t bootstrap_seed);
// Figure 3: validation macro AUROC / AUPRC per epoch of the pair's two runs.
Figure figure_validation(const PlotContext& ctx, const std::string& task, const RunPair& pair,
                         const std::vector<ValidationCurve>& curves);
// Figure 4: test macro metrics against the training fraction; `baseline` is fine-tune at 100 %.
// The points' lower/upper are the band: the seed-pooled bootstrap CI of the seed-mean
// (paired_cells.h attach_pooled_bands), from `resamples` resamples.
Figure figure_data_efficiency(const PlotContext& ctx, const std::string& task,
                              const std::vector<EfficiencyPoint>& points, const CellMetric& baseline_auroc,
                              const CellMetric& baseline_auprc, int resamples);
// Figure 4's differences: each variant's paired Δ macro AUROC / AUPRC vs fine-tune against the
// training fraction, with the seed-pooled paired bootstrap CI and a zero line.
Figure figure_data_efficiency_differences(const PlotContext& ctx, const std::string& task,
                                          const std::vector<DifferencePoint>& points, int resamples,
                                          uint64_t bootstrap_seed);
// Figure 5: validation metrics at the best epoch of post-train and its ablations.
Figure figure_ablation(const PlotContext& ctx, const std::string& task, double fraction,
                       const std::vector<AblationBar>& bars);

// A CSV text field, quoted (RFC 4180) when it holds a comma, a quote or a line break.
std::string csv_text(const std::string& s);

// A CSV cell: fixed `digits` after the point, empty for NaN (gnuplot and spreadsheets read an
// empty cell as missing).
std::string csv_number(double value, int digits = 6);

}  // namespace ecg::report
