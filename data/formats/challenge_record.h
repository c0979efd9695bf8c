// The PhysioNet/Computing in Cardiology Challenge 2020/2021 record layout: a WFDB header whose
// signal lines point at a MATLAB v4 `.mat` file in format "16+24" (int16 samples, leads
// interleaved, after a 24-byte MAT header) and whose "#" info lines carry the metadata:
//   #Age: 74   #Sex: Male   #Dx: 59118001,164889003   #Rx: Unknown   #Hx: Unknown   #Sx: Unknown
// The samples themselves are read by the WFDB reader (data/formats/wfdb.h); this file adds what
// the Challenges put around them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "data/formats/wfdb.h"
#include "data/formats/wfdb_writer.h"

namespace ecg::data {

// The metadata of one Challenge header's info lines.
struct ChallengeMeta {
  std::optional<double> age;      // "#Age: NaN" or no line: unknown
  std::string sex;                // "Male", "Female" or "" (unknown)
  std::vector<std::string> dx;    // SNOMED CT concept ids in header order, duplicates removed
};

// Parses the header's comments (WfdbHeader::comments). `#Dx` is required and must be a
// comma-separated list of SNOMED CT concept ids (6-18 digits); a malformed one is an error naming
// `hea` and the field. Unknown keys (#Rx, #Hx, #Sx, ...) are ignored.
ChallengeMeta parse_challenge_meta(const std::vector<std::string>& comments, const std::string& hea);

// The Challenges' comment lines for `meta` (the inverse of parse_challenge_meta).
std::vector<std::string> challenge_comments(const ChallengeMeta& meta);

// The 24-byte MATLAB v4 header of an int16 matrix `val` with n_rows x n_cols (column-major, so a
// 12 x T matrix stores the 12 leads of each sample together, as WFDB format 16 does).
std::string mat_v4_int16_header(int64_t n_rows, int64_t n_cols);

// The bytes of a Challenge record: "<name>.hea" and "<name>.mat".
WfdbFiles encode_challenge_record(const std::string& record_name, double sampling_rate,
                                  const std::vector<std::string>& lead_names,
                                  const std::vector<std::vector<int16_t>>& adc,
                                  const ChallengeMeta& meta, double gain = 1000.0);

}  // namespace ecg::data
