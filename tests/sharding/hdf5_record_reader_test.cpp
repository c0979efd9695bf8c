#include "sharding/hdf5_record_reader.h"

#include <gtest/gtest.h>

#include <functional>

#include "common/error.h"
#include "tests/sharding/sharding_fixture.h"
#include "tests/test_util.h"

namespace ecg::sharding {
namespace {

using ecg::testing::fixture_label;
using ecg::testing::fixture_value;
using ecg::testing::FixtureOptions;
using ecg::testing::TempDir;
using ecg::testing::write_fixture_file;

std::string expect_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const ecg::Error& e) {
    return e.message();
  }
  ADD_FAILURE() << "expected an ecg::Error";
  return {};
}

TEST(Hdf5RecordReader, ReadsExactlyTheValuesWritten) {
  TempDir dir;
  const std::string path = dir / "data.h5";
  FixtureOptions o;
  write_fixture_file(path, o);
  Hdf5RecordReader reader(path);
  EXPECT_EQ(reader.num_records(), o.records);
  EXPECT_EQ(reader.num_leads(), 12);
  EXPECT_EQ(reader.num_samples(), o.samples);

  // Runs {0,1,2}, {7}, {20,21}, {39}: four reads.
  std::vector<int64_t> idx = {0, 1, 2, 7, 20, 21, 39};
  std::vector<float> buf(idx.size() * static_cast<size_t>(reader.record_size()), -1.0f);
  reader.read_signals(idx, buf.data());
  EXPECT_EQ(reader.last_read_calls(), 4);
  for (size_t k = 0; k < idx.size(); ++k)
    for (int64_t l = 0; l < 12; ++l)
      for (int64_t t = 0; t < o.samples; ++t)
        ASSERT_EQ(buf[(k * 12 + static_cast<size_t>(l)) * static_cast<size_t>(o.samples) +
                      static_cast<size_t>(t)],
                  fixture_value(idx[k], l, t))
            << "record " << idx[k] << " lead " << l << " t " << t;
}

TEST(Hdf5RecordReader, ContiguousFileReadsInOneCall) {
  TempDir dir;
  FixtureOptions o;
  o.chunked = false;
  write_fixture_file(dir / "c.h5", o);
  Hdf5RecordReader reader(dir / "c.h5");
  std::vector<int64_t> idx = {10, 11, 12, 13};
  std::vector<float> buf(idx.size() * static_cast<size_t>(reader.record_size()));
  reader.read_signals(idx, buf.data());
  EXPECT_EQ(reader.last_read_calls(), 1);
  EXPECT_EQ(buf[static_cast<size_t>(reader.record_size()) * 3 + 5], fixture_value(13, 0, 5));
}

TEST(Hdf5RecordReader, RejectsBadIndices) {
  TempDir dir;
  write_fixture_file(dir / "d.h5");
  Hdf5RecordReader reader(dir / "d.h5");
  std::vector<float> buf(static_cast<size_t>(reader.record_size()) * 2);
  EXPECT_NE(expect_error([&] {
              reader.read_signals({3, 2}, buf.data());
            }).find("increasing"),
            std::string::npos);
  EXPECT_NE(expect_error([&] { reader.read_signals({40}, buf.data()); }).find("outside"),
            std::string::npos);
}

TEST(Hdf5RecordReader, MissingSignalsNamesFileAndDataset) {
  TempDir dir;
  const std::string path = dir / "nosig.h5";
  FixtureOptions o;
  o.signals = false;
  write_fixture_file(path, o);
  std::string msg = expect_error([&] { Hdf5RecordReader reader(path); });
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  EXPECT_NE(msg.find("/signals"), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << "one line: " << msg;
}

TEST(Hdf5RecordReader, IllShapedSignalsNamesTheShape) {
  TempDir dir;
  const std::string path = dir / "eight.h5";
  FixtureOptions o;
  o.leads = 8;
  write_fixture_file(path, o);
  std::string msg = expect_error([&] { Hdf5RecordReader reader(path); });
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  EXPECT_NE(msg.find("[40, 8, 64]"), std::string::npos) << msg;
}

TEST(Hdf5RecordReader, MissingFileIsOneClearLine) {
  TempDir dir;
  std::string msg = expect_error([&] { Hdf5RecordReader reader(dir / "absent.h5"); });
  EXPECT_NE(msg.find("absent.h5"), std::string::npos) << msg;
}

}  // namespace
}  // namespace ecg::sharding
