// The report's paired numbers: each cell (task x variant x fraction) against fine-tune of the
// same task and fraction, from the runs' test_predictions.csv and the data file's test labels,
// with eval::seed_pooled_bootstrap. With several seeds a cell's runs are paired with fine-tune's
// by seed; the point estimate is the mean over those seeds of the paired difference, and the CI
// comes from one bootstrap over the shared test records applied to every seed's pair (the seeds
// share the test fold). Figure 4's band is the same bootstrap of a cell's seed-mean metric.
#pragma once

#include <string>
#include <vector>

#include "eval/metrics.h"
#include "eval/run_catalog.h"
#include "experiments/report/report_data.h"

namespace ecg::report {

struct PairedCell {
  eval::Variant variant = eval::Variant::fine_tune;
  double fraction = 1.0;
  // The cell over all its seeds: seed-mean macro metrics with the pooled bootstrap CI.
  eval::SeedPooledReport alone;
  // vs fine-tune (same task and fraction) over the seeds both have; paired_seeds == 0 when there
  // is no such pair (and for fine-tune itself).
  int paired_seeds = 0;
  eval::SeedPooledReport vs_fine_tune;
};

struct PairedCells {
  std::vector<PairedCell> cells;
  std::string note;  // why there are none (the data file has no labels for the task), else empty
};

// Every cell of `task`. `data` is the HDF5 file with the test labels (report --data, else the
// runs' settings.data). Throws, naming the run and file, when the runs of the task did not score
// the same test records (eval::check_comparable) or were tested on other labels.
PairedCells paired_cells(const std::vector<eval::CatalogRun>& runs, const std::string& task, const std::string& data,
                         const eval::BootstrapOptions& options);

// The cell of (variant, fraction), or nullptr.
const PairedCell* find_cell(const PairedCells& cells, eval::Variant variant, double fraction);

// Fills the rows of `task` with their paired differences vs fine-tune (TableRow::d_auroc ...).
void attach_differences(std::vector<TableRow>& rows, const std::string& task, const PairedCells& cells);
// Sets each point's band (CellMetric lower/upper) to the pooled bootstrap CI of its seed-mean.
void attach_pooled_bands(std::vector<EfficiencyPoint>& points, const PairedCells& cells);
// Every variant but fine-tune at every fraction where it has a seed in common with fine-tune,
// by variant then fraction.
std::vector<DifferencePoint> difference_points(const PairedCells& cells);

}  // namespace ecg::report
