// libcsv-backed CSV parsing with memory bounds (see csv_table.h). The limits are checked in
// libcsv's callbacks, which cannot abort the parser, so the first exceeded limit is recorded and
// parsing stops at the next chunk boundary.
#include "data/formats/csv_table.h"

#include <csv.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "common/error.h"

namespace ecg::data {
namespace {

struct CsvState {
  const CsvLimits* limits = nullptr;
  const std::function<void(std::vector<std::string>&, size_t)>* on_row = nullptr;  // or keep rows
  size_t rows_seen = 0;
  CsvRows rows;
  std::vector<std::string> row;
  size_t cells = 0;
  std::string failure;  // the first limit exceeded; libcsv callbacks cannot stop the parser
  std::exception_ptr error;  // thrown by on_row
};

void on_field(void* field, size_t len, void* data) {
  auto* state = static_cast<CsvState*>(data);
  if (!state->failure.empty()) return;
  const size_t row_no = state->rows_seen + 1;
  if (len > state->limits->max_field_bytes) {
    state->failure = fmt::format("row {} has a field of {} bytes, over the limit of {} bytes",
                                 row_no, len, state->limits->max_field_bytes);
  } else if (state->row.size() >= state->limits->max_fields_per_row) {
    state->failure = fmt::format("row {} has more than the limit of {} fields", row_no,
                                 state->limits->max_fields_per_row);
  } else if (state->on_row == nullptr && state->cells >= state->limits->max_cells) {
    state->failure =
        fmt::format("more than the limit of {} fields in all rows", state->limits->max_cells);
  } else {
    state->row.emplace_back(field != nullptr ? static_cast<const char*>(field) : "", len);
    ++state->cells;
  }
}

void on_row_end(int /*terminator*/, void* data) {
  auto* state = static_cast<CsvState*>(data);
  if (!state->failure.empty()) return;
  ++state->rows_seen;
  if (state->on_row != nullptr) {
    // An exception must not cross libcsv's C frames: keep the first and rethrow after parsing.
    try {
      (*state->on_row)(state->row, state->rows_seen);
    } catch (...) {
      state->error = std::current_exception();
      state->failure = "callback failed";
    }
  } else {
    state->rows.push_back(std::move(state->row));
  }
  state->row.clear();
}

void parse_into(CsvState& state, const std::string& text, const std::string& source) {
  csv_parser parser;
  ECG_CHECK(csv_init(&parser, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) == 0,
            "{}: cannot initialise libcsv", source);
  // Fed in chunks so that parsing stops soon after a limit is exceeded; libcsv keeps its state
  // across calls, so chunk boundaries inside fields or quotes are fine.
  constexpr size_t kChunk = size_t{64} << 10;
  size_t consumed = 0;
  while (consumed < text.size() && state.failure.empty()) {
    const size_t len = std::min(kChunk, text.size() - consumed);
    const size_t took =
        csv_parse(&parser, text.data() + consumed, len, on_field, on_row_end, &state);
    consumed += took;
    if (took != len) break;  // libcsv error (strict mode) or out of memory
  }
  const int fini = state.failure.empty() && consumed == text.size()
                       ? csv_fini(&parser, on_field, on_row_end, &state)
                       : 0;
  const int err = csv_error(&parser);
  csv_free(&parser);
  if (state.error) std::rethrow_exception(state.error);
  ECG_CHECK(state.failure.empty(), "{}: {}", source, state.failure);
  ECG_CHECK(consumed == text.size() && fini == 0, "{}: malformed CSV near row {}: {}", source,
            state.rows_seen + 1, csv_strerror(err));
}

}  // namespace

CsvRows parse_csv(const std::string& text, const std::string& source, const CsvLimits& limits) {
  CsvState state;
  state.limits = &limits;
  parse_into(state, text, source);
  return std::move(state.rows);
}

void for_each_csv_row(const std::string& text, const std::string& source,
                      const std::function<void(std::vector<std::string>& row, size_t row_no)>& on_row,
                      const CsvLimits& limits) {
  CsvState state;
  state.limits = &limits;
  state.on_row = &on_row;
  parse_into(state, text, source);
}


std::vector<std::string> split_fields(const std::string& text, char sep) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at <= text.size()) {
    size_t end = text.find(sep, at);
    if (end == std::string::npos) end = text.size();
    out.push_back(text.substr(at, end - at));
    at = end + 1;
  }
  return out;
}

std::string cell_excerpt(const std::string& text) {
  constexpr size_t kShown = 60;
  std::string out;
  for (size_t i = 0; i < text.size() && i < kShown; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    out += (c < 0x20 || c == 0x7f) ? '?' : static_cast<char>(c);
  }
  if (text.size() > kShown) out += fmt::format("... ({} bytes)", text.size());
  return out;
}

std::string read_text_file_bounded(const std::string& path, size_t max_bytes,
                                   const std::string& what) {
  std::error_code ec;
  const auto type = std::filesystem::status(path, ec).type();
  ECG_CHECK(type == std::filesystem::file_type::regular ||
                type == std::filesystem::file_type::not_found || ec,
            "{} {}: not a regular file", what, path);
  std::ifstream in(path, std::ios::binary);
  ECG_CHECK(in.good(), "cannot open {} {}: {}", what, path, std::strerror(errno));
  const auto size = std::filesystem::file_size(path, ec);
  ECG_CHECK(ec || size <= max_bytes, "{} {}: {} bytes, over the limit of {} bytes", what, path,
            size, max_bytes);
  std::string text;
  char buf[1 << 16];
  // Bounded while reading too: the file may grow after the size check.
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, static_cast<size_t>(in.gcount()));
    ECG_CHECK(text.size() <= max_bytes, "{} {}: over the limit of {} bytes", what, path, max_bytes);
  }
  ECG_CHECK(!in.bad(), "cannot read {} {}", what, path);
  return text;
}

}  // namespace ecg::data
