// The report's results table (task x variant x fraction: test macro AUROC / AUPRC and the gain
// over fine-tune) in its three forms: table.csv (every number), table.md and the HTML page's
// table. Single seed: the run's bootstrap CI; several: the mean and "± sd over n seeds". Beside
// each metric, the PAIRED difference against fine-tune (paired_cells.h): seed-mean of the per-seed
// difference with the seed-pooled paired bootstrap CI.
#pragma once

#include <string>
#include <vector>

#include "experiments/report/report_data.h"

namespace ecg::report {

// "0.8123 [0.7912, 0.8350]" for one seed, "0.8123 ± 0.0040 (sd, 3 seeds)" for several.
std::string format_cell(const CellMetric& metric);
// "+1.23 %", "-0.50 %", "baseline" for fine-tune, "n/a" without a baseline.
std::string format_gain(double gain_pct, bool is_baseline);

// "+0.0123 [+0.0040, +0.0210]" (", 3 paired seeds" appended for several), "baseline" for fine-tune,
// "n/a" without one.
std::string format_difference(const Difference& d, int paired_seeds, bool is_baseline);
// The table's caption: what each column is and which comparison is paired.
std::string table_caption(int resamples);

std::string table_csv(const std::vector<TableRow>& rows);
// Ends with table_caption.
std::string table_markdown(const std::vector<TableRow>& rows, int resamples);
std::string table_html(const std::vector<TableRow>& rows);

}  // namespace ecg::report
