// WFDB records as PTB-XL ships them: one header (.hea) and one signal file (.dat) in format 16
// (little-endian int16, samples of all signals interleaved). Reading verifies the header's initial
// values and checksums so that a damaged file never becomes silent garbage in the training set.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ecg::data {

struct WfdbSignal {
  std::string file_name;    // e.g. "00001_lr.dat"
  int format = 16;          // only 16 is supported
  double gain = 1000.0;     // ADC units per physical unit (mV)
  int baseline = 0;         // ADC value of 0 mV
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
};

// A record in physical units: samples[s][t] in mV for signal s (header order).
struct WfdbRecord {
  WfdbHeader header;
  std::vector<std::vector<float>> samples;
};

// Parses "<path>.hea" (path given without extension, or with ".hea"). Errors name the file.
WfdbHeader read_wfdb_header(const std::string& record_path);

// Reads header + .dat, verifies length, initial values and checksums (unless verify=false).
WfdbRecord read_wfdb_record(const std::string& record_path, bool verify = true);

// Writes "<record_path>.hea" and "<record_path>.dat" in format 16 from ADC values
// adc[s][t] (int16), computing initial values and checksums. Lead names go to descriptions.
void write_wfdb_record(const std::string& record_path, double sampling_rate,
                       const std::vector<std::string>& lead_names,
                       const std::vector<std::vector<int16_t>>& adc, double gain = 1000.0);

}  // namespace ecg::data
