// WFDB records as PTB-XL and the PhysioNet/CinC Challenges ship them: one header (.hea) and one
// signal file in format 16 (little-endian int16, samples of all signals interleaved), optionally
// after a byte offset: the Challenges' `.mat` files are format `16+24`, the samples after a 24-byte
// MATLAB v4 header. Reading verifies the header's initial
// values and checksums so that a damaged file never becomes silent garbage in the training set.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace ecg::data {

// Limits on what a header may declare. Headers come with downloaded datasets, so every count in
// them is checked before it sizes an allocation; each limit is far above what PTB-XL needs
// (a .hea of ~600 bytes, 12 signals at 100 or 500 Hz, 1000 or 5000 samples).
namespace wfdb_limits {
inline constexpr size_t kMaxHeaderBytes = size_t{1} << 20;  // 1 MiB
inline constexpr size_t kMaxLineBytes = 4096;
inline constexpr int kMaxSignals = 256;
inline constexpr double kMaxSamplingRate = 100000.0;  // Hz
// samples x signals of one record: 2^28 floats are 1 GiB in memory.
inline constexpr int64_t kMaxRecordSamples = int64_t{1} << 28;
}  // namespace wfdb_limits

struct WfdbSignal {
  std::string file_name;    // e.g. "00001_lr.dat"
  int format = 16;          // only 16 is supported
  int64_t byte_offset = 0;  // "16+24": bytes before the first sample (the same for every signal)
  double gain = 1000.0;     // ADC units per physical unit (mV), > 0
  int baseline = 0;         // ADC value of 0 mV (WFDB: the ADC zero when the header omits it)
  std::string units = "mV";
  int adc_resolution = 16;
  int adc_zero = 0;
  int initial_value = 0;    // first sample, in ADC units
  int checksum = 0;         // 16-bit sum of all samples, as a signed short
  int block_size = 0;
  std::string description;  // the lead name: I, II, III, AVR, AVL, AVF, V1..V6
};

struct WfdbHeader {
  std::string record_name;  // e.g. "00001_lr"
  int n_signals = 0;
  double sampling_rate = 0;  // Hz
  int64_t n_samples = 0;     // per signal
  std::vector<WfdbSignal> signals;
  // "#" info lines after the signal lines, '#' and leading blanks removed (the Challenges write
  // "#Age: 74", "#Sex: Male", "#Dx: 164889003,59118001", ...).
  std::vector<std::string> comments;
};

// A record in physical units: samples[s][t] in mV for signal s (header order).
struct WfdbRecord {
  WfdbHeader header;
  std::vector<std::vector<float>> samples;
};

// Parses "<path>.hea" (path given without extension, or with ".hea"). Errors name the file.
WfdbHeader read_wfdb_header(const std::string& record_path);

// Parses header text; `hea` is the header's file name, used in errors and to check the record name
// on the record line against the file's stem. Signal file names must stay inside the header's
// directory (no absolute names, no ".." components).
WfdbHeader parse_wfdb_header(const std::string& text, const std::string& hea);

// Reads header + .dat, checks the .dat's size against the header before allocating anything,
// verifies initial values and checksums (unless verify=false).
WfdbRecord read_wfdb_record(const std::string& record_path, bool verify = true);

// Writes "<record_path>.hea" and "<record_path>.dat" in format 16 from ADC values
// adc[s][t] (int16), computing initial values and checksums. Lead names go to descriptions.
void write_wfdb_record(const std::string& record_path, double sampling_rate,
                       const std::vector<std::string>& lead_names,
                       const std::vector<std::vector<int16_t>>& adc, double gain = 1000.0);

}  // namespace ecg::data
