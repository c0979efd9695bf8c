// `ecgdist sweep GRID`: the paper's grid (tasks x variants x training fractions x seeds) from one
// JSON file (experiments/sweep/sweep_grid.h), run here several cells at a time, finished cells skipped, then
// collected into <out>/sweep.csv. slurm/ecgdist-sweep.sbatch runs the same file as an array job
// through --count and --prepare-cell.
#include <filesystem>
#include <iostream>
#include <memory>

#include "common/atomic_file.h"
#include "common/error.h"
#include "common/log.h"
#include "launcher/command_registry.h"
#include "experiments/sweep/cell_runner.h"
#include "experiments/sweep/sweep_grid.h"
#include "experiments/sweep/sweep_table.h"

namespace fs = std::filesystem;

namespace ecg::launcher {
namespace {

struct SweepOptions {
  std::string grid;
  std::string out;
  int jobs = 0;
  bool list = false;
  bool count = false;
  bool collect_only = false;
  int prepare_cell = -1;
  size_t max_cells = sweep::kDefaultMaxCells;
};

// 'text' for a POSIX shell (the sbatch script evals --prepare-cell's output).
std::string shell_quote(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

void write_collected(const sweep::SweepGrid& grid, const std::vector<sweep::SweepCell>& cells, const std::string& out) {
  const auto rows = sweep::collect_cells(cells);
  write_file_atomically((fs::path(out) / "sweep.csv").string(), sweep::cells_csv(rows), "sweep table");
  std::cout << sweep::cells_markdown(grid, rows) << "\ntable: " << (fs::path(out) / "sweep.csv").string() << "\n"
            << std::flush;
}

// The shell variables slurm/ecgdist-sweep.sbatch needs for one array index. The template word-splits
// EXTRA_ARGS, so an argument with white space cannot pass through it and is refused here.
int print_prepared_cell(const sweep::SweepGrid& grid, const std::vector<sweep::SweepCell>& cells, int index) {
  ECG_CHECK(index >= 0 && static_cast<size_t>(index) < cells.size(),
            "--prepare-cell {}: the grid {} has cells 0..{}", index, grid.file, cells.size() - 1);
  const sweep::SweepCell& cell = cells[static_cast<size_t>(index)];
  sweep::prepare_cell(grid, cell);
  std::string extra;
  // train_args starts with --data D --task T --recipe R, which the template passes itself.
  for (size_t i = 6; i < cell.train_args.size(); ++i) {
    const std::string& a = cell.train_args[i];
    ECG_CHECK(a.find_first_of(" \t\n") == std::string::npos,
              "{}: argument '{}' holds white space, which the SLURM template's EXTRA_ARGS cannot carry", grid.file, a);
    extra += (extra.empty() ? "" : " ") + a;
  }
  std::cout << "cell_index=" << cell.index << "\ncell_count=" << cells.size() << "\ncell_task=" << shell_quote(cell.task)
            << "\ncell_variant=" << shell_quote(eval::variant_name(cell.variant))
            << "\ncell_recipe=" << shell_quote(cell.recipe) << "\ncell_data=" << shell_quote(grid.data)
            << "\ncell_dir=" << shell_quote(cell.dir) << "\ncell_args=" << shell_quote(extra)
            << "\ncell_done=" << (sweep::cell_finished(cell) ? 1 : 0) << "\n"
            << std::flush;
  return 0;
}

int run_sweep(const SweepOptions& o) {
  const sweep::SweepGrid grid = sweep::read_grid(o.grid, o.max_cells);
  const std::string out =
      o.out.empty() ? (fs::current_path() / ("sweep-" + fs::path(o.grid).stem().string())).string() : o.out;
  const std::vector<sweep::SweepCell> cells = sweep::grid_cells(grid, fs::absolute(out).lexically_normal().string());
  if (o.count) {
    std::cout << cells.size() << "\n";
    return 0;
  }
  if (o.list) {
    for (const auto& row : sweep::collect_cells(cells)) {
      std::cout << fmt::format("{:<5} {:<16} {:<12} {:<6} {:<5} {:<8} {}\n", row.cell->index, row.cell->task,
                               eval::variant_name(row.cell->variant), sweep::fraction_text(row.cell->fraction),
                               row.cell->seed, sweep::cell_status_name(row.status), row.cell->dir);
    }
    std::cout << "cells: " << cells.size() << " (sbatch --array=0-" << cells.size() - 1 << ")\n";
    return 0;
  }
  if (o.prepare_cell >= 0) return print_prepared_cell(grid, cells, o.prepare_cell);
  ECG_CHECK(fs::exists(grid.data), "{}: field data: {} does not exist", grid.file, grid.data);
  ECG_CHECK(grid.init.empty() || fs::exists(grid.init), "{}: field init: {} does not exist", grid.file, grid.init);
  std::error_code ec;
  fs::create_directories(out, ec);
  ECG_CHECK(!ec, "{}: cannot create the sweep folder ({})", out, ec.message());
  if (o.collect_only) {
    write_collected(grid, cells, out);
    return 0;
  }
  sweep::RunOptions run;
  run.ecgdist = fs::read_symlink("/proc/self/exe").string();
  run.jobs = o.jobs;
  run.launcher_args = {"--progress", "off"};
  const sweep::RunSummary summary = sweep::run_cells(grid, cells, run);
  write_collected(grid, cells, out);
  log::info("sweep: {} cells ran now, {} were finished before, {} failed", summary.ran, summary.already_done,
            summary.failed.size());
  for (const std::string& f : summary.failed) log::error("sweep: failed cell {}", f);
  return summary.failed.empty() ? 0 : 1;
}

const RegisterCommand kRegisterSweep{CommandSpec{
    "sweep", "Run the paper's grid (tasks x variants x fractions x seeds) from one JSON file", 65,
    [](CLI::App& sub) -> std::function<int()> {
      auto o = std::make_shared<SweepOptions>();
      sub.add_option("grid", o->grid, "the grid file (JSON; docs/sweep.md)")->required()->check(CLI::ExistingFile);
      sub.add_option("--out", o->out, "the sweep folder (default ./sweep-<grid name>); cells in <task>/<variant>/"
                                      "frac-<f>/seed-<s>");
      sub.add_option("--jobs", o->jobs, "cells at a time (0 = cores / (ranks x threads))")->check(CLI::NonNegativeNumber);
      sub.add_flag("--list", o->list, "print the cells (index, settings, status) and exit");
      sub.add_flag("--count", o->count, "print the number of cells and exit (the SLURM array size)");
      sub.add_flag("--collect", o->collect_only, "only collect the cells into <out>/sweep.csv");
      sub.add_option("--max-cells", o->max_cells,
                     "refuse a grid of more cells than this, before anything is written (a typo in a list "
                     "must not start a million runs)")
          ->capture_default_str()
          ->check(CLI::Range(size_t{1}, size_t{100000000}));
      sub.add_option("--prepare-cell", o->prepare_cell,
                     "write cell I's sweep_cell.json and print its settings as shell variables (SLURM)");
      return [o] { return run_sweep(*o); };
    }}};

}  // namespace
}  // namespace ecg::launcher
