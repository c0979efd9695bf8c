// The WFDB reader against hostile headers and signal files: every case fails with one ecg::Error
// line naming the file and the field or limit, before anything large is allocated.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <functional>

#include "common/error.h"
#include "data/formats/wfdb.h"
#include "tests/test_util.h"

namespace {

namespace fs = std::filesystem;
using ecg::testing::TempDir;
namespace limits = ecg::data::wfdb_limits;

std::string fixture_record() {
  return ecg::testing::ptbxl_fixture_dir() + "/records100/00000/00001_lr";
}

// Copies 00001_lr.{hea,dat} into dir (writable) and returns the record path.
std::string copy_record(const TempDir& dir) {
  for (const char* ext : {".hea", ".dat"}) {
    fs::copy_file(fixture_record() + ext, dir / (std::string("00001_lr") + ext));
    fs::permissions(dir / (std::string("00001_lr") + ext),
                    fs::perms::owner_read | fs::perms::owner_write);
  }
  return dir / "00001_lr";
}

std::string real_header() {
  return ecg::testing::read_text_file(fixture_record() + ".hea");
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

// Runs `read`, expects one ecg::Error line containing every fragment, and a bounded message.
void expect_error(const std::function<void()>& read, const std::vector<std::string>& fragments) {
  try {
    read();
    ADD_FAILURE() << "no error; expected " << fragments.front();
  } catch (const ecg::Error& e) {
    for (const auto& f : fragments) {
      EXPECT_NE(e.message().find(f), std::string::npos) << "'" << f << "' not in: " << e.message();
    }
    EXPECT_EQ(e.message().find_first_of("\n\r"), std::string::npos) << e.message();
    EXPECT_LT(e.message().size(), 400u) << e.message();
  }
}

// Parses header text as if it were dir/00001_lr.hea.
void expect_header_error(const std::string& text, const std::vector<std::string>& fragments) {
  SCOPED_TRACE(fragments.front());
  const std::string hea = "/records/00001_lr.hea";
  auto with_file = fragments;
  with_file.push_back(hea);
  expect_error([&] { ecg::data::parse_wfdb_header(text, hea); }, with_file);
}

// Writes `header` over the copied record's .hea and expects read_wfdb_record to fail.
void expect_record_error(const std::string& record, const std::string& header,
                         const std::vector<std::string>& fragments) {
  SCOPED_TRACE(fragments.front());
  ecg::testing::write_text_file(record + ".hea", header);
  expect_error([&] { ecg::data::read_wfdb_record(record); }, fragments);
}

TEST(WfdbHostile, SignalFileMustStayInTheRecordDirectory) {
  const std::string h = real_header();
  expect_header_error(replace_all(h, "00001_lr.dat", "../../etc/passwd"),
                      {"signal 1", "'../../etc/passwd'", "'..'"});
  expect_header_error(replace_all(h, "00001_lr.dat", "sub/../../00001_lr.dat"), {"'..'"});
  expect_header_error(replace_all(h, "00001_lr.dat", "/dev/zero"), {"'/dev/zero'", "absolute"});
  expect_header_error(replace_all(h, "00001_lr.dat", "~"), {"signal 1", "'~'"});
  expect_header_error(replace_all(h, "00001_lr.dat", "sub/"), {"'sub/'", "directory"});

  // A relative path that stays inside is a WFDB feature and keeps working.
  TempDir dir;
  const auto record = copy_record(dir);
  fs::create_directories(dir / "sub");
  fs::rename(record + ".dat", dir / "sub/00001_lr.dat");
  ecg::testing::write_text_file(record + ".hea",
                                replace_all(h, "00001_lr.dat", "sub/00001_lr.dat"));
  EXPECT_EQ(ecg::data::read_wfdb_record(record).samples.size(), 12u);
}

TEST(WfdbHostile, GainMustBePositiveAndFinite) {
  const std::string h = real_header();
  expect_header_error(replace_all(h, "1000.0(0)", "-1000.0(0)"),
                      {"signal 1", "ADC gain -1000 must be > 0"});
  for (const char* bad : {"inf(0)", "nan(0)", "1e999(0)", "(0)", "1000.0(0)x"}) {
    expect_header_error(replace_all(h, "1000.0(0)", bad), {"signal 1"});
  }
  expect_header_error(replace_all(h, "1000.0(0)", "1000.0(nan)"), {"signal 1 baseline", "'nan'"});
  expect_header_error(replace_all(h, "1000.0(0)", "1000.0(99999999999)"),
                      {"signal 1 baseline", "99999999999", "outside"});
  expect_header_error(replace_all(h, "(0)/mV", "(0)/uV"), {"signal 1", "units 'uV'"});

  // WFDB's conventions stay: gain 0 means 200 units per mV, a missing baseline is the ADC zero.
  TempDir dir;
  const auto record = copy_record(dir);
  ecg::testing::write_text_file(record + ".hea", replace_all(h, "1000.0(0)", "0(0)"));
  EXPECT_FLOAT_EQ(ecg::data::read_wfdb_record(record).samples[0][0], -119 / 200.0f);
  ecg::testing::write_text_file(record + ".hea",
                                replace_all(h, " 1000.0(0)/mV 16 0 ", " 1000.0/mV 16 7 "));
  EXPECT_FLOAT_EQ(ecg::data::read_wfdb_record(record).samples[0][0], (-119 - 7) / 1000.0f);
}

TEST(WfdbHostile, DeclaredSizeCheckedAgainstTheFileBeforeAllocating) {
  TempDir dir;
  const auto record = copy_record(dir);
  const std::string h = real_header();
  // 10^12 samples: checked against the 24000-byte file, never allocated.
  expect_record_error(record,
                      replace_all(h, "00001_lr 12 100 1000", "00001_lr 12 100 1000000000000"),
                      {record + ".dat", "truncated", "24000 bytes", "24000000000000"});
  // A claim whose byte count overflows 64 bits.
  expect_record_error(record,
                      replace_all(h, "00001_lr 12 100 1000", "00001_lr 12 100 9223372036854775807"),
                      {record + ".dat", "truncated", "more than 2^64"});
  // Trailing bytes, including an odd count, mean the header does not describe this file.
  ecg::testing::write_text_file(record + ".hea", h);
  for (int extra : {1, 2}) {
    TempDir d2;
    const auto r2 = copy_record(d2);
    fs::resize_file(r2 + ".dat", 24000 + extra);
    expect_error([&] { ecg::data::read_wfdb_record(r2); },
                 {r2 + ".dat", std::to_string(24000 + extra) + " bytes", "describes 24000"});
  }
  // A sparse file big enough for the claim still meets the per-record memory limit.
  const int64_t n = limits::kMaxRecordSamples / 12 + 1;
  fs::resize_file(record + ".dat", static_cast<uintmax_t>(n) * 24);
  expect_record_error(
      record, replace_all(h, "00001_lr 12 100 1000", "00001_lr 12 100 " + std::to_string(n)),
      {record + ".dat", "exceed the limit of " + std::to_string(limits::kMaxRecordSamples)});
}

TEST(WfdbHostile, RecordLineBounds) {
  const std::string h = real_header();
  auto rec_line = [&](const std::string& line) {
    return replace_all(h, "00001_lr 12 100 1000", line);
  };
  expect_header_error(rec_line("00001_lr 100000 100 1000"),
                      {"number of signals 100000 outside 1..256"});
  expect_header_error(rec_line("00001_lr 0 100 1000"), {"number of signals 0 outside"});
  expect_header_error(rec_line("00001_lr 12abc 100 1000"), {"bad number of signals '12abc'"});
  expect_header_error(rec_line("00001_lr 12 0 1000"), {"sampling frequency 0 Hz outside"});
  expect_header_error(rec_line("00001_lr 12 -100 1000"), {"sampling frequency -100 Hz outside"});
  expect_header_error(rec_line("00001_lr 12 1e9 1000"),
                      {"sampling frequency", "outside (0, 100000]"});
  expect_header_error(rec_line("00001_lr 12 nan 1000"), {"bad sampling frequency 'nan'"});
  expect_header_error(rec_line("00001_lr 12 100 -5"), {"number of samples -5 outside"});
  expect_header_error(rec_line("00001_lr 12 100 99999999999999999999999"),
                      {"bad number of samples"});
  expect_header_error(rec_line("00002_lr 12 100 1000"), {"names record '00002_lr'"});
  expect_header_error(rec_line("00001_lr 12 100"), {"no number of samples"});
}

TEST(WfdbHostile, SignalLineFields) {
  const std::string h = real_header();
  expect_header_error(replace_all(h, "16 1000.0(0)", "212 1000.0(0)"),
                      {"signal 1 format 212 is not supported"});
  expect_header_error(replace_all(h, "16 1000.0(0)", "16x2 1000.0(0)"), {"signal 1 format '16x2'"});
  expect_header_error(replace_all(h, "-119 1508", "abc 1508"),
                      {"bad signal 1 initial value 'abc'"});
  expect_header_error(replace_all(h, "-119 1508", "99999 1508"),
                      {"signal 1 initial value 99999 outside -32768..32767"});
  expect_header_error(replace_all(h, "-119 1508", "-119 4294967296"), {"signal 1 checksum"});
  expect_header_error(replace_all(h, "-119 1508 0 I", "-119 1508"), {"signal 1 line has too few"});
  // More signal lines than declared, fewer, and leads in different files.
  expect_header_error(replace_all(h, "00001_lr 12 100", "00001_lr 11 100"),
                      {"line 13", "beyond the 11 signals"});
  expect_header_error(replace_all(h, "00001_lr 12 100", "00001_lr 13 100"),
                      {"declares 13 signals but describes 12"});
  std::string two_files = h;
  two_files.replace(two_files.rfind("00001_lr.dat"), 12, "other.dat");
  expect_header_error(two_files, {"several files", "other.dat"});
  // Blank lines, comments and CRLF line ends are fine.
  const auto ok = ecg::data::parse_wfdb_header("\n# note\n" + replace_all(h, "\n", "\r\n\n"),
                                               "/records/00001_lr.hea");
  EXPECT_EQ(ok.signals.size(), 12u);
  EXPECT_EQ(ok.signals[11].description, "V6");
}

TEST(WfdbHostile, HeaderSizeAndLineLimits) {
  const std::string h = real_header();
  // A 20 MB garbage field in a signal line: refused by the header size limit, message stays short.
  TempDir dir;
  const auto record = copy_record(dir);
  expect_record_error(record, replace_all(h, " I\n", " " + std::string(20 << 20, 'A') + "\n"),
                      {record + ".hea", "limit of " + std::to_string(limits::kMaxHeaderBytes)});
  expect_header_error(h + "# " + std::string(limits::kMaxHeaderBytes, 'x') + "\n",
                      {"limit of 1048576 bytes"});
  expect_header_error(replace_all(h, " I\n", " " + std::string(5000, 'A') + "\n"),
                      {"line 2 is longer than the limit of 4096 bytes"});
  expect_header_error(std::string("00001_lr 12 100 1000\n00001_lr.dat\0../x 16", 41),
                      {"NUL byte at offset 33"});
  expect_header_error("", {"empty WFDB header"});
  expect_header_error("# only a comment\n\n", {"empty WFDB header"});
}

TEST(WfdbHostile, NonRegularFilesRefused) {
  TempDir dir;
  const auto record = copy_record(dir);
  fs::remove(record + ".dat");
  ASSERT_EQ(::mkfifo((record + ".dat").c_str(), 0600), 0);
  // A FIFO would block the reader forever; it is refused before it is opened.
  expect_error([&] { ecg::data::read_wfdb_record(record); },
               {record + ".dat", "not a regular file"});
  fs::create_directories(dir / "d.hea");
  expect_error([&] { ecg::data::read_wfdb_header(dir / "d"); },
               {dir / "d.hea", "not a regular file"});
}

}  // namespace
