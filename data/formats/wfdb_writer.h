// The bytes of a WFDB record (header text and format-16 signal file) without touching the disk.
// write_wfdb_record (data/formats/wfdb.h) writes them durably one record at a time (two fsyncs per
// record); batch writers such as `synth` write thousands of records and instead sync the file
// system once before publishing the table that lists them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ecg::data {

struct WfdbFiles {
  std::string header;  // contents of <record>.hea
  std::string dat;     // contents of the signal file (<record><signal_extension>)
};

// How the signal file is laid out beyond format 16: PTB-XL's plain `.dat` (the default), or the
// Challenges' `.mat` whose samples follow a MATLAB v4 header (format "16+24").
struct WfdbEncoding {
  std::string signal_extension = ".dat";
  std::string prefix;                 // bytes before the first sample; format "16+<size>"
  std::vector<std::string> comments;  // written as "#<comment>" after the signal lines
};

// Same arguments and checks as write_wfdb_record; record_name is the file name without extension.
WfdbFiles encode_wfdb_record(const std::string& record_name, double sampling_rate,
                             const std::vector<std::string>& lead_names,
                             const std::vector<std::vector<int16_t>>& adc, double gain = 1000.0,
                             const WfdbEncoding& encoding = {});

}  // namespace ecg::data
