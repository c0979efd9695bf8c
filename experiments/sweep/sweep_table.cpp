#include "experiments/sweep/sweep_table.h"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "common/error.h"
#include "eval/run_files.h"

namespace fs = std::filesystem;

namespace ecg::sweep {
namespace {

using nlohmann::json;

// A number (or null/absent as empty), as CSV and Markdown print it.
std::string number_text(const json& v) {
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  if (v.is_number()) return fmt::format("{:.6g}", v.get<double>());
  return "";
}

const json& at_path(const json& j, std::initializer_list<const char*> keys) {
  static const json kNull;
  const json* cur = &j;
  for (const char* k : keys) {
    if (!cur->is_object() || !cur->contains(k)) return kNull;
    cur = &cur->at(k);
  }
  return *cur;
}

std::string ci_bound(const json& ci, size_t i) {
  return ci.is_array() && ci.size() == 2 ? number_text(ci[i]) : "";
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

}  // namespace

const char* cell_status_name(CellStatus status) {
  switch (status) {
    case CellStatus::pending: return "pending";
    case CellStatus::started: return "started";
    case CellStatus::done: return "done";
  }
  return "?";
}

std::vector<CellRow> collect_cells(const std::vector<SweepCell>& cells) {
  std::vector<CellRow> rows;
  for (const SweepCell& cell : cells) {
    CellRow row;
    row.cell = &cell;
    const fs::path results = fs::path(cell.dir) / "results.json";
    if (fs::exists(results)) {
      row.results = eval::read_run_json(cell.dir, eval::RunFile::results_json);
      row.status = CellStatus::done;
    } else if (fs::exists(fs::path(cell.dir) / "train.log") || fs::exists(fs::path(cell.dir) / "checkpoints")) {
      row.status = CellStatus::started;
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

std::string cells_csv(const std::vector<CellRow>& rows) {
  std::string out =
      "index,task,variant,fraction,seed,status,dir,test_macro_auroc,test_macro_auroc_ci_low,"
      "test_macro_auroc_ci_high,test_macro_auprc,test_macro_auprc_ci_low,test_macro_auprc_ci_high,"
      "best_val_macro_auroc,best_epoch,early_stop_epoch,epochs_run,train_seconds\n";
  for (const CellRow& row : rows) {
    const SweepCell& c = *row.cell;
    const json& r = row.results;
    const json& auroc_ci = at_path(r, {"test", "macro_auroc_ci"});
    const json& auprc_ci = at_path(r, {"test", "macro_auprc_ci"});
    out += fmt::format("{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n", c.index, c.task,
                       eval::variant_name(c.variant), fraction_text(c.fraction), c.seed,
                       cell_status_name(row.status), csv_field(c.dir), number_text(at_path(r, {"test", "macro_auroc"})),
                       ci_bound(auroc_ci, 0), ci_bound(auroc_ci, 1), number_text(at_path(r, {"test", "macro_auprc"})),
                       ci_bound(auprc_ci, 0), ci_bound(auprc_ci, 1), number_text(at_path(r, {"best_val_macro_auroc"})),
                       number_text(at_path(r, {"best_epoch"})), number_text(at_path(r, {"early_stop_epoch"})),
                       number_text(at_path(r, {"epochs_run"})), number_text(at_path(r, {"train_seconds"})));
  }
  return out;
}

std::string cells_markdown(const SweepGrid& grid, const std::vector<CellRow>& rows) {
  // (task, fraction, variant) -> (sum, n) of finished cells' test macro AUROC.
  std::map<std::tuple<std::string, double, int>, std::pair<double, int>> acc;
  size_t done = 0;
  for (const CellRow& row : rows) {
    if (row.status != CellStatus::done) continue;
    ++done;
    const json& v = at_path(row.results, {"test", "macro_auroc"});
    if (!v.is_number()) continue;
    auto& a = acc[{row.cell->task, row.cell->fraction, static_cast<int>(row.cell->variant)}];
    a.first += v.get<double>();
    a.second += 1;
  }
  std::string out = fmt::format("{}/{} cells done. Test macro AUROC, mean over finished seeds:\n\n| task | fraction |",
                                done, rows.size());
  for (eval::Variant v : grid.variants) out += fmt::format(" {} |", eval::variant_title(v));
  out += "\n|---|---|";
  for (size_t i = 0; i < grid.variants.size(); ++i) out += "---|";
  out += "\n";
  for (const std::string& task : grid.tasks) {
    for (double f : grid.fractions) {
      out += fmt::format("| {} | {} |", task, fraction_text(f));
      for (eval::Variant v : grid.variants) {
        auto it = acc.find({task, f, static_cast<int>(v)});
        out += it == acc.end() ? " - |"
                               : fmt::format(" {:.3f} (n={}) |", it->second.first / it->second.second,
                                             it->second.second);
      }
      out += "\n";
    }
  }
  return out;
}

}  // namespace ecg::sweep
