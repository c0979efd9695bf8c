#include "data/csv_table.h"

#include <csv.h>

#include "common/error.h"

namespace ecg::data {
namespace {

struct CsvState {
  CsvRows rows;
  std::vector<std::string> row;
};

void on_field(void* field, size_t len, void* data) {
  auto* state = static_cast<CsvState*>(data);
  state->row.emplace_back(field != nullptr ? static_cast<const char*>(field) : "", len);
}

void on_row_end(int /*terminator*/, void* data) {
  auto* state = static_cast<CsvState*>(data);
  state->rows.push_back(std::move(state->row));
  state->row.clear();
}

}  // namespace

CsvRows parse_csv(const std::string& text, const std::string& source) {
  csv_parser parser;
  ECG_CHECK(csv_init(&parser, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) == 0,
            "{}: cannot initialise libcsv", source);
  CsvState state;
  const size_t consumed = csv_parse(&parser, text.data(), text.size(), on_field, on_row_end, &state);
  const int fini = csv_fini(&parser, on_field, on_row_end, &state);
  const int err = csv_error(&parser);
  csv_free(&parser);
  ECG_CHECK(consumed == text.size() && fini == 0, "{}: malformed CSV near row {}: {}", source,
            state.rows.size() + 1, csv_strerror(err));
  return std::move(state.rows);
}

}  // namespace ecg::data
