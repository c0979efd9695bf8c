// Task labels as the PTB-XL benchmark (Strodthoff et al. 2021) derives them from scp_codes: every
// code counts whatever its likelihood; `diagnostic` = codes with diagnostic==1, `subdiagnostic` /
// `superdiagnostic` map those to diagnostic_subclass / diagnostic_class, `form` / `rhythm` = codes
// flagged 1, `all` = every code. A class exists when at least one record has it.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "data/formats/scp_statements.h"

namespace ecg::data {

// The code -> statement lookup the label derivation uses.
class ScpTable {
 public:
  explicit ScpTable(const std::vector<ScpStatement>& statements);
  const ScpStatement* find(const std::string& code) const;

 private:
  std::map<std::string, ScpStatement> by_code_;
};

// The class names one record has for `task` (one of layout::kTasks). Codes must be known
// (check with `unknown_codes` first).
std::set<std::string> task_classes(const std::map<std::string, double>& scp_codes,
                                   const ScpTable& table, const std::string& task);

// Codes of a record that the table does not define.
std::vector<std::string> unknown_codes(const std::map<std::string, double>& scp_codes,
                                       const ScpTable& table);

struct TaskLabels {
  std::string task;
  std::vector<std::string> classes;  // sorted
  std::vector<std::string> descriptions;  // per class, or empty (PTB-XL: the class is its code)
  std::vector<uint8_t> matrix;       // row-major [n_records, classes.size()], 0/1
  int64_t records_without_label = 0;
};

// Label matrix of one task for records given by their scp_codes (row order kept).
TaskLabels derive_task_labels(const std::vector<const std::map<std::string, double>*>& records,
                              const ScpTable& table, const std::string& task);

}  // namespace ecg::data
