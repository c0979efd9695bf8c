// The labelled view of a preprocessed file for one task (trainer/finetune/task_data.h): folds 1-8 / 9 /
// 10, records without a label of the task dropped and counted, nested train fractions.
#include <gtest/gtest.h>

#include <algorithm>

#include "common/error.h"
#include "trainer/finetune/task_data.h"
#include "tests/test_util.h"

namespace ecg::finetune {
namespace {

class TaskDataTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    std::string why;
    path_ = testing::make_synthetic_h5(*dir_, "ptbxl", 120, 5, &why);
    ASSERT_FALSE(path_.empty()) << why;
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static TrainOptions options(const std::string& task, double fraction = 1.0) {
    TrainOptions o;
    o.data = path_;
    o.task = task;
    o.train_fraction = fraction;
    return o;
  }
  static testing::TempDir* dir_;
  static std::string path_;
};
testing::TempDir* TaskDataTest::dir_ = nullptr;
std::string TaskDataTest::path_;

TEST_F(TaskDataTest, SplitsFoldsAndCountsUnlabelledRecords) {
  const TaskData d = load_task_data(options("superdiagnostic"));
  EXPECT_EQ(d.file.n_records, 120);
  EXPECT_EQ(d.classes().size(), 5u);
  EXPECT_EQ(d.labels.n_records, d.file.n_records);
  EXPECT_EQ(d.train_counts.records + d.val_counts.records + d.test_counts.records, d.file.n_records);
  EXPECT_EQ(static_cast<int64_t>(d.val.size()), d.val_counts.records - d.val_counts.unlabelled);
  EXPECT_EQ(static_cast<int64_t>(d.test.size()), d.test_counts.records - d.test_counts.unlabelled);
  EXPECT_EQ(d.train_before_fraction, d.train_counts.records - d.train_counts.unlabelled);
  for (int64_t i : d.val) EXPECT_EQ(d.file.fold[static_cast<size_t>(i)], 9);
  for (int64_t i : d.test) EXPECT_EQ(d.file.fold[static_cast<size_t>(i)], 10);
  for (int64_t i : d.train) {
    EXPECT_LE(d.file.fold[static_cast<size_t>(i)], 8);
    const uint8_t* row = d.labels.values.data() + i * d.num_classes();
    EXPECT_TRUE(std::any_of(row, row + d.num_classes(), [](uint8_t v) { return v != 0; }));
  }
  const auto summary = d.summary();
  EXPECT_EQ(summary["records_in_file"], 120);
  EXPECT_EQ(summary["test"]["used"], d.test.size());
}

TEST_F(TaskDataTest, TrainFractionsAreNestedSubsets) {
  const TaskData all = load_task_data(options("superdiagnostic"));
  const TaskData half = load_task_data(options("superdiagnostic", 0.5));
  EXPECT_LT(half.train.size(), all.train.size());
  for (int64_t i : half.train) {
    EXPECT_NE(std::find(all.train.begin(), all.train.end(), i), all.train.end()) << i;
  }
  EXPECT_EQ(half.val, all.val);
  EXPECT_EQ(half.test, all.test);
}

TEST_F(TaskDataTest, AnUnknownTaskNamesTheFile) {
  try {
    load_task_data(options("nonexistent"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(e.message().find(path_), std::string::npos) << e.message();
    EXPECT_NE(e.message().find("nonexistent"), std::string::npos) << e.message();
  }
}

}  // namespace
}  // namespace ecg::finetune
