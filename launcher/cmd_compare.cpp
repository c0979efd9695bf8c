// `ecgdist compare RUN_DIR...`: a side-by-side table of finished runs on one test fold, with
// paired bootstrap differences against the first run (eval/run_comparison.h).
#include <iostream>
#include <memory>

#include "common/atomic_file.h"
#include "common/error.h"
#include "common/log.h"
#include "launcher/command_registry.h"
#include "eval/run_comparison.h"

namespace ecg::launcher {
namespace {

struct CompareOptions {
  std::string data;
  std::vector<std::string> runs;
  std::vector<std::string> labels;
  std::string out_markdown;
  std::string out_json;
  int bootstrap = 1000;
  uint64_t seed = 0;
};

int run_compare(const CompareOptions& o) {
  ECG_CHECK(o.labels.empty() || o.labels.size() == o.runs.size(), "--labels: {} labels for {} runs",
            o.labels.size(), o.runs.size());
  std::vector<eval::RunOutcome> runs;
  for (size_t i = 0; i < o.runs.size(); ++i) {
    runs.push_back(eval::read_run(o.runs[i]));
    if (!o.labels.empty()) runs.back().label = o.labels[i];
  }
  eval::ComparisonOptions options;
  options.data = o.data;
  options.bootstrap.resamples = o.bootstrap;
  options.bootstrap.seed = o.seed;
  options.bootstrap.threads = 2;
  const nlohmann::json comparison = eval::compare_runs(runs, options);
  const std::string table = eval::comparison_markdown(comparison);
  std::cout << table << std::flush;
  if (!o.out_markdown.empty()) write_file_atomically(o.out_markdown, table, "comparison table");
  if (!o.out_json.empty()) write_file_atomically(o.out_json, comparison.dump(2) + "\n", "comparison JSON");
  return 0;
}

const RegisterCommand kRegisterCompare{CommandSpec{
    "compare", "Side-by-side test metrics of finished runs, paired bootstrap vs the first", 60,
    [](CLI::App& sub) -> std::function<int()> {
      auto o = std::make_shared<CompareOptions>();
      sub.add_option("runs", o->runs, "run directories (results.json + test_predictions.csv); the first is the baseline")
          ->required()
          ->check(CLI::ExistingDirectory);
      sub.add_option("--data", o->data, "the HDF5 file the runs were tested on (labels)")->required()
          ->check(CLI::ExistingFile);
      sub.add_option("--labels", o->labels, "names for the runs in the table (default: directory names)")
          ->delimiter(',');
      sub.add_option("--out", o->out_markdown, "also write the Markdown table here");
      sub.add_option("--json", o->out_json, "also write the comparison as JSON here");
      sub.add_option("--bootstrap", o->bootstrap, "paired bootstrap resamples (0 = no CIs or p-values: null in JSON, n/a in the table)");
      sub.add_option("--seed", o->seed, "bootstrap seed");
      return [o] { return run_compare(*o); };
    }}};

}  // namespace
}  // namespace ecg::launcher
