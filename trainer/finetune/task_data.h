// The labelled view of one preprocessed HDF5 file for one task: the file's metadata and the
// task's label matrix (data/dataset_info.h, the file's one read side), which records are in the
// train / val / test folds, which of them have at least one label of the task (the PTB-XL
// benchmark drops the others, and we count them), and the nested --train-fraction subset.
// Signals stay on disk: ranks read their own records through sharding/.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/dataset_info.h"
#include "trainer/finetune/train_options.h"

namespace ecg::finetune {

struct SplitCounts {
  int64_t records = 0;     // records of the split's folds
  int64_t unlabelled = 0;  // dropped: no label of the task
};

struct TaskData {
  data::DatasetInfo file;
  data::LabelMatrix labels;               // [file.n_records, classes]
  std::vector<int64_t> train, val, test;  // labelled record indices (train after --train-fraction)
  SplitCounts train_counts, val_counts, test_counts;
  int64_t train_before_fraction = 0;

  const std::vector<std::string>& classes() const { return labels.classes; }
  int64_t num_classes() const { return labels.num_classes(); }
  nlohmann::json summary() const;
};

// Reads metadata and the task's labels and splits the folds; errors name the file and the piece.
TaskData load_task_data(const TrainOptions& options);

}  // namespace ecg::finetune
