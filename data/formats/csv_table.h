// CSV text -> rows of fields, with libcsv doing the quoting rules (PTB-XL's descriptions contain
// quoted commas; our own prediction files are plain). Strict: a stray quote is an error naming
// the source and the row, never a silently merged field.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

namespace ecg::data {

using CsvRows = std::vector<std::vector<std::string>>;

// Bounds on what one CSV may hold in memory, so that a hostile file fails with a message naming
// the limit instead of std::bad_alloc. Each empty field still costs a std::string (~32 bytes), so
// the cell count, not only the text size, bounds memory. The defaults are far above PTB-XL
// (ptbxl_database.csv: ~22k rows x 28 columns, reports of a few hundred bytes).
struct CsvLimits {
  size_t max_field_bytes = size_t{1} << 20;  // 1 MiB
  size_t max_fields_per_row = 4096;
  size_t max_cells = size_t{1} << 23;  // ~8M cells, at most a few hundred MB of std::string
};

CsvRows parse_csv(const std::string& text, const std::string& source,
                  const CsvLimits& limits = CsvLimits{});

// The same rows handed to `on_row` one at a time (row_no is 1-based, the header is row 1) and not
// kept: memory stays one row however long the file. max_cells does not apply (nothing accumulates).
void for_each_csv_row(const std::string& text, const std::string& source,
                      const std::function<void(std::vector<std::string>& row, size_t row_no)>& on_row,
                      const CsvLimits& limits = CsvLimits{});

// "a;b;;c" split at `sep` into {"a", "b", "", "c"} (an empty text gives one empty field): the
// lists inside one cell (a label CSV's classes, SNOMED CT code lists, a RECORDS file's lines).
std::vector<std::string> split_fields(const std::string& text, char sep);

// A cell quoted in an error: clipped to 60 bytes (plus its length), control characters shown as
// '?', so that a hostile cell can neither flood the log nor break the message over lines.
std::string cell_excerpt(const std::string& text);

// Reads a whole text file, refusing files over max_bytes before reading them; `what` names the
// file's role in errors ("PTB-XL database").
std::string read_text_file_bounded(const std::string& path, size_t max_bytes,
                                   const std::string& what);

}  // namespace ecg::data
