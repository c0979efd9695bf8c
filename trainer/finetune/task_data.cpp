#include "trainer/finetune/task_data.h"

#include <algorithm>

#include "common/error.h"
#include "sharding/train_fraction.h"

namespace ecg::finetune {

nlohmann::json TaskData::summary() const {
  return {{"records_in_file", file.n_records},
          {"classes", labels.classes.size()},
          {"train", {{"records", train_counts.records}, {"unlabelled_dropped", train_counts.unlabelled},
                     {"after_train_fraction", train.size()}}},
          {"val", {{"records", val_counts.records}, {"unlabelled_dropped", val_counts.unlabelled},
                   {"used", val.size()}}},
          {"test", {{"records", test_counts.records}, {"unlabelled_dropped", test_counts.unlabelled},
                    {"used", test.size()}}}};
}

TaskData load_task_data(const TrainOptions& options) {
  TaskData d;
  d.file = data::read_dataset_info(options.data);
  d.labels = data::read_labels(options.data, options.task);
  const std::string& path = d.file.path;
  ECG_CHECK(d.labels.n_records == d.file.n_records, "{}: /labels/{} has {} rows for {} records", path,
            options.task, d.labels.n_records, d.file.n_records);
  const int64_t c = d.num_classes();
  ECG_CHECK(c > 0, "{}: task '{}' has no classes", path, options.task);
  auto has_label = [&](int64_t i) {
    const uint8_t* row = d.labels.values.data() + i * c;
    return std::any_of(row, row + c, [](uint8_t v) { return v != 0; });
  };
  std::vector<int64_t> train_all;
  for (int64_t i = 0; i < d.file.n_records; ++i) {
    const int f = d.file.fold[static_cast<size_t>(i)];
    const bool is_train = std::find(options.train_folds.begin(), options.train_folds.end(), f) !=
                          options.train_folds.end();
    SplitCounts* counts = nullptr;
    std::vector<int64_t>* out = nullptr;
    if (is_train) {
      counts = &d.train_counts;
      out = &train_all;
    } else if (f == options.val_fold) {
      counts = &d.val_counts;
      out = &d.val;
    } else if (f == options.test_fold) {
      counts = &d.test_counts;
      out = &d.test;
    } else {
      continue;
    }
    ++counts->records;
    if (has_label(i)) {
      out->push_back(i);
    } else {
      ++counts->unlabelled;
    }
  }
  d.train_before_fraction = static_cast<int64_t>(train_all.size());
  ECG_CHECK(!train_all.empty(), "{}: no labelled records of task '{}' in the training folds", path,
            options.task);
  ECG_CHECK(!d.val.empty(), "{}: no labelled records of task '{}' in validation fold {}", path, options.task,
            options.val_fold);
  ECG_CHECK(!d.test.empty(), "{}: no labelled records of task '{}' in test fold {}", path, options.task,
            options.test_fold);
  sharding::LabelView view{d.labels.values.data(), d.file.n_records, c};
  d.train = sharding::select_train_fraction(view, train_all, options.train_fraction, options.seed);
  return d;
}

}  // namespace ecg::finetune
