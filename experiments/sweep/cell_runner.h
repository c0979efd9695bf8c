// Runs a sweep's cells on this machine: each cell is one `ecgdist train` child process (under
// mpirun when the grid asks for more than one rank), several at a time within the cores, its
// output in <cell>/train.log. A finished cell (results.json) is skipped, an interrupted one
// resumes from its newest checkpoint (--resume auto), so running the sweep again completes it.
#pragma once

#include <string>
#include <vector>

#include "experiments/sweep/sweep_grid.h"

namespace ecg::sweep {

// What <cell>/sweep_cell.json records: the grid file, the cell's place in the grid and its train
// arguments. slurm/ecgdist-sweep.sbatch and the local runner both write it before training.
nlohmann::json cell_record(const SweepGrid& grid, const SweepCell& cell);

// Creates the cell's folder and writes sweep_cell.json (atomically). A folder that already holds
// a sweep_cell.json with other train arguments (the grid was edited since) is refused, naming
// it: its results would be reported as the new grid's.
void prepare_cell(const SweepGrid& grid, const SweepCell& cell);

// results.json is written last and atomically by `ecgdist train`: its presence means done.
bool cell_finished(const SweepCell& cell);

struct RunOptions {
  std::string ecgdist;          // the binary that trains a cell (`ecgdist sweep` passes itself)
  std::string mpirun = "mpirun";
  int jobs = 0;                 // cells at a time; 0 = cores / (ranks x threads), at least 1
  std::vector<std::string> launcher_args;  // added to every cell's command (e.g. --progress off)
};

// The cell's full command line (argv) as the local runner starts it.
std::vector<std::string> cell_command(const SweepGrid& grid, const SweepCell& cell, const RunOptions& options);

struct RunSummary {
  size_t already_done = 0;
  size_t ran = 0;
  std::vector<std::string> failed;  // "<dir> (exit N, see <dir>/train.log)"
};

// Checks every cell first (prepare_cell; nothing starts when one is refused), then runs the
// unfinished ones. A failing cell does not stop the others; SIGINT/SIGTERM stop starting new
// cells and are passed on to the running ones (which checkpoint and exit).
RunSummary run_cells(const SweepGrid& grid, const std::vector<SweepCell>& cells, const RunOptions& options);

}  // namespace ecg::sweep
