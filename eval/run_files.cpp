#include "eval/run_files.h"

#include <filesystem>

#include "common/error.h"
#include "data/formats/csv_table.h"

namespace fs = std::filesystem;

namespace ecg::eval {
namespace {

struct RunFileSpec {
  RunFile file;
  const char* name;
  size_t max_bytes;
};
constexpr RunFileSpec kRunFiles[] = {
    {RunFile::results_json, "results.json", size_t{16} << 20},
    {RunFile::sweep_cell_json, "sweep_cell.json", size_t{1} << 20},
    {RunFile::history_csv, "history.csv", size_t{64} << 20},
    {RunFile::test_predictions_csv, "test_predictions.csv", size_t{256} << 20},
};

const RunFileSpec& spec_of(RunFile file) {
  for (const auto& s : kRunFiles)
    if (s.file == file) return s;
  ECG_FAIL("unknown run file {}", static_cast<int>(file));
}

}  // namespace

const char* run_file_name(RunFile file) {
  return spec_of(file).name;
}
size_t run_file_limit(RunFile file) {
  return spec_of(file).max_bytes;
}

std::string read_run_file(const std::string& dir, RunFile file) {
  const RunFileSpec& spec = spec_of(file);
  const fs::path path = fs::path(dir) / spec.name;
  std::error_code ec;
  ECG_CHECK(fs::is_regular_file(path, ec),
            "{}: missing or not a regular file (not a finished run folder?)", path.string());
  const auto size = fs::file_size(path, ec);
  ECG_CHECK(!ec, "{}: cannot read its size ({})", path.string(), ec.message());
  ECG_CHECK(size <= spec.max_bytes, "{}: {} bytes, over the limit of {} MB for a run's {}",
            path.string(), size, spec.max_bytes >> 20, spec.name);
  // Bounded while reading too: the file may grow after the size check.
  return data::read_text_file_bounded(path.string(), spec.max_bytes, "run file");
}

nlohmann::json parse_run_json(const std::string& dir, RunFile file, const std::string& text) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    ECG_FAIL("{}: not valid JSON ({})", (fs::path(dir) / run_file_name(file)).string(), e.what());
  }
}

nlohmann::json read_run_json(const std::string& dir, RunFile file) {
  return parse_run_json(dir, file, read_run_file(dir, file));
}

}  // namespace ecg::eval
