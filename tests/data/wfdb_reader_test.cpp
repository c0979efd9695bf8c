// WFDB reader against the real PTB-XL record 00001_lr and damaged copies of it.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/error.h"
#include "data/formats/wfdb.h"
#include "tests/test_util.h"

namespace {

namespace fs = std::filesystem;
using ecg::testing::TempDir;

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

// Expects read_wfdb_record to throw an ecg::Error whose message contains every fragment.
void expect_rejected(const std::string& record, const std::vector<std::string>& fragments) {
  try {
    ecg::data::read_wfdb_record(record);
    FAIL() << "no error for " << record;
  } catch (const ecg::Error& e) {
    for (const auto& f : fragments) {
      EXPECT_NE(e.message().find(f), std::string::npos) << "'" << f << "' not in: " << e.message();
    }
    EXPECT_EQ(e.message().find('\n'), std::string::npos) << "error is not one line";
  }
}

void replace_in_file(const std::string& path, const std::string& from, const std::string& to) {
  std::string text = ecg::testing::read_text_file(path);
  const auto at = text.find(from);
  ASSERT_NE(at, std::string::npos);
  text.replace(at, from.size(), to);
  ecg::testing::write_text_file(path, text);
}

TEST(WfdbReader, RealPtbxlRecordHeader) {
  const auto h = ecg::data::read_wfdb_header(fixture_record());
  EXPECT_EQ(h.record_name, "00001_lr");
  EXPECT_EQ(h.n_signals, 12);
  EXPECT_DOUBLE_EQ(h.sampling_rate, 100.0);
  EXPECT_EQ(h.n_samples, 1000);
  ASSERT_EQ(h.signals.size(), 12u);
  EXPECT_EQ(h.signals[0].description, "I");
  EXPECT_EQ(h.signals[3].description, "AVR");
  EXPECT_EQ(h.signals[11].description, "V6");
  EXPECT_DOUBLE_EQ(h.signals[0].gain, 1000.0);
  EXPECT_EQ(h.signals[0].units, "mV");
  EXPECT_EQ(h.signals[0].initial_value, -119);
  EXPECT_EQ(h.signals[2].checksum, 64758);
  // Also accepts the path with its extension.
  EXPECT_EQ(ecg::data::read_wfdb_header(fixture_record() + ".hea").n_samples, 1000);
}

TEST(WfdbReader, RealPtbxlRecordValuesAndChecksums) {
  // verify=true (the default) checks every initial value and checksum of the real header.
  const auto rec = ecg::data::read_wfdb_record(fixture_record());
  ASSERT_EQ(rec.samples.size(), 12u);
  ASSERT_EQ(rec.samples[0].size(), 1000u);
  EXPECT_FLOAT_EQ(rec.samples[0][0], -0.119f);
  EXPECT_FLOAT_EQ(rec.samples[0][1], -0.116f);
  // Every value equals the .dat's int16 / 1000, cross-checked with numpy.
  const auto py = ecg::testing::run_python(
      "import numpy as np\n"
      "a = np.fromfile('" +
      fixture_record() +
      ".dat', dtype='<i2').reshape(-1, 12)\n"
      "print(a.shape[0], ' '.join(str(int(v)) for v in a.sum(axis=0)), int(a[500, 7]))\n");
  ASSERT_EQ(py.exit_code, 0) << py.output;
  std::istringstream in(py.output);
  size_t n = 0;
  in >> n;
  EXPECT_EQ(n, rec.samples[0].size());
  for (int s = 0; s < 12; ++s) {
    long long want = 0;
    in >> want;
    double have = 0;
    for (float v : rec.samples[static_cast<size_t>(s)]) have += std::lround(v * 1000.0f);
    EXPECT_EQ(static_cast<long long>(have), want) << "lead " << s;
  }
  int v500 = 0;
  in >> v500;
  EXPECT_FLOAT_EQ(rec.samples[7][500], v500 / 1000.0f);
}

TEST(WfdbReader, FlippedByteFailsChecksum) {
  TempDir dir;
  const auto record = copy_record(dir);
  {
    std::fstream f(record + ".dat", std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(4001);
    char c = 0;
    f.read(&c, 1);
    c = static_cast<char>(c ^ 0x10);
    f.seekp(4001);
    f.write(&c, 1);
  }
  expect_rejected(record, {record + ".dat", "checksum mismatch"});
  // Unverified reading still works (e.g. for forensic tools).
  EXPECT_NO_THROW(ecg::data::read_wfdb_record(record, /*verify=*/false));
}

TEST(WfdbReader, BadInitialValueRejected) {
  TempDir dir;
  const auto record = copy_record(dir);
  replace_in_file(record + ".hea", "16 0 -55 723", "16 0 -56 723");
  expect_rejected(record, {record + ".dat", "initial value mismatch", "lead II"});
}

TEST(WfdbReader, TruncatedDatRejected) {
  TempDir dir;
  const auto record = copy_record(dir);
  fs::resize_file(record + ".dat", 23000);
  expect_rejected(record, {record + ".dat", "truncated", "23000", "24000"});
}

TEST(WfdbReader, MissingFilesRejected) {
  TempDir dir;
  const auto record = copy_record(dir);
  fs::remove(record + ".dat");
  expect_rejected(record, {"missing WFDB record file", record + ".dat"});
  expect_rejected(dir / "nope", {"missing WFDB record file", dir / "nope.hea"});
}

TEST(WfdbReader, NonFiniteSampleRejected) {
  TempDir dir;
  const auto record = copy_record(dir);
  // A (denormal) gain that turns ADC units into infinities.
  replace_in_file(record + ".hea", "00001_lr.dat 16 1000.0(0)/mV 16 0 -31",
                  "00001_lr.dat 16 1e-320(0)/mV 16 0 -31");
  expect_rejected(record, {record + ".dat", "non-finite sample", "V2"});
}

TEST(WfdbReader, MalformedHeaderRejected) {
  TempDir dir;
  const auto record = copy_record(dir);
  replace_in_file(record + ".hea", "00001_lr 12 100 1000", "00001_lr 13 100 1000");
  expect_rejected(record, {record + ".hea", "13 signals"});
}

}  // namespace
