// ptbxl_database.csv reader. libcsv does the CSV quoting (reports and scp_codes contain commas and
// quotes); the scp_codes cell is a Python dict literal, which no Debian library parses (it is not
// JSON: single quotes), so a small strict parser for exactly that grammar lives here.
#include "data/formats/ptbxl_database.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "common/error.h"
#include "data/formats/csv_table.h"

namespace ecg::data {
namespace {

// pandas writes integer ids of columns that had NaNs as floats ("15709.0"). The range check comes
// before the conversion: casting a double outside int64's range is undefined behaviour.
int64_t parse_id(const std::string& text, const std::string& where, const std::string& column,
                 int64_t lo, int64_t hi) {
  errno = 0;
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  // Decimal only: strtod would also take " 12", "0x1A" and "inf".
  const bool plain =
      !text.empty() && text.find_first_not_of("0123456789.+-eE") == std::string::npos;
  ECG_CHECK(plain && end == text.c_str() + text.size() && errno == 0 && std::isfinite(v) &&
                v == std::floor(v),
            "{}: column '{}' has '{}', expected an integer", where, column, cell_excerpt(text));
  ECG_CHECK(v >= static_cast<double>(lo) && v <= static_cast<double>(hi),
            "{}: {} {} outside {}..{}", where, column, cell_excerpt(text), lo, hi);
  return static_cast<int64_t>(v);
}

// filename_lr/filename_hr are joined to the PTB-XL directory; a name that climbs out of it
// ("../../etc/x", "/dev/zero") is refused here, before any file is opened.
void check_record_path(const std::string& name, const std::string& where,
                       const std::string& column) {
  if (name.empty()) return;  // preprocess reports (or skips) records without a file
  const std::filesystem::path p(name);
  bool inside = !p.has_root_name() && !p.has_root_directory() && p.has_filename();
  for (const auto& part : p) inside = inside && part != "..";
  ECG_CHECK(inside,
            "{}: column '{}' has '{}', expected a relative path inside the PTB-XL directory", where,
            column, cell_excerpt(name));
}

class DictParser {
 public:
  DictParser(const std::string& text, const std::string& where) : s_(text), where_(where) {}

  std::map<std::string, double> parse() {
    std::map<std::string, double> out;
    expect('{');
    skip_space();
    if (peek() == '}') {
      ++pos_;
    } else {
      for (;;) {
        std::string key = parse_string();
        expect(':');
        double value = parse_number();
        ECG_CHECK(out.emplace(key, value).second, "{}: scp_codes names '{}' twice", where_,
                  cell_excerpt(key));
        skip_space();
        const char c = next();
        if (c == '}') break;
        ECG_CHECK(c == ',', "{}: bad scp_codes '{}': expected ',' or '}}' at offset {}", where_,
                  cell_excerpt(s_), pos_ - 1);
      }
    }
    skip_space();
    ECG_CHECK(pos_ == s_.size(), "{}: bad scp_codes '{}': trailing text", where_, cell_excerpt(s_));
    return out;
  }

 private:
  void skip_space() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  char next() {
    ECG_CHECK(pos_ < s_.size(), "{}: bad scp_codes '{}': unexpected end", where_, cell_excerpt(s_));
    return s_[pos_++];
  }
  void expect(char c) {
    skip_space();
    ECG_CHECK(next() == c, "{}: bad scp_codes '{}': expected '{}' at offset {}", where_,
              cell_excerpt(s_), c, pos_ - 1);
  }
  std::string parse_string() {
    skip_space();
    const char quote = next();
    ECG_CHECK(quote == '\'' || quote == '"', "{}: bad scp_codes '{}': expected a quoted code",
              where_, cell_excerpt(s_));
    const size_t end = s_.find(quote, pos_);
    ECG_CHECK(end != std::string::npos, "{}: bad scp_codes '{}': unterminated code", where_,
              cell_excerpt(s_));
    std::string key = s_.substr(pos_, end - pos_);
    pos_ = end + 1;
    ECG_CHECK(!key.empty(), "{}: bad scp_codes '{}': empty code", where_, cell_excerpt(s_));
    return key;
  }
  double parse_number() {
    skip_space();
    const char* begin = s_.c_str() + pos_;
    char* end = nullptr;
    errno = 0;
    const double v = std::strtod(begin, &end);
    ECG_CHECK(end != begin && errno == 0 && std::isfinite(v),
              "{}: bad scp_codes '{}': expected a likelihood at offset {}", where_,
              cell_excerpt(s_), pos_);
    // PTB-XL likelihoods are percentages (0, 15, 35, 50, 80, 100).
    ECG_CHECK(v >= 0 && v <= 100, "{}: bad scp_codes '{}': likelihood {} outside 0..100", where_,
              cell_excerpt(s_), v);
    pos_ += static_cast<size_t>(end - begin);
    return v;
  }

  const std::string& s_;
  const std::string& where_;
  size_t pos_ = 0;
};

}  // namespace

std::map<std::string, double> parse_scp_codes(const std::string& text, const std::string& where) {
  return DictParser(text, where).parse();
}

std::vector<PtbxlRecord> parse_ptbxl_database(const std::string& csv_text,
                                              const std::string& source) {
  constexpr int64_t kMaxId = 2147483647;
  constexpr int64_t kMinFold = 1, kMaxFold = 10;
  // Row by row: the database's cells are never all in memory at once (at 100k records they
  // would be ~120 MB of strings; PTB-XL's 21,799 rows are ~25 MB).
  std::vector<std::string> header;
  size_t c_id = 0, c_patient = 0, c_codes = 0, c_fold = 0, c_lr = 0, c_hr = 0;
  std::vector<PtbxlRecord> out;
  for_each_csv_row(csv_text, source, [&](std::vector<std::string>& row, size_t row_no) {
    if (row_no == 1) {
      header = std::move(row);
      auto index_of = [&](const std::string& name) {
        auto it = std::find(header.begin(), header.end(), name);
        ECG_CHECK(it != header.end(), "{}: missing column '{}'", source, name);
        return static_cast<size_t>(it - header.begin());
      };
      c_id = index_of("ecg_id");
      c_patient = index_of("patient_id");
      c_codes = index_of("scp_codes");
      c_fold = index_of("strat_fold");
      c_lr = index_of("filename_lr");
      c_hr = index_of("filename_hr");
      return;
    }
    if (row.size() == 1 && row[0].empty()) return;  // blank trailing line
    const std::string where = fmt::format("{} row {}", source, row_no);
    ECG_CHECK(row.size() == header.size(), "{}: {} fields, header has {}", where, row.size(),
              header.size());
    PtbxlRecord rec;
    // Ids are int64 in the HDF5 file; PTB-XL's are below 30000, so 2^31 - 1 is a loose bound.
    rec.ecg_id = parse_id(row[c_id], where, "ecg_id", 1, kMaxId);
    const std::string where_id = fmt::format("{} (ecg_id {})", where, rec.ecg_id);
    rec.patient_id = parse_id(row[c_patient], where_id, "patient_id", 0, kMaxId);
    const int64_t fold = parse_id(row[c_fold], where_id, "strat_fold", kMinFold, kMaxFold);
    rec.fold = static_cast<int>(fold);
    rec.scp_codes = parse_scp_codes(row[c_codes], where_id);
    rec.filename_lr = std::move(row[c_lr]);
    rec.filename_hr = std::move(row[c_hr]);
    check_record_path(rec.filename_lr, where_id, "filename_lr");
    check_record_path(rec.filename_hr, where_id, "filename_hr");
    out.push_back(std::move(rec));
  });
  ECG_CHECK(!header.empty(), "{}: empty file, expected the ptbxl_database header row", source);
  std::sort(out.begin(), out.end(),
            [](const PtbxlRecord& a, const PtbxlRecord& b) { return a.ecg_id < b.ecg_id; });
  for (size_t i = 1; i < out.size(); ++i) {
    ECG_CHECK(out[i].ecg_id != out[i - 1].ecg_id, "{}: ecg_id {} appears twice", source,
              out[i].ecg_id);
  }
  return out;
}

std::vector<PtbxlRecord> read_ptbxl_database(const std::string& path) {
  // The real file is ~10 MB; the bound keeps a wrong path (an image, a log) from filling memory.
  constexpr size_t kMaxDatabaseBytes = size_t{256} << 20;
  return parse_ptbxl_database(read_text_file_bounded(path, kMaxDatabaseBytes, "PTB-XL database"),
                              path);
}

}  // namespace ecg::data
