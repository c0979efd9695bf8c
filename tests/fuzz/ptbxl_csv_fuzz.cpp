// libFuzzer target for the PTB-XL metadata readers: the CSV layer (libcsv with memory limits),
// ptbxl_database.csv rows (ids, folds, record paths, the scp_codes dict) and scp_statements.csv.
// All of them have in-memory entry points, so the input is parsed directly, no files involved;
// every input goes through all three parsers. Seeds: tests/fuzz/corpus/ptbxl_csv/ (rows in the
// real ptbxl_database.csv column layout, the real scp_statements.csv, scp_codes dicts).
//
// Only ecg::Error is caught: any other exception or a sanitizer report is a finding.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "common/error.h"
#include "data/formats/ptbxl_database.h"
#include "data/formats/scp_statements.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const auto records = ecg::data::parse_ptbxl_database(text, "fuzz/ptbxl_database.csv");
    // What the reader promises: sorted unique ids, folds 1..10.
    for (size_t i = 0; i < records.size(); ++i) {
      if (records[i].fold < 1 || records[i].fold > 10) std::abort();
      if (i > 0 && records[i - 1].ecg_id >= records[i].ecg_id) std::abort();
    }
  } catch (const ecg::Error&) {
  }
  try {
    ecg::data::parse_scp_statements(text, "fuzz/scp_statements.csv");
  } catch (const ecg::Error&) {
  }
  try {
    ecg::data::parse_scp_codes(text, "fuzz/scp_codes");
  } catch (const ecg::Error&) {
  }
  return 0;
}
