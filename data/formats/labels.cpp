#include "data/formats/labels.h"

#include <algorithm>

#include "common/error.h"

namespace ecg::data {

ScpTable::ScpTable(const std::vector<ScpStatement>& statements) {
  for (const auto& s : statements) by_code_.emplace(s.code, s);
}

const ScpStatement* ScpTable::find(const std::string& code) const {
  auto it = by_code_.find(code);
  return it == by_code_.end() ? nullptr : &it->second;
}

std::vector<std::string> unknown_codes(const std::map<std::string, double>& scp_codes,
                                       const ScpTable& table) {
  std::vector<std::string> out;
  for (const auto& [code, likelihood] : scp_codes) {
    if (table.find(code) == nullptr) out.push_back(code);
  }
  return out;
}

std::set<std::string> task_classes(const std::map<std::string, double>& scp_codes,
                                   const ScpTable& table, const std::string& task) {
  std::set<std::string> out;
  // The benchmark counts every listed code regardless of its likelihood (0 included).
  for (const auto& [code, likelihood] : scp_codes) {
    const ScpStatement* s = table.find(code);
    ECG_CHECK(s != nullptr, "unknown SCP code '{}'", code);
    if (task == "all") {
      out.insert(code);
    } else if (task == "diagnostic") {
      if (s->diagnostic) out.insert(code);
    } else if (task == "subdiagnostic") {
      if (s->diagnostic && !s->diagnostic_subclass.empty()) out.insert(s->diagnostic_subclass);
    } else if (task == "superdiagnostic") {
      if (s->diagnostic && !s->diagnostic_class.empty()) out.insert(s->diagnostic_class);
    } else if (task == "form") {
      if (s->form) out.insert(code);
    } else if (task == "rhythm") {
      if (s->rhythm) out.insert(code);
    } else {
      ECG_FAIL("unknown task '{}' (all, diagnostic, subdiagnostic, superdiagnostic, form, rhythm)",
               task);
    }
  }
  return out;
}

TaskLabels derive_task_labels(const std::vector<const std::map<std::string, double>*>& records,
                              const ScpTable& table, const std::string& task) {
  TaskLabels labels;
  labels.task = task;
  std::vector<std::set<std::string>> per_record;
  per_record.reserve(records.size());
  std::set<std::string> all_classes;
  for (const auto* codes : records) {
    per_record.push_back(task_classes(*codes, table, task));
    all_classes.insert(per_record.back().begin(), per_record.back().end());
  }
  labels.classes.assign(all_classes.begin(), all_classes.end());  // std::set: already sorted
  const size_t c = labels.classes.size();
  labels.matrix.assign(records.size() * c, 0);
  for (size_t i = 0; i < per_record.size(); ++i) {
    if (per_record[i].empty()) ++labels.records_without_label;
    for (const auto& name : per_record[i]) {
      const auto it = std::lower_bound(labels.classes.begin(), labels.classes.end(), name);
      labels.matrix[i * c + static_cast<size_t>(it - labels.classes.begin())] = 1;
    }
  }
  return labels;
}

}  // namespace ecg::data
