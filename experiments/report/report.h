// `ecgdist report`: the paper's table and Figures 2-5 from finished runs (a sweep's folder or
// hand-made run folders), as CSV + gnuplot script + PNG + SVG per figure and one index.html.
// docs/report.md describes every file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "experiments/report/figures.h"

namespace ecg::report {

struct ReportOptions {
  std::vector<std::string> inputs;  // folders searched recursively for finished runs
  std::string out;                  // created if missing
  std::string data;                 // HDF5 with the test labels; empty: the runs' settings.data
  int bootstrap = 1000;             // bootstrap resamples: Figure 2, the table's paired differences, Figure 4
  uint64_t seed = 0;                // their seed
  int threads = 2;
  std::string gnuplot = "gnuplot";  // program name or path
};

struct ReportSummary {
  int runs = 0;
  std::vector<Figure> figures;     // written
  std::vector<std::string> notes;  // figures skipped, and why
};

// Writes the report. Throws (one line) when no finished run is found, an input is unreadable or
// gnuplot fails; the tables and index.html are written last, so that a report that stopped midway
// has none (older ones in `out` are removed first).
ReportSummary write_report(const ReportOptions& options);

// The HDF5 file a run was trained on: settings.data as written (relative to the directory the
// run was started from, which is recovered from settings.out), else relative to the run folder.
// Throws naming the run's results.json and suggesting --data when none exists.
std::string resolve_run_data(const eval::CatalogRun& run);

}  // namespace ecg::report
