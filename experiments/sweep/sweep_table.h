// A sweep's cells collected into one table: sweep.csv in the sweep's folder (one row per cell:
// settings, status, test and validation metrics) and a Markdown summary for the terminal.
// `ecgdist report SWEEP` then draws the paper's figures from the same cell folders.
#pragma once

#include <string>
#include <vector>

#include "experiments/sweep/sweep_grid.h"

namespace ecg::sweep {

enum class CellStatus { pending, started, done };
const char* cell_status_name(CellStatus status);

struct CellRow {
  const SweepCell* cell = nullptr;
  CellStatus status = CellStatus::pending;
  nlohmann::json results;  // results.json when done
};

// started: the folder has a train.log or checkpoints but no results.json (running, failed or
// interrupted: train.log says which). An unreadable results.json throws, naming it.
std::vector<CellRow> collect_cells(const std::vector<SweepCell>& cells);

// The CSV columns: index,task,variant,fraction,seed,status,dir,test_macro_auroc,
// test_macro_auroc_ci_low,test_macro_auroc_ci_high,test_macro_auprc,test_macro_auprc_ci_low,
// test_macro_auprc_ci_high,best_val_macro_auroc,best_epoch,early_stop_epoch,epochs_run,
// train_seconds (empty where unknown).
std::string cells_csv(const std::vector<CellRow>& rows);

// Test macro AUROC (mean over the finished seeds) by task x fraction (rows) and variant
// (columns), and how many cells are done.
std::string cells_markdown(const SweepGrid& grid, const std::vector<CellRow>& rows);

}  // namespace ecg::sweep
