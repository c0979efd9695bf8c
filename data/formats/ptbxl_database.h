// PTB-XL's ptbxl_database.csv: one row per record with the patient, the stratified fold, the SCP
// codes (a Python-dict string with likelihoods) and the WFDB file names at 100 Hz and 500 Hz.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace ecg::data {

struct PtbxlRecord {
  int64_t ecg_id = 0;
  int64_t patient_id = 0;
  int fold = 0;                             // strat_fold, 1..10
  std::map<std::string, double> scp_codes;  // code -> likelihood (0..100)
  std::string filename_lr;                  // e.g. "records100/00000/00001_lr"
  std::string filename_hr;                  // e.g. "records500/00000/00001_hr"
};

// Parses "{'NORM': 100.0, 'LVOLT': 0.0}" (Python dict literal of str -> number, as pandas writes
// it). `where` names the file and row in errors.
std::map<std::string, double> parse_scp_codes(const std::string& text, const std::string& where);

// Parses the CSV text; `source` names the file in errors (missing column, bad value).
// Rows are returned sorted by ecg_id; duplicate ecg_ids are an error.
std::vector<PtbxlRecord> parse_ptbxl_database(const std::string& csv_text,
                                              const std::string& source);

std::vector<PtbxlRecord> read_ptbxl_database(const std::string& path);

}  // namespace ecg::data
