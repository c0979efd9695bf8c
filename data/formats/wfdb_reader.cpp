// WFDB header parsing and format-16 record reading (see data/formats/wfdb.h). A damaged record must never
// become silent garbage in a training set, so the reader verifies the .dat length, every signal's
// initial value and 16-bit checksum, and that physical values are finite; each failure is one line
// naming the file at fault.
//
// Headers arrive with downloaded datasets and are treated as hostile: every number is range
// checked before it sizes anything, the .dat's size is compared with the header's claim before a
// sample is allocated, and the signal file a header names must lie inside the header's directory.
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <new>
#include <sstream>
#include <vector>

#include "common/error.h"
#include "data/formats/wfdb.h"

#include "data/formats/csv_table.h"

namespace ecg::data {
namespace {

namespace fs = std::filesystem;
using namespace wfdb_limits;

std::string strip_extension(const std::string& record_path) {
  const std::string ext = ".hea";
  if (record_path.size() > ext.size() &&
      record_path.compare(record_path.size() - ext.size(), ext.size(), ext) == 0) {
    return record_path.substr(0, record_path.size() - ext.size());
  }
  return record_path;
}

// Header text quoted in an error: clipped, control characters shown as '?', so that a hostile
// field can neither flood the log nor break the message over several lines.
// Same clipping as CSV cells (data/formats/csv_table.h).
std::string excerpt(const std::string& text) { return cell_excerpt(text); }

double parse_double(const std::string& text, const std::string& what, const std::string& file) {
  errno = 0;
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  // ERANGE on underflow (denormals) is accepted: the value is still a number. "inf"/"nan" are not.
  ECG_CHECK(!text.empty() && end == text.c_str() + text.size() && std::isfinite(v) &&
                !(errno == ERANGE && std::abs(v) == HUGE_VAL),
            "{}: bad {} '{}'", file, what, excerpt(text));
  return v;
}

int64_t parse_int(const std::string& text, const std::string& what, const std::string& file,
                  int64_t lo, int64_t hi) {
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(text.c_str(), &end, 10);
  ECG_CHECK(!text.empty() && end == text.c_str() + text.size() && errno != ERANGE,
            "{}: bad {} '{}'", file, what, excerpt(text));
  ECG_CHECK(v >= lo && v <= hi, "{}: {} {} outside {}..{}", file, what, v, lo, hi);
  return v;
}

constexpr int64_t kIntMin = std::numeric_limits<int>::min();
constexpr int64_t kIntMax = std::numeric_limits<int>::max();

// "1000.0(0)/mV" -> gain 1000, baseline 0, units mV (baseline and units optional).
void parse_gain_field(const std::string& field, WfdbSignal& sig, const std::string& what,
                      const std::string& file) {
  std::string gain_part = field;
  auto slash = gain_part.find('/');
  if (slash != std::string::npos) {
    sig.units = gain_part.substr(slash + 1);
    gain_part = gain_part.substr(0, slash);
  }
  // Samples come back in mV (wfdb.h); other units would be silently mis-scaled.
  ECG_CHECK(sig.units == "mV", "{}: {} units '{}' are not supported (only mV)", file, what,
            excerpt(sig.units));
  bool have_baseline = false;
  auto paren = gain_part.find('(');
  if (paren != std::string::npos) {
    ECG_CHECK(gain_part.back() == ')', "{}: {} bad ADC gain field '{}'", file, what,
              excerpt(field));
    sig.baseline =
        static_cast<int>(parse_int(gain_part.substr(paren + 1, gain_part.size() - paren - 2),
                                   what + " baseline", file, kIntMin, kIntMax));
    gain_part = gain_part.substr(0, paren);
    have_baseline = true;
  }
  sig.gain = parse_double(gain_part, what + " ADC gain", file);
  // WFDB convention: a gain of 0 means "uncalibrated, use the default of 200 units per mV".
  if (sig.gain == 0.0) sig.gain = 200.0;
  // A negative gain would silently invert the lead.
  ECG_CHECK(sig.gain > 0, "{}: {} ADC gain {} must be > 0", file, what, sig.gain);
  if (!have_baseline) sig.baseline = sig.adc_zero;  // WFDB: baseline defaults to the ADC zero
}

// The signal file must stay inside the header's directory: a header naming "../../etc/shadow" or
// "/dev/zero" is refused, not read as an ECG.
void check_signal_file_name(const std::string& name, const std::string& what,
                            const std::string& hea) {
  ECG_CHECK(name != "~", "{}: {} has no signal file ('~'), which is not supported", hea, what);
  const fs::path p(name);
  ECG_CHECK(
      !p.has_root_name() && !p.has_root_directory(),
      "{}: {} signal file '{}' is an absolute path; it must lie inside the record's directory", hea,
      what, excerpt(name));
  for (const auto& part : p) {
    ECG_CHECK(part != "..",
              "{}: {} signal file '{}' has a '..' component; it must lie inside the record's "
              "directory",
              hea, what, excerpt(name));
  }
  ECG_CHECK(p.has_filename(), "{}: {} signal file '{}' names a directory", hea, what,
            excerpt(name));
}

WfdbSignal parse_signal_line(const std::string& line, size_t index, const std::string& hea) {
  const std::string what = fmt::format("signal {}", index + 1);
  // file format gain(baseline)/units adc_res adc_zero init_val checksum block_size description
  std::istringstream fields(line);
  WfdbSignal sig;
  std::string format, gain, res, zero, init, sum, block;
  fields >> sig.file_name >> format >> gain >> res >> zero >> init >> sum >> block;
  ECG_CHECK(!block.empty(), "{}: {} line has too few fields: '{}'", hea, what, excerpt(line));
  std::getline(fields, sig.description);
  sig.description.erase(0, sig.description.find_first_not_of(" \t"));
  check_signal_file_name(sig.file_name, what, hea);
  ECG_CHECK(format.find_first_of("x:") == std::string::npos,
            "{}: {} format '{}' with a skew or samples-per-frame multiplier is not supported", hea,
            what, excerpt(format));
  const auto plus = format.find('+');
  if (plus != std::string::npos) {
    // The byte offset bounds a seek, not an allocation; the file-size check covers the rest.
    sig.byte_offset = parse_int(format.substr(plus + 1), what + " byte offset", hea, 0, kIntMax);
    format.resize(plus);
  }
  sig.format = static_cast<int>(parse_int(format, what + " format", hea, 0, 1000));
  ECG_CHECK(sig.format == 16, "{}: {} format {} is not supported (only 16)", hea, what, sig.format);
  // Resolution and zero come first: the gain field's baseline defaults to the ADC zero.
  sig.adc_resolution = static_cast<int>(parse_int(res, what + " ADC resolution", hea, 0, 64));
  sig.adc_zero = static_cast<int>(parse_int(zero, what + " ADC zero", hea, kIntMin, kIntMax));
  parse_gain_field(gain, sig, what, hea);
  // Format 16 samples are int16; checksums are 16-bit, written signed or unsigned.
  sig.initial_value =
      static_cast<int>(parse_int(init, what + " initial value", hea, -32768, 32767));
  sig.checksum = static_cast<int>(parse_int(sum, what + " checksum", hea, -32768, 65535));
  sig.block_size = static_cast<int>(parse_int(block, what + " block size", hea, 0, kIntMax));
  return sig;
}

// Opens a record file; a FIFO, device or directory is refused before open() could block on it.
void open_record_file(const std::string& path, std::ifstream& in) {
  std::error_code ec;
  const auto type = fs::status(path, ec).type();
  ECG_CHECK(type == fs::file_type::regular || type == fs::file_type::not_found || ec,
            "{}: not a regular file", path);
  in.open(path, std::ios::binary);
  ECG_CHECK(in.good(), "missing WFDB record file {}: {}", path, std::strerror(errno));
}

// Reads the header file, refusing more than kMaxHeaderBytes before holding it all in memory.
std::string read_header_text(const std::string& hea) {
  std::ifstream in;
  open_record_file(hea, in);
  std::string text;
  char buf[4096];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, static_cast<size_t>(in.gcount()));
    ECG_CHECK(text.size() <= kMaxHeaderBytes, "{}: header larger than the limit of {} bytes", hea,
              kMaxHeaderBytes);
  }
  ECG_CHECK(!in.bad(), "{}: read error", hea);
  return text;
}

// A Challenge-style `.mat` (format "16+24") starts with a MATLAB v4 header of its own: it must
// describe the same int16 matrix of n_signals x n_samples that the WFDB header does, so that a
// file swapped for another record's, or one written with other dimensions, is not read as ECG.
void check_mat_v4_prefix(std::ifstream& in, const std::string& mat, const WfdbHeader& h) {
  unsigned char b[24];
  in.read(reinterpret_cast<char*>(b), sizeof b);
  ECG_CHECK(in.gcount() == static_cast<std::streamsize>(sizeof b), "{}: cannot read its MATLAB v4 header",
            mat);
  auto le32 = [&](int i) {
    return static_cast<int64_t>(static_cast<uint32_t>(b[4 * i] | (b[4 * i + 1] << 8) |
                                                      (b[4 * i + 2] << 16) |
                                                      (static_cast<uint32_t>(b[4 * i + 3]) << 24)));
  };
  ECG_CHECK(le32(0) == 30 && le32(3) == 0,
            "{}: MATLAB v4 header type {} (imaginary {}), expected 30: a little-endian int16 real "
            "matrix",
            mat, le32(0), le32(3));
  ECG_CHECK(le32(1) == h.n_signals && le32(2) == h.n_samples,
            "{}: MATLAB v4 header says {} x {}, the WFDB header {} signals x {} samples", mat,
            le32(1), le32(2), h.n_signals, h.n_samples);
  ECG_CHECK(le32(4) == 4, "{}: MATLAB v4 header name length {}, expected 4 ('val')", mat, le32(4));
}

}  // namespace

WfdbHeader parse_wfdb_header(const std::string& text, const std::string& hea) {
  ECG_CHECK(text.size() <= kMaxHeaderBytes, "{}: header larger than the limit of {} bytes", hea,
            kMaxHeaderBytes);
  // A NUL would cut a file name short where the OS reads it, after it was checked here.
  const auto nul = text.find('\0');
  ECG_CHECK(nul == std::string::npos, "{}: NUL byte at offset {} in a text header", hea, nul);

  WfdbHeader header;
  bool have_record_line = false;
  size_t line_no = 0;
  for (size_t at = 0; at < text.size();) {
    size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(at, end - at);
    at = end + 1;
    ++line_no;
    ECG_CHECK(line.size() <= kMaxLineBytes, "{}: line {} is longer than the limit of {} bytes", hea,
              line_no, kMaxLineBytes);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    auto first = line.find_first_not_of(" \t");
    if (first == std::string::npos) continue;  // blank
    if (line[first] == '#') {
      // Info lines after the signal lines carry metadata (the Challenges' #Dx); earlier comments
      // are remarks.
      if (have_record_line) {
        std::string info = line.substr(first + 1);
        info.erase(0, info.find_first_not_of(" \t"));
        header.comments.push_back(std::move(info));
      }
      continue;
    }
    if (!have_record_line) {
      // record_name n_signals [fs[/counter_freq[(base_counter)]] [n_samples ...]]
      std::istringstream fields(line);
      std::string name, nsig, freq, nsamp;
      fields >> name >> nsig >> freq >> nsamp;
      ECG_CHECK(!name.empty() && !nsig.empty(), "{}: bad record line '{}'", hea, excerpt(line));
      ECG_CHECK(name.find('/') == std::string::npos, "{}: multi-segment records are not supported",
                hea);
      // As in the WFDB library: a header describes the record its file is named after.
      const std::string stem = fs::path(hea).stem().string();
      ECG_CHECK(name == stem, "{}: record line names record '{}', the file is for '{}'", hea,
                excerpt(name), excerpt(stem));
      header.record_name = name;
      header.n_signals =
          static_cast<int>(parse_int(nsig, "number of signals", hea, 1, kMaxSignals));
      header.signals.reserve(static_cast<size_t>(header.n_signals));
      if (!freq.empty()) {
        header.sampling_rate =
            parse_double(freq.substr(0, freq.find_first_of("/(")), "sampling frequency", hea);
      } else {
        header.sampling_rate = 250.0;  // the WFDB default
      }
      ECG_CHECK(header.sampling_rate > 0 && header.sampling_rate <= kMaxSamplingRate,
                "{}: sampling frequency {} Hz outside (0, {}]", hea, header.sampling_rate,
                kMaxSamplingRate);
      ECG_CHECK(!nsamp.empty(), "{}: the record line gives no number of samples", hea);
      header.n_samples =
          parse_int(nsamp, "number of samples", hea, 1, std::numeric_limits<int64_t>::max());
      have_record_line = true;
      continue;
    }
    // After the signal lines only comment ("#" info) lines may follow.
    ECG_CHECK(static_cast<int>(header.signals.size()) < header.n_signals,
              "{}: line {} is a signal line beyond the {} signals the record line declares", hea,
              line_no, header.n_signals);
    header.signals.push_back(parse_signal_line(line, header.signals.size(), hea));
  }
  ECG_CHECK(have_record_line, "{}: empty WFDB header", hea);
  ECG_CHECK(static_cast<int>(header.signals.size()) == header.n_signals,
            "{}: header declares {} signals but describes {}", hea, header.n_signals,
            header.signals.size());
  for (const auto& sig : header.signals) {
    ECG_CHECK(sig.file_name == header.signals[0].file_name,
              "{}: signals stored in several files ({} and {}) are not supported", hea,
              excerpt(header.signals[0].file_name), excerpt(sig.file_name));
    ECG_CHECK(sig.byte_offset == header.signals[0].byte_offset,
              "{}: signals of one file with different byte offsets ({} and {}) are not supported",
              hea, header.signals[0].byte_offset, sig.byte_offset);
  }
  return header;
}

WfdbHeader read_wfdb_header(const std::string& record_path) {
  const std::string hea = strip_extension(record_path) + ".hea";
  return parse_wfdb_header(read_header_text(hea), hea);
}

WfdbRecord read_wfdb_record(const std::string& record_path, bool verify) {
  WfdbRecord record;
  record.header = read_wfdb_header(record_path);
  const WfdbHeader& h = record.header;
  const std::string base = strip_extension(record_path);
  const std::string dat = (fs::path(base).parent_path() / h.signals[0].file_name).string();

  std::ifstream in;
  open_record_file(dat, in);
  std::error_code ec;
  const uintmax_t size = fs::file_size(dat, ec);
  ECG_CHECK(!ec, "{}: cannot get the file size: {}", dat, ec.message());

  // The header's claim against the file, before any allocation; n_sig <= kMaxSignals, so the frame
  // size cannot overflow, and comparing by division keeps a 10^18-sample claim from overflowing.
  const size_t n_sig = static_cast<size_t>(h.n_signals);
  const uintmax_t frame = n_sig * 2;
  const auto n_t_claim = static_cast<uintmax_t>(h.n_samples);
  const auto offset = static_cast<uintmax_t>(h.signals[0].byte_offset);  // <= 2^31
  const std::string offset_text =
      offset ? fmt::format(" after a {}-byte prefix", offset) : std::string();
  ECG_CHECK(size >= offset, "{}: signal file has {} bytes, shorter than its {}-byte prefix", dat,
            size, offset);
  if (n_t_claim > (size - offset) / frame) {
    const std::string need = n_t_claim <= (std::numeric_limits<uintmax_t>::max() - offset) / frame
                                 ? fmt::format("{}", n_t_claim * frame + offset)
                                 : std::string("more than 2^64");
    ECG_FAIL("{}: truncated signal file: {} bytes, header needs {} ({} samples x {} signals x 2{})",
             dat, size, need, h.n_samples, n_sig, offset_text);
  }
  ECG_CHECK(n_t_claim * frame + offset == size,
            "{}: signal file has {} bytes, header describes {} ({} samples x {} signals x 2{})",
            dat, size, n_t_claim * frame + offset, h.n_samples, n_sig, offset_text);
  // A sparse or huge .dat passes the size check; the memory bound still holds.
  ECG_CHECK(h.n_samples <= kMaxRecordSamples / h.n_signals,
            "{}: {} samples x {} signals exceed the limit of {} samples per record", dat,
            h.n_samples, n_sig, kMaxRecordSamples);
  const size_t n_t = static_cast<size_t>(h.n_samples);
  if (offset == 24 && fs::path(dat).extension() == ".mat") {
    check_mat_v4_prefix(in, dat, h);
  } else {
    in.seekg(static_cast<std::streamoff>(offset));
    ECG_CHECK(in.good(), "{}: cannot skip the {}-byte prefix", dat, offset);
  }

  try {
    record.samples.assign(n_sig, std::vector<float>(n_t));
  } catch (const std::bad_alloc&) {
    ECG_FAIL("{}: out of memory for {} samples x {} signals", dat, n_t, n_sig);
  }
  std::vector<uint32_t> sums(n_sig, 0);
  // Decoded in chunks of whole frames: memory stays the float output plus ~64 KiB.
  const size_t chunk_frames = std::max<size_t>(1, (size_t{64} << 10) / frame);
  std::vector<unsigned char> bytes(chunk_frames * frame);
  for (size_t t0 = 0; t0 < n_t; t0 += chunk_frames) {
    const size_t frames = std::min(chunk_frames, n_t - t0);
    const size_t want = frames * frame;
    in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(want));
    // The file can shrink between the size check and here.
    ECG_CHECK(static_cast<size_t>(in.gcount()) == want,
              "{}: truncated signal file: read stopped at sample {} of {}", dat,
              t0 + static_cast<size_t>(in.gcount()) / frame, n_t);
    for (size_t f = 0; f < frames; ++f) {
      const size_t t = t0 + f;
      for (size_t s = 0; s < n_sig; ++s) {
        const size_t at = 2 * (f * n_sig + s);
        // Format 16: little-endian two's complement int16, independent of the host's byte order.
        const auto raw = static_cast<uint16_t>(bytes[at] | (bytes[at + 1] << 8));
        const auto adc = static_cast<int16_t>(raw);
        sums[s] += raw;
        if (t == 0 && verify) {
          ECG_CHECK(adc == h.signals[s].initial_value,
                    "{}: initial value mismatch for lead {}: header {}, data {}", dat,
                    excerpt(h.signals[s].description), h.signals[s].initial_value, adc);
        }
        const auto& sig = h.signals[s];
        record.samples[s][t] =
            static_cast<float>((adc - static_cast<double>(sig.baseline)) / sig.gain);
      }
    }
  }
  if (verify) {
    for (size_t s = 0; s < n_sig; ++s) {
      // The checksum is the sum of all samples modulo 2^16; headers write it signed or unsigned.
      const uint16_t want = static_cast<uint16_t>(h.signals[s].checksum & 0xFFFF);
      const uint16_t have = static_cast<uint16_t>(sums[s] & 0xFFFF);
      ECG_CHECK(want == have, "{}: checksum mismatch for lead {}: header {}, data {}", dat,
                excerpt(h.signals[s].description), h.signals[s].checksum,
                static_cast<int16_t>(have));
    }
  }
  for (size_t s = 0; s < n_sig; ++s) {
    for (size_t t = 0; t < n_t; ++t) {
      ECG_CHECK(std::isfinite(record.samples[s][t]),
                "{}: non-finite sample in lead {} at sample {} (ADC gain {})", dat,
                excerpt(h.signals[s].description), t, h.signals[s].gain);
    }
  }
  return record;
}

}  // namespace ecg::data
