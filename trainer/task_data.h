// The labelled view of one preprocessed HDF5 file for one task: which records are in the
// train / val / test folds, which of them have at least one label of the task (the PTB-XL
// benchmark drops the others, and we count them), the nested --train-fraction subset, and the
// label matrix. Signals stay on disk: ranks read their own records through sharding/.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "trainer/train_options.h"

namespace ecg::trainer {

struct SplitCounts {
  int64_t records = 0;     // records of the split's folds
  int64_t unlabelled = 0;  // dropped: no label of the task
};

struct TaskData {
  std::string path;
  std::string task;
  int64_t num_records = 0;
  int64_t num_samples = 0;  // T
  int sampling_rate = 0;
  std::vector<std::string> leads;  // the file's lead order
  nlohmann::json manifest;         // the file's preprocessing manifest
  std::vector<int64_t> ecg_id;
  std::vector<int8_t> fold;
  std::vector<std::string> classes;
  std::vector<uint8_t> labels;  // [num_records, classes.size()]
  std::vector<int64_t> train, val, test;  // labelled record indices (train after --train-fraction)
  SplitCounts train_counts, val_counts, test_counts;
  int64_t train_before_fraction = 0;

  int64_t num_classes() const { return static_cast<int64_t>(classes.size()); }
  nlohmann::json summary() const;
};

// Reads ids, folds, labels, attributes; errors name the file and the missing piece.
TaskData load_task_data(const TrainOptions& options);

// Dataset-level metadata only (no labels): for pretraining and predict.
TaskData load_unlabelled_data(const std::string& path);

}  // namespace ecg::trainer
