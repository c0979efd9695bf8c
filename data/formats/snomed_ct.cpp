#include "data/formats/snomed_ct.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "common/error.h"
#include "data/formats/csv_table.h"

namespace ecg::data {

bool is_snomed_concept_id(const std::string& s) {
  return s.size() >= 6 && s.size() <= 18 &&
         std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

SnomedTable SnomedTable::parse(const std::string& csv_text, const std::string& source) {
  const CsvRows rows = parse_csv(csv_text, source);
  ECG_CHECK(!rows.empty(), "{}: empty file, expected a header row", source);
  const std::vector<std::string> want = {"snomed_code", "abbreviation", "name", "scored",
                                         "equivalent_codes"};
  ECG_CHECK(rows[0] == want, "{}: header must be {}", source,
            "snomed_code,abbreviation,name,scored,equivalent_codes");
  SnomedTable t;
  for (size_t r = 1; r < rows.size(); ++r) {
    const auto& row = rows[r];
    if (row.size() == 1 && row[0].empty()) continue;
    ECG_CHECK(row.size() == want.size(), "{}: row {} has {} fields, expected {}", source, r + 1,
              row.size(), want.size());
    SnomedConcept c{row[0], row[1], row[2], row[3] == "1", {}};
    ECG_CHECK(is_snomed_concept_id(c.code), "{}: row {}: '{}' is not a SNOMED CT concept id", source,
              r + 1, cell_excerpt(c.code));
    ECG_CHECK(row[3] == "0" || row[3] == "1", "{}: row {}: scored must be 0 or 1", source, r + 1);
    if (!row[4].empty()) c.equivalents = split_fields(row[4], '|');
    ECG_CHECK(t.by_code_.emplace(c.code, c).second, "{}: code {} appears twice", source, c.code);
  }
  for (const auto& [code, c] : t.by_code_) {
    if (!c.scored) continue;
    std::vector<std::string> members = {code};
    for (const auto& e : c.equivalents) {
      const auto it = t.by_code_.find(e);
      ECG_CHECK(it != t.by_code_.end() && it->second.scored,
                "{}: code {} is scored as one class with {}, which is not a scored code", source,
                code, cell_excerpt(e));
      members.push_back(e);
    }
    std::vector<std::string> abbreviations;
    for (const auto& m : members) abbreviations.push_back(t.by_code_.at(m).abbreviation);
    std::sort(abbreviations.begin(), abbreviations.end());
    std::string cls;
    for (const auto& a : abbreviations) cls += (cls.empty() ? "" : "|") + a;
    std::sort(members.begin(), members.end());
    auto [it, inserted] = t.scored_class_codes_.emplace(cls, members);
    ECG_CHECK(inserted || it->second == members,
              "{}: scored class {} stands for different code sets", source, cls);
  }
  return t;
}

const SnomedTable& SnomedTable::challenge2021() {
  static const SnomedTable table =
      parse(embedded_snomed_ct_challenge2021_csv(), "snomed_ct_challenge2021.csv (embedded)");
  return table;
}

const SnomedConcept* SnomedTable::find(const std::string& code) const {
  const auto it = by_code_.find(code);
  return it == by_code_.end() ? nullptr : &it->second;
}

std::string SnomedTable::scored_class(const std::string& code) const {
  for (const auto& [cls, codes] : scored_class_codes_) {
    if (std::find(codes.begin(), codes.end(), code) != codes.end()) return cls;
  }
  return "";
}

std::string SnomedTable::describe_code(const std::string& code) const {
  const SnomedConcept* c = find(code);
  return c ? fmt::format("{} (SNOMED CT {})", c->name, code) : fmt::format("SNOMED CT {}", code);
}

std::string SnomedTable::describe_scored_class(const std::string& cls) const {
  const auto& codes = scored_class_codes_.at(cls);
  std::string names, ids;
  for (const auto& code : codes) {
    names += (names.empty() ? "" : " or ") + by_code_.at(code).name;
    ids += (ids.empty() ? "" : "|") + code;
  }
  return fmt::format("{} (SNOMED CT {})", names, ids);
}

const std::vector<std::string>& SnomedTable::scored_class_codes(const std::string& cls) const {
  return scored_class_codes_.at(cls);
}

std::vector<std::string> SnomedTable::scored_classes() const {
  std::vector<std::string> out;
  for (const auto& [cls, codes] : scored_class_codes_) out.push_back(cls);
  return out;
}

SnomedTask snomed_dx_task(const std::vector<std::vector<std::string>>& records,
                          const SnomedTable& table) {
  std::set<std::string> present;
  for (const auto& r : records) present.insert(r.begin(), r.end());
  SnomedTask task{"dx", {}, {}, {}};
  for (const auto& code : present) {
    task.classes.push_back(code);
    task.codes.push_back({code});
    task.descriptions.push_back(table.describe_code(code));
  }
  return task;
}

SnomedTask snomed_scored_task(const SnomedTable& table) {
  SnomedTask task{"scored", {}, {}, {}};
  for (const auto& cls : table.scored_classes()) {
    task.classes.push_back(cls);
    task.codes.push_back(table.scored_class_codes(cls));
    task.descriptions.push_back(table.describe_scored_class(cls));
  }
  return task;
}

SnomedTask parse_snomed_task(const std::string& spec, const SnomedTable& table,
                             const std::string& flag) {
  const auto eq = spec.find('=');
  ECG_CHECK(eq != std::string::npos && eq > 0 && eq + 1 < spec.size(),
            "{} '{}': expected NAME=CODE[|CODE],CODE...", flag, cell_excerpt(spec));
  SnomedTask task;
  task.name = spec.substr(0, eq);
  for (unsigned char ch : task.name) {
    ECG_CHECK(std::isalnum(ch) || ch == '_' || ch == '-',
              "{} '{}': the task name may hold letters, digits, '_' and '-' only", flag,
              cell_excerpt(spec));
  }
  std::set<std::string> seen;
  for (const auto& cls : split_fields(spec.substr(eq + 1), ',')) {
    std::vector<std::string> codes = split_fields(cls, '|');
    std::string names;
    for (const auto& code : codes) {
      ECG_CHECK(is_snomed_concept_id(code), "{} '{}': '{}' is not a SNOMED CT concept id (6-18 digits)",
                flag, cell_excerpt(spec), cell_excerpt(code));
      ECG_CHECK(seen.insert(code).second, "{} '{}': code {} is listed twice", flag,
                cell_excerpt(spec), code);
    }
    task.classes.push_back(cls);
    std::string desc;
    for (const auto& code : codes) desc += (desc.empty() ? "" : " or ") + table.describe_code(code);
    task.descriptions.push_back(desc);
    task.codes.push_back(std::move(codes));
  }
  return task;
}

TaskLabels derive_snomed_labels(const std::vector<std::vector<std::string>>& records,
                                const SnomedTask& task, bool keep_empty_classes) {
  std::map<std::string, size_t> class_of;  // code -> class index
  for (size_t c = 0; c < task.classes.size(); ++c)
    for (const auto& code : task.codes[c]) class_of[code] = c;
  const size_t n = records.size(), k = task.classes.size();
  std::vector<uint8_t> full(n * k, 0);
  for (size_t r = 0; r < n; ++r)
    for (const auto& code : records[r]) {
      const auto it = class_of.find(code);
      if (it != class_of.end()) full[r * k + it->second] = 1;
    }
  std::vector<size_t> keep;
  for (size_t c = 0; c < k; ++c) {
    bool any = false;
    for (size_t r = 0; r < n && !any; ++r) any = full[r * k + c] != 0;
    if (any || keep_empty_classes) keep.push_back(c);
  }
  TaskLabels out;
  out.task = task.name;
  for (size_t c : keep) {
    out.classes.push_back(task.classes[c]);
    out.descriptions.push_back(task.descriptions[c]);
  }
  out.matrix.assign(n * keep.size(), 0);
  for (size_t r = 0; r < n; ++r) {
    bool any = false;
    for (size_t j = 0; j < keep.size(); ++j) {
      out.matrix[r * keep.size() + j] = full[r * k + keep[j]];
      any = any || full[r * k + keep[j]];
    }
    if (!any) ++out.records_without_label;
  }
  return out;
}

}  // namespace ecg::data
