// The paper's experiment grid as one JSON file: tasks x variants (recipes and ablations) x
// training fractions x seeds, plus what every cell shares (data, model, encoder, any train flag).
// `ecgdist sweep GRID` runs it on this machine and slurm/ecgdist-sweep.sbatch runs the same file
// as an array job; both place cell i in the same folder with the same `ecgdist train` arguments.
//
//   {
//     "data": "ptbxl.h5",                       required; relative paths are relative to the file
//     "tasks": ["superdiagnostic", "form"],     required
//     "variants": ["fine-tune", "post-train", "wo-sd", "wo-lp"],   default: these four
//     "fractions": [0.1, 0.5, 1.0],             default: 0.1, 0.2, ..., 1.0
//     "seeds": [0, 1, 2],                       default: [0]
//     "model": "base", "init": "st_mem.pth",    optional (`--model`, `--init`)
//     "drop_path": 0.1, "lp_epochs": 5,         optional: the rate of the variants with stochastic
//                                               depth and the LP epochs of those with LP (the
//                                               variants' own 0s are not overridden)
//     "ranks": 1, "threads": 1,                 per cell, local runs (default 1 and 1)
//     "train_args": ["--epochs", "50", "--record-after-stop"]     more `ecgdist train` flags
//   }
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/json_integer.h"
#include "eval/run_catalog.h"

namespace ecg::sweep {

struct SweepGrid {
  std::string file;  // where it was read from (errors name it)
  std::string data;  // absolute, or as given when the file has no folder
  std::vector<std::string> tasks;
  std::vector<eval::Variant> variants;
  std::vector<double> fractions;
  std::vector<uint64_t> seeds;
  std::string model;
  std::string init;
  double drop_path = -1;  // < 0: train's default
  int lp_epochs = -1;     // < 0: train's default
  int ranks = 1;
  int threads = 1;
  std::vector<std::string> train_args;
};

// Limits stated to the user (docs/sweep.md): the cells of one grid (`ecgdist sweep --max-cells`
// raises it), the grid file's size, and the largest seed (train's --seed is a uint64, but a seed
// above 2^53 would not survive results.json's doubles in other tools).
constexpr size_t kDefaultMaxCells = 10000;
constexpr size_t kMaxGridBytes = 1u << 20;
constexpr int64_t kMaxSeed = kMaxExactJsonInteger;

// Reads and checks the grid; an error names the file and the field (unknown fields are errors:
// a misspelt "seed" must not silently run one seed). Integers are range-checked (a seed of -1 is
// an error, not 2^64 - 1), fractions must differ in their folder names, and a grid of more than
// `max_cells` cells is refused before any cell is made.
SweepGrid read_grid(const std::string& path, size_t max_cells = kDefaultMaxCells);
SweepGrid parse_grid(const std::string& path, const std::string& text, size_t max_cells = kDefaultMaxCells);

// One cell: where it runs and what `ecgdist train` is asked.
struct SweepCell {
  size_t index = 0;
  std::string task;
  eval::Variant variant = eval::Variant::fine_tune;
  double fraction = 1.0;
  uint64_t seed = 0;
  std::string recipe;                   // --recipe
  std::vector<std::string> variant_flags;  // what makes the variant (e.g. --drop-path 0)
  std::string dir;                      // <root>/<task>/<variant>/frac-<f>/seed-<s>
  // Every `ecgdist train` argument of the cell except the ones the launcher owns (--out,
  // --threads, --resume, --progress and the like): --data, --task, --recipe, the variant's
  // flags, --train-fraction, --seed, --model, --init, then the grid's train_args.
  std::vector<std::string> train_args;
};

// Cells in a fixed order (index = ((task * variants + variant) * fractions + fraction) * seeds +
// seed), so that a SLURM array index names the same cell as a local run.
std::vector<SweepCell> grid_cells(const SweepGrid& grid, const std::string& root);

// "0.1" / "1" (the folder name frac-<f> and the --train-fraction argument).
std::string fraction_text(double fraction);

}  // namespace ecg::sweep
