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
  std::string dat;     // contents of <record>.dat
};

// Same arguments and checks as write_wfdb_record; record_name is the file name without extension.
WfdbFiles encode_wfdb_record(const std::string& record_name, double sampling_rate,
                             const std::vector<std::string>& lead_names,
                             const std::vector<std::vector<int16_t>>& adc, double gain = 1000.0);

}  // namespace ecg::data
