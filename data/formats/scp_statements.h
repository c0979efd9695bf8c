// PTB-XL's scp_statements.csv: the SCP-ECG statement table that defines every code, whether it is
// diagnostic/form/rhythm, and the diagnostic (sub)class a diagnostic code maps to. The real table
// (CC BY 4.0, see data/formats/resources/NOTICE) is compiled into the binary for `synth`.
#pragma once

#include <string>
#include <vector>

namespace ecg::data {

struct ScpStatement {
  std::string code;                 // e.g. "NORM", "IMI", "AFIB"
  std::string description;
  bool diagnostic = false;          // column "diagnostic" == 1
  bool form = false;                // column "form" == 1
  bool rhythm = false;              // column "rhythm" == 1
  std::string diagnostic_class;     // e.g. "MI" (empty when not diagnostic)
  std::string diagnostic_subclass;  // e.g. "IMI"
  std::string statement_category;
};

// Parses the CSV text (header row with at least the columns above; the first, unnamed, column
// is the code). `source` names the file in errors (missing column, bad flag value).
std::vector<ScpStatement> parse_scp_statements(const std::string& csv_text, const std::string& source);

std::vector<ScpStatement> read_scp_statements(const std::string& path);

// The real PTB-XL table, embedded at build time.
const std::string& embedded_scp_statements_csv();
const std::string& embedded_scp_statements_notice();

}  // namespace ecg::data
