// libFuzzer target: a finished run directory as `ecgdist compare` reads it (eval::parse_run:
// results.json + test_predictions.csv), then that run's row of the comparison and its Markdown
// table. Input: the results.json bytes, a NUL byte, the test_predictions.csv bytes (no NUL: all of
// it is results.json and the predictions are empty). Any exception is a rejected input (the
// launcher prints it as one line and exits 1); a crash, a sanitizer report, a leak or a hang is a
// finding. Seeds: tests/fuzz/corpus/run_dir/.
#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>

#include "eval/run_comparison.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  const size_t nul = input.find('\0');
  const std::string results = input.substr(0, nul);
  const std::string predictions = nul == std::string::npos ? std::string() : input.substr(nul + 1);
  try {
    const ecg::eval::RunOutcome run = ecg::eval::parse_run("runs/fuzz", results, predictions);
    nlohmann::json comparison = {{"task", run.results.at("task")},
                                 {"records", run.ecg_ids.size()},
                                 {"runs", nlohmann::json::array({ecg::eval::run_summary(run)})}};
    const std::string table = ecg::eval::comparison_markdown(comparison);
    if (table.empty()) __builtin_trap();  // the header is always there
  } catch (const std::exception&) {
  }
  return 0;
}
