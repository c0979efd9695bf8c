#include "data/formats/challenge_record.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <set>

#include "common/error.h"
#include "data/formats/csv_table.h"
#include "data/formats/snomed_ct.h"

namespace ecg::data {
namespace {

std::string trim_blanks(const std::string& s) {
  const auto a = s.find_first_not_of(" \t");
  if (a == std::string::npos) return "";
  const auto b = s.find_last_not_of(" \t");
  return s.substr(a, b - a + 1);
}

std::string lowercase(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

void put_le32(std::string& out, int64_t v) {
  const auto u = static_cast<uint32_t>(v);
  for (int b = 0; b < 4; ++b) out.push_back(static_cast<char>((u >> (8 * b)) & 0xFF));
}

}  // namespace

ChallengeMeta parse_challenge_meta(const std::vector<std::string>& comments,
                                   const std::string& hea) {
  ChallengeMeta meta;
  bool have_dx = false;
  for (const auto& line : comments) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;  // a free-text remark
    const std::string key = lowercase(trim_blanks(line.substr(0, colon)));
    const std::string value = trim_blanks(line.substr(colon + 1));
    if (key == "dx") {
      ECG_CHECK(!have_dx, "{}: #Dx given twice", hea);
      have_dx = true;
      std::set<std::string> seen;
      for (const auto& field : split_fields(value, ',')) {
        const std::string code = trim_blanks(field);
        ECG_CHECK(is_snomed_concept_id(code),
                  "{}: #Dx '{}': '{}' is not a SNOMED CT concept id (6-18 digits)", hea,
                  cell_excerpt(value), cell_excerpt(code));
        if (seen.insert(code).second) meta.dx.push_back(code);
      }
    } else if (key == "age") {
      if (value.empty() || lowercase(value) == "nan" || lowercase(value) == "unknown") continue;
      char* end = nullptr;
      const double age = std::strtod(value.c_str(), &end);
      ECG_CHECK(end == value.c_str() + value.size() && std::isfinite(age) && age >= 0 &&
                    age <= 150,
                "{}: #Age '{}' is not an age in years (0-150, NaN or Unknown)", hea,
                cell_excerpt(value));
      meta.age = age;
    } else if (key == "sex") {
      const std::string v = lowercase(value);
      if (v == "male" || v == "m") {
        meta.sex = "Male";
      } else if (v == "female" || v == "f") {
        meta.sex = "Female";
      } else {
        ECG_CHECK(v.empty() || v == "unknown" || v == "nan",
                  "{}: #Sex '{}' is not Male, Female or Unknown", hea, cell_excerpt(value));
      }
    }
  }
  ECG_CHECK(have_dx, "{}: no #Dx line (the record's SNOMED CT diagnoses)", hea);
  return meta;
}

std::vector<std::string> challenge_comments(const ChallengeMeta& meta) {
  std::string dx;
  for (const auto& code : meta.dx) dx += (dx.empty() ? "" : ",") + code;
  return {fmt::format("Age: {}", meta.age ? fmt::format("{}", *meta.age) : std::string("NaN")),
          fmt::format("Sex: {}", meta.sex.empty() ? std::string("Unknown") : meta.sex),
          "Dx: " + dx, "Rx: Unknown", "Hx: Unknown", "Sx: Unknown"};
}

std::string mat_v4_int16_header(int64_t n_rows, int64_t n_cols) {
  ECG_CHECK(n_rows > 0 && n_rows <= INT32_MAX && n_cols > 0 && n_cols <= INT32_MAX,
            "a MATLAB v4 matrix of {} x {} does not fit its header", n_rows, n_cols);
  std::string h;
  // type MOPT = 0 (little-endian) 0 3 (int16) 0 (numeric); rows, columns, no imaginary part; the
  // name "val" with its NUL.
  put_le32(h, 30);
  put_le32(h, n_rows);
  put_le32(h, n_cols);
  put_le32(h, 0);
  put_le32(h, 4);
  h.append("val", 4);
  return h;
}

WfdbFiles encode_challenge_record(const std::string& record_name, double sampling_rate,
                                  const std::vector<std::string>& lead_names,
                                  const std::vector<std::vector<int16_t>>& adc,
                                  const ChallengeMeta& meta, double gain) {
  WfdbEncoding encoding;
  encoding.signal_extension = ".mat";
  encoding.prefix = mat_v4_int16_header(static_cast<int64_t>(adc.size()),
                                        adc.empty() ? 0 : static_cast<int64_t>(adc[0].size()));
  encoding.comments = challenge_comments(meta);
  return encode_wfdb_record(record_name, sampling_rate, lead_names, adc, gain, encoding);
}

}  // namespace ecg::data
