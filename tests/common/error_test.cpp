#include <gtest/gtest.h>

#include <filesystem>

#include "common/atomic_file.h"
#include "common/error.h"
#include "tests/test_util.h"

namespace {

TEST(Error, CarriesMessageAndLocation) {
  try {
    ECG_CHECK(1 + 1 == 3, "bad value {} in {}", 42, "field");
    FAIL() << "ECG_CHECK did not throw";
  } catch (const ecg::Error& e) {
    EXPECT_EQ(e.message(), "bad value 42 in field");
    EXPECT_NE(std::string(e.what()).find("error_test.cpp:"), std::string::npos);
    EXPECT_GT(e.line(), 0);
  }
}

TEST(AtomicFile, WritesCompleteFileOrNothing) {
  ecg::testing::TempDir dir;
  const std::string path = dir / "out.txt";
  ecg::write_file_atomically(path, "hello");
  EXPECT_EQ(ecg::testing::read_text_file(path), "hello");
  EXPECT_THROW(ecg::write_atomically(path,
                                     [](const std::string& tmp) {
                                       ecg::testing::write_text_file(tmp, "partial");
                                       ECG_FAIL("midway failure");
                                     }),
               ecg::Error);
  // The old complete file stays; no temp file is left behind.
  EXPECT_EQ(ecg::testing::read_text_file(path), "hello");
  int files = 0;
  for (auto& entry : std::filesystem::directory_iterator(dir.path())) {
    (void)entry;
    ++files;
  }
  EXPECT_EQ(files, 1);
}

}  // namespace
