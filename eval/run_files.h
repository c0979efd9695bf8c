// The files of a finished run folder (docs/outputs.md) as read back by `report`, `compare`,
// `sweep` and the catalogue, each with one size limit. The folder may come from someone else, so
// every reader goes through here: a 100 MB results.json is refused before it is parsed (parsed, it
// took 3 GB), and every error names the run folder and the file.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>

namespace ecg::eval {

enum class RunFile { results_json, sweep_cell_json, history_csv, test_predictions_csv };

// "results.json", ...
const char* run_file_name(RunFile file);
// The largest accepted size in bytes: results.json 16 MB (a real one is a few kB per label),
// sweep_cell.json 1 MB, history.csv 64 MB, test_predictions.csv 256 MB (a million records x 25
// classes).
size_t run_file_limit(RunFile file);

// <dir>/<name>, refusing a file over its limit before reading it. Errors start with the file's
// path, which names the run folder and the file: "<dir>/results.json: why".
std::string read_run_file(const std::string& dir, RunFile file);
// read_run_file parsed as JSON; `what` is left to the caller's checks.
nlohmann::json read_run_json(const std::string& dir, RunFile file);
// The same parse on text already read (`dir` names the run in errors).
nlohmann::json parse_run_json(const std::string& dir, RunFile file, const std::string& text);

}  // namespace ecg::eval
