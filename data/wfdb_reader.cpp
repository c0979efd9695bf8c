// WFDB header parsing and format-16 record reading (see data/wfdb.h). A damaged record must never
// become silent garbage in a training set, so the reader verifies the .dat length, every signal's
// initial value and 16-bit checksum, and that physical values are finite; each failure is one line
// naming the file at fault.
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/error.h"
#include "data/wfdb.h"

namespace ecg::data {
namespace {

std::string strip_extension(const std::string& record_path) {
  const std::string ext = ".hea";
  if (record_path.size() > ext.size() &&
      record_path.compare(record_path.size() - ext.size(), ext.size(), ext) == 0) {
    return record_path.substr(0, record_path.size() - ext.size());
  }
  return record_path;
}

double parse_double(const std::string& text, const std::string& what, const std::string& file) {
  errno = 0;
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  // ERANGE on underflow (denormals) is accepted: the value is still a number.
  ECG_CHECK(!text.empty() && end == text.c_str() + text.size() &&
                !(errno == ERANGE && std::abs(v) == HUGE_VAL),
            "{}: bad {} '{}'", file, what, text);
  return v;
}

int64_t parse_int(const std::string& text, const std::string& what, const std::string& file) {
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(text.c_str(), &end, 10);
  ECG_CHECK(!text.empty() && end == text.c_str() + text.size() && errno != ERANGE,
            "{}: bad {} '{}'", file, what, text);
  return v;
}

// "1000.0(0)/mV" -> gain 1000, baseline 0, units mV (baseline and units optional).
void parse_gain_field(const std::string& field, WfdbSignal& sig, const std::string& file) {
  std::string gain_part = field;
  auto slash = gain_part.find('/');
  if (slash != std::string::npos) {
    sig.units = gain_part.substr(slash + 1);
    gain_part = gain_part.substr(0, slash);
  }
  auto paren = gain_part.find('(');
  if (paren != std::string::npos) {
    auto close = gain_part.find(')', paren);
    ECG_CHECK(close != std::string::npos, "{}: bad ADC gain field '{}'", file, field);
    sig.baseline = static_cast<int>(
        parse_int(gain_part.substr(paren + 1, close - paren - 1), "baseline", file));
    gain_part = gain_part.substr(0, paren);
  }
  sig.gain = parse_double(gain_part, "ADC gain", file);
  // WFDB convention: a gain of 0 means "uncalibrated, use the default of 200 units per mV".
  if (sig.gain == 0.0) sig.gain = 200.0;
}

}  // namespace

WfdbHeader read_wfdb_header(const std::string& record_path) {
  const std::string base = strip_extension(record_path);
  const std::string hea = base + ".hea";
  std::ifstream in(hea);
  ECG_CHECK(in.good(), "missing WFDB record file {}: {}", hea, std::strerror(errno));

  WfdbHeader header;
  std::string line;
  bool have_record_line = false;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    auto first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') continue;  // blank or comment
    std::istringstream fields(line);
    if (!have_record_line) {
      // record_name n_signals [fs[/counter_freq[(base_counter)]] [n_samples ...]]
      std::string name, nsig, fs, nsamp;
      fields >> name >> nsig >> fs >> nsamp;
      ECG_CHECK(!name.empty() && !nsig.empty(), "{}: bad record line '{}'", hea, line);
      ECG_CHECK(name.find('/') == std::string::npos, "{}: multi-segment records are not supported",
                hea);
      header.record_name = name;
      header.n_signals = static_cast<int>(parse_int(nsig, "number of signals", hea));
      ECG_CHECK(header.n_signals > 0, "{}: no signals", hea);
      if (!fs.empty()) {
        header.sampling_rate = parse_double(fs.substr(0, fs.find_first_of("/(")), "frequency", hea);
      } else {
        header.sampling_rate = 250.0;  // the WFDB default
      }
      ECG_CHECK(header.sampling_rate > 0, "{}: bad sampling frequency {}", hea, fs);
      ECG_CHECK(!nsamp.empty(), "{}: the record line gives no number of samples", hea);
      header.n_samples = parse_int(nsamp, "number of samples", hea);
      ECG_CHECK(header.n_samples > 0, "{}: bad number of samples {}", hea, nsamp);
      have_record_line = true;
      continue;
    }
    if (static_cast<int>(header.signals.size()) == header.n_signals) break;  // info lines follow
    // file format gain(baseline)/units adc_res adc_zero init_val checksum block_size description
    WfdbSignal sig;
    std::string format, gain, res, zero, init, sum, block;
    fields >> sig.file_name >> format >> gain >> res >> zero >> init >> sum >> block;
    ECG_CHECK(!block.empty(), "{}: signal line {} has too few fields: '{}'", hea,
              header.signals.size() + 1, line);
    std::getline(fields, sig.description);
    sig.description.erase(0, sig.description.find_first_not_of(" \t"));
    ECG_CHECK(format.find_first_of("x:+") == std::string::npos,
              "{}: signal format '{}' with skew/offset/multiplier is not supported", hea, format);
    sig.format = static_cast<int>(parse_int(format, "signal format", hea));
    ECG_CHECK(sig.format == 16, "{}: signal format {} is not supported (only 16)", hea, sig.format);
    parse_gain_field(gain, sig, hea);
    sig.adc_resolution = static_cast<int>(parse_int(res, "ADC resolution", hea));
    sig.adc_zero = static_cast<int>(parse_int(zero, "ADC zero", hea));
    sig.initial_value = static_cast<int>(parse_int(init, "initial value", hea));
    sig.checksum = static_cast<int>(parse_int(sum, "checksum", hea));
    sig.block_size = static_cast<int>(parse_int(block, "block size", hea));
    header.signals.push_back(std::move(sig));
  }
  ECG_CHECK(have_record_line, "{}: empty WFDB header", hea);
  ECG_CHECK(static_cast<int>(header.signals.size()) == header.n_signals,
            "{}: header declares {} signals but describes {}", hea, header.n_signals,
            header.signals.size());
  for (const auto& sig : header.signals) {
    ECG_CHECK(sig.file_name == header.signals[0].file_name,
              "{}: signals stored in several files ({} and {}) are not supported", hea,
              header.signals[0].file_name, sig.file_name);
  }
  return header;
}

WfdbRecord read_wfdb_record(const std::string& record_path, bool verify) {
  WfdbRecord record;
  record.header = read_wfdb_header(record_path);
  const WfdbHeader& h = record.header;
  const std::string base = strip_extension(record_path);
  const std::string dat =
      (std::filesystem::path(base).parent_path() / h.signals[0].file_name).string();

  std::ifstream in(dat, std::ios::binary);
  ECG_CHECK(in.good(), "missing WFDB record file {}: {}", dat, std::strerror(errno));
  const size_t n_sig = static_cast<size_t>(h.n_signals);
  const size_t n_t = static_cast<size_t>(h.n_samples);
  const size_t expected = n_sig * n_t * 2;
  std::vector<unsigned char> bytes(expected);
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(expected));
  const size_t got = static_cast<size_t>(in.gcount());
  ECG_CHECK(got == expected, "{}: truncated signal file: {} bytes, header needs {}", dat, got,
            expected);

  record.samples.assign(n_sig, std::vector<float>(n_t));
  std::vector<uint32_t> sums(n_sig, 0);
  for (size_t t = 0; t < n_t; ++t) {
    for (size_t s = 0; s < n_sig; ++s) {
      const size_t at = 2 * (t * n_sig + s);
      // Format 16: little-endian two's complement int16, independent of the host's byte order.
      const auto raw = static_cast<uint16_t>(bytes[at] | (bytes[at + 1] << 8));
      const auto adc = static_cast<int16_t>(raw);
      sums[s] += raw;
      if (t == 0 && verify) {
        ECG_CHECK(adc == h.signals[s].initial_value,
                  "{}: initial value mismatch for lead {}: header {}, data {}", dat,
                  h.signals[s].description, h.signals[s].initial_value, adc);
      }
      const auto& sig = h.signals[s];
      record.samples[s][t] = static_cast<float>((adc - sig.baseline) / sig.gain);
    }
  }
  if (verify) {
    for (size_t s = 0; s < n_sig; ++s) {
      // The checksum is the sum of all samples modulo 2^16; headers write it signed or unsigned.
      const uint16_t want = static_cast<uint16_t>(h.signals[s].checksum & 0xFFFF);
      const uint16_t have = static_cast<uint16_t>(sums[s] & 0xFFFF);
      ECG_CHECK(want == have, "{}: checksum mismatch for lead {}: header {}, data {}", dat,
                h.signals[s].description, h.signals[s].checksum, static_cast<int16_t>(have));
    }
  }
  for (size_t s = 0; s < n_sig; ++s) {
    for (size_t t = 0; t < n_t; ++t) {
      ECG_CHECK(std::isfinite(record.samples[s][t]),
                "{}: non-finite sample in lead {} at sample {} (ADC gain {})", dat,
                h.signals[s].description, t, h.signals[s].gain);
    }
  }
  return record;
}

}  // namespace ecg::data
