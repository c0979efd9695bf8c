// Side-by-side comparison of finished runs on the same test fold (`ecgdist compare`): each run's
// macro AUROC / AUPRC with its bootstrap CI (from its results.json), and the paired bootstrap
// difference of every run against the first (baseline) from the runs' test_predictions.csv and
// the data's labels, macro and per label, so that "post-train beats fine-tune" (and on which
// labels) comes with a CI and a p-value rather than two overlapping intervals.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "eval/metrics.h"

namespace ecg::eval {

// One finished run directory (docs/outputs.md): results.json + test_predictions.csv.
struct RunOutcome {
  std::string dir;
  std::string label;  // shown in the table (default: the directory's name)
  nlohmann::json results;
  std::vector<int64_t> ecg_ids;      // test records, prediction order
  std::vector<std::string> classes;  // prediction columns
  std::vector<float> probs;          // [records, classes]
};

// Errors name the file and the field.
RunOutcome read_run(const std::string& dir);
// read_run on the two files' contents (`dir` only names the files in errors): the parsing alone,
// which tests/fuzz/run_dir_fuzz.cpp drives with arbitrary bytes.
RunOutcome parse_run(const std::string& dir, const std::string& results_json,
                     const std::string& predictions_csv);

// One run's row of the comparison (compare_runs without `vs_baseline`): label, dir, recipe,
// settings and the test macro metrics with their CIs, as read from results.json.
nlohmann::json run_summary(const RunOutcome& run);

struct ComparisonOptions {
  std::string data;  // the HDF5 file the runs were evaluated on (targets)
  BootstrapOptions bootstrap;
};

// Throws unless every run is comparable with the first: same task, test records, classes and
// input profile (results.json settings.profile; a run written before the field existed is
// "default"). An error names both run directories and the field.
void check_comparable(const std::vector<RunOutcome>& runs);

// JSON: {"task", "records", "runs": [{label, dir, recipe, init, macro_auroc, ..._ci, ...,
// "vs_baseline": to_json(PairedReport) (absent for the baseline; holds the macro differences and
// "per_label")}]}. Checks check_comparable; the targets come from options.data by ecg_id, and must
// hash to each run's results.json test_data.labels_fnv1a64 (eval/run_outputs.h), else an error
// naming the run, the file and the field; a run without test_data (older) is accepted with a warning.
nlohmann::json compare_runs(const std::vector<RunOutcome>& runs, const ComparisonOptions& options);
// The 0/1 targets of the runs' test records, row-major [records x classes] in the first run's
// record order, read from the HDF5 file `data` by ecg_id and checked against every run's
// results.json test_data.labels_fnv1a64 (as compare_runs does; `report` pairs runs on them too).
// Checks check_comparable first.
std::vector<float> read_test_targets(const std::vector<RunOutcome>& runs, const std::string& data);
// compare_runs with the targets already read (0/1, row-major [records x classes] in the runs'
// record order); options.data is only recorded. What compare_runs does after reading the file.
nlohmann::json compare_runs_on_targets(const std::vector<RunOutcome>& runs, const std::vector<float>& targets,
                                       const ComparisonOptions& options);

// The comparison as Markdown: the macro table (one row per run; differences vs the first run),
// then one per-label table per run that has per-label differences.
std::string comparison_markdown(const nlohmann::json& comparison);

}  // namespace ecg::eval
