// Parser for PTB-XL's scp_statements.csv (libcsv does the quoting rules: several descriptions
// contain quoted commas, e.g. "bigeminal pattern (unknown origin, SV or Ventricular)").
#include "data/formats/scp_statements.h"

#include <map>
#include <set>

#include "common/error.h"
#include "data/formats/csv_table.h"

namespace ecg::data {
namespace {

// PTB-XL writes flags as floats from pandas: "1.0" set, "" (NaN) unset; accept "1"/"0"/"0.0" too.
bool parse_flag(const std::string& value, const std::string& source, const std::string& code,
                const std::string& column) {
  if (value == "1.0" || value == "1") return true;
  if (value.empty() || value == "0.0" || value == "0") return false;
  ECG_FAIL("{}: statement {}: column '{}' has '{}', expected 1.0 or empty", source,
           cell_excerpt(code), column, cell_excerpt(value));
}

}  // namespace

std::vector<ScpStatement> parse_scp_statements(const std::string& csv_text,
                                               const std::string& source) {
  const CsvRows rows = parse_csv(csv_text, source);
  ECG_CHECK(!rows.empty(), "{}: empty file, expected the scp_statements header row", source);
  const auto& header = rows.front();
  std::map<std::string, size_t> column;
  for (size_t i = 1; i < header.size(); ++i) column.emplace(header[i], i);
  auto index_of = [&](const std::string& name) {
    auto it = column.find(name);
    ECG_CHECK(it != column.end(), "{}: missing column '{}'", source, name);
    return it->second;
  };
  const size_t c_desc = index_of("description"), c_diag = index_of("diagnostic"),
               c_form = index_of("form"), c_rhythm = index_of("rhythm"),
               c_class = index_of("diagnostic_class"), c_sub = index_of("diagnostic_subclass");
  // "Statement Category" is informative only; tolerate tables that drop it.
  const auto it_cat = column.find("Statement Category");

  std::vector<ScpStatement> out;
  std::set<std::string> seen;
  for (size_t r = 1; r < rows.size(); ++r) {
    const auto& row = rows[r];
    if (row.size() == 1 && row[0].empty()) continue;  // blank trailing line
    ECG_CHECK(row.size() == header.size(), "{}: row {} has {} fields, header has {}", source, r + 1,
              row.size(), header.size());
    ScpStatement s;
    s.code = row[0];
    ECG_CHECK(!s.code.empty(), "{}: row {} has an empty statement code", source, r + 1);
    ECG_CHECK(seen.insert(s.code).second, "{}: statement {} appears twice", source,
              cell_excerpt(s.code));
    s.description = row[c_desc];
    s.diagnostic = parse_flag(row[c_diag], source, s.code, "diagnostic");
    s.form = parse_flag(row[c_form], source, s.code, "form");
    s.rhythm = parse_flag(row[c_rhythm], source, s.code, "rhythm");
    s.diagnostic_class = row[c_class];
    s.diagnostic_subclass = row[c_sub];
    if (it_cat != column.end()) s.statement_category = row[it_cat->second];
    ECG_CHECK(!s.diagnostic || (!s.diagnostic_class.empty() && !s.diagnostic_subclass.empty()),
              "{}: diagnostic statement {} lacks diagnostic_class/diagnostic_subclass", source,
              cell_excerpt(s.code));
    out.push_back(std::move(s));
  }
  ECG_CHECK(!out.empty(), "{}: no statements after the header row", source);
  return out;
}

std::vector<ScpStatement> read_scp_statements(const std::string& path) {
  // The real table is ~10 KB (71 statements).
  constexpr size_t kMaxTableBytes = size_t{1} << 20;
  return parse_scp_statements(read_text_file_bounded(path, kMaxTableBytes, "SCP statement table"),
                              path);
}

}  // namespace ecg::data
