// CSV text -> rows of fields, with libcsv doing the quoting rules (PTB-XL's descriptions contain
// quoted commas; our own prediction files are plain). Strict: a stray quote is an error naming
// the source and the row, never a silently merged field.
#pragma once

#include <string>
#include <vector>

namespace ecg::data {

using CsvRows = std::vector<std::vector<std::string>>;

CsvRows parse_csv(const std::string& text, const std::string& source);

}  // namespace ecg::data
