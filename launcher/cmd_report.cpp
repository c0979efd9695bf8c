// `ecgdist report RUN_OR_SWEEP... --out DIR`: the paper's results table and Figures 2-5 from
// finished runs (experiments/report/report.h; docs/report.md).
#include <memory>

#include "common/error.h"
#include "launcher/command_registry.h"
#include "experiments/report/report.h"

namespace ecg::launcher {
namespace {

const RegisterCommand kRegisterReport{CommandSpec{
    "report", "Table and figures (per-label, validation, data efficiency, ablations) from finished runs", 65,
    [](CLI::App& sub) -> std::function<int()> {
      auto o = std::make_shared<report::ReportOptions>();
      sub.add_option("inputs", o->inputs, "run or sweep folders, searched recursively for finished runs (results.json)")
          ->required()
          ->check(CLI::ExistingDirectory);
      sub.add_option("--out", o->out, "output folder (created): index.html, table.{csv,md}, fig*.{png,svg,csv,gp}")
          ->required();
      sub.add_option("--data", o->data, "HDF5 file with the test labels (default: the runs' settings.data)")
          ->check(CLI::ExistingFile);
      sub.add_option("--bootstrap", o->bootstrap, "paired bootstrap resamples for Figure 2's per-label CIs")
          ->capture_default_str();
      sub.add_option("--seed", o->seed, "bootstrap seed")->capture_default_str();
      sub.add_option("--gnuplot", o->gnuplot, "gnuplot program (name on PATH or path)")->capture_default_str();
      return [o] {
        report::write_report(*o);
        return 0;
      };
    }}};

}  // namespace
}  // namespace ecg::launcher
