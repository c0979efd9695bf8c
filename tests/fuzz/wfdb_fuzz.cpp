// libFuzzer target for the WFDB reader (data/formats/wfdb_reader.cpp): header parsing, the signal file
// size checks and format-16 decoding with verification, byte offsets ("16+24") and the Challenge's
// MATLAB v4 .mat header check, and the Challenge's #Age/#Sex/#Dx info lines
// (data/formats/challenge_record.cpp).
//
// Input layout: header text, one NUL byte, signal file bytes. A header may not contain NUL (the
// reader refuses it), so the first NUL is an unambiguous separator; without one, the signal file
// is empty. The signal bytes are written as both rec.dat and rec.mat (a header names either), the
// header as rec.hea, into a temp directory private to this
// process, so parallel fuzzing jobs (-jobs=N) do not share files. Seeds: tests/fuzz/corpus/wfdb/.
//
// Only ecg::Error is caught: any other exception (std::bad_alloc, std::length_error, ...) or a
// sanitizer report is a finding.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "common/error.h"
#include "data/formats/challenge_record.h"
#include "data/formats/wfdb.h"

namespace {

std::string g_dir;

void remove_dir() {
  std::error_code ignored;
  std::filesystem::remove_all(g_dir, ignored);
}

void write_file(const std::string& path, const char* data, size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data, static_cast<std::streamsize>(size));
  if (!out) std::abort();  // the harness itself failed (disk full): not a finding in the reader
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "wfdb-fuzz-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
  g_dir = tmpl;
  std::atexit(remove_dir);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const char* bytes = reinterpret_cast<const char*>(data);
  const std::string input(bytes, size);
  const size_t nul = input.find('\0');
  const size_t header_size = nul == std::string::npos ? size : nul;
  const size_t signal_at = nul == std::string::npos ? size : nul + 1;

  // The in-memory parser on the whole input (a NUL in it must be refused, not mis-split).
  try {
    ecg::data::parse_wfdb_header(input, g_dir + "/rec.hea");
  } catch (const ecg::Error&) {
  }

  write_file(g_dir + "/rec.hea", bytes, header_size);
  write_file(g_dir + "/rec.dat", bytes + signal_at, size - signal_at);
  write_file(g_dir + "/rec.mat", bytes + signal_at, size - signal_at);
  try {
    const auto header = ecg::data::read_wfdb_header(g_dir + "/rec");
    ecg::data::parse_challenge_meta(header.comments, g_dir + "/rec.hea");
  } catch (const ecg::Error&) {
  }
  for (bool verify : {true, false}) {
    try {
      const auto record = ecg::data::read_wfdb_record(g_dir + "/rec", verify);
      // What the reader promises: one vector per declared signal, each n_samples long.
      if (record.samples.size() != static_cast<size_t>(record.header.n_signals)) std::abort();
      for (const auto& lead : record.samples) {
        if (lead.size() != static_cast<size_t>(record.header.n_samples)) std::abort();
      }
    } catch (const ecg::Error&) {
    }
  }
  return 0;
}
