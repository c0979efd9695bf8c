// WFDB writer for the layout PTB-XL ships: one format-16 .dat (little-endian int16, leads
// interleaved) plus a .hea whose signal lines read exactly like PTB-XL's, e.g.
//   00001_lr.dat 16 1000.0(0)/mV 16 0 -119 1508 0 I
// (file, format, gain(baseline)/units, ADC resolution, ADC zero, initial value, checksum,
// block size, description). The checksum is the 16-bit sum of the samples; PTB-XL prints it as
// an unsigned value in 0..65535 (e.g. 64758), so we do too and readers compare it mod 2^16.
#include "data/formats/wfdb_writer.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "common/atomic_file.h"
#include "common/error.h"
#include "data/formats/wfdb.h"

namespace ecg::data {
namespace {

// "1000.0" for integral gains (as PTB-XL prints them), the shortest round-trip form otherwise.
std::string format_gain(double gain) {
  if (gain == std::floor(gain) && std::fabs(gain) < 1e15) return fmt::format("{:.1f}", gain);
  return fmt::format("{}", gain);
}

// "100" / "500" for integral rates (PTB-XL), shortest round-trip form otherwise.
std::string format_rate(double rate) {
  if (rate == std::floor(rate) && std::fabs(rate) < 1e15)
    return fmt::format("{}", static_cast<int64_t>(rate));
  return fmt::format("{}", rate);
}

}  // namespace

WfdbFiles encode_wfdb_record(const std::string& record_name, double sampling_rate,
                             const std::vector<std::string>& lead_names,
                             const std::vector<std::vector<int16_t>>& adc, double gain,
                             const WfdbEncoding& encoding) {
  const std::string& record_path = record_name;  // named in errors
  ECG_CHECK(!record_name.empty() && record_name.find(' ') == std::string::npos,
            "WFDB record path '{}' must end in a record name without spaces", record_path);
  ECG_CHECK(sampling_rate > 0, "WFDB record {}: sampling rate must be > 0, got {}", record_path,
            sampling_rate);
  ECG_CHECK(gain > 0, "WFDB record {}: gain must be > 0, got {}", record_path, gain);
  ECG_CHECK(!adc.empty(), "WFDB record {}: no signals to write", record_path);
  ECG_CHECK(lead_names.size() == adc.size(), "WFDB record {}: {} lead names for {} signals",
            record_path, lead_names.size(), adc.size());
  const size_t n_signals = adc.size();
  const size_t n_samples = adc.front().size();
  for (size_t s = 0; s < n_signals; ++s) {
    ECG_CHECK(adc[s].size() == n_samples,
              "WFDB record {}: signal {} has {} samples, signal 0 has {}", record_path,
              lead_names[s], adc[s].size(), n_samples);
    ECG_CHECK(!lead_names[s].empty() && lead_names[s].find_first_of(" \n") == std::string::npos,
              "WFDB record {}: lead name '{}' must be non-empty without spaces", record_path,
              lead_names[s]);
  }

  // Interleave as little-endian bytes explicitly so the file is right on any host byte order.
  for (const auto& c : encoding.comments) {
    ECG_CHECK(c.find_first_of("\r\n") == std::string::npos,
              "WFDB record {}: a comment line must not contain a line break", record_path);
  }
  const size_t prefix = encoding.prefix.size();
  std::string dat(prefix + n_signals * n_samples * 2, '\0');
  dat.replace(0, prefix, encoding.prefix);
  std::vector<uint16_t> checksum(n_signals, 0);
  for (size_t t = 0; t < n_samples; ++t) {
    for (size_t s = 0; s < n_signals; ++s) {
      const auto v = static_cast<uint16_t>(adc[s][t]);
      checksum[s] = static_cast<uint16_t>(checksum[s] + v);  // wraps mod 2^16 by design
      const size_t at = prefix + (t * n_signals + s) * 2;
      dat[at] = static_cast<char>(v & 0xFF);
      dat[at + 1] = static_cast<char>(v >> 8);
    }
  }

  const std::string dat_name = record_name + encoding.signal_extension;
  const std::string format = prefix ? fmt::format("16+{}", prefix) : std::string("16");
  std::string hea =
      fmt::format("{} {} {} {}\n", record_name, n_signals, format_rate(sampling_rate), n_samples);
  const std::string gain_text = format_gain(gain);
  for (size_t s = 0; s < n_signals; ++s) {
    const int initial = n_samples > 0 ? adc[s][0] : 0;
    hea += fmt::format("{} {} {}(0)/mV 16 0 {} {} 0 {}\n", dat_name, format, gain_text, initial,
                       checksum[s], lead_names[s]);
  }
  for (const auto& c : encoding.comments) hea += "#" + c + "\n";
  return {std::move(hea), std::move(dat)};
}

void write_wfdb_record(const std::string& record_path, double sampling_rate,
                       const std::vector<std::string>& lead_names,
                       const std::vector<std::vector<int16_t>>& adc, double gain) {
  const std::string record_name = std::filesystem::path(record_path).filename().string();
  WfdbFiles files = encode_wfdb_record(record_name, sampling_rate, lead_names, adc, gain);
  // Signal file first: a header on disk therefore always describes a complete .dat.
  write_file_atomically(record_path + ".dat", files.dat);
  write_file_atomically(record_path + ".hea", files.header);
}

}  // namespace ecg::data
