#include "trainer/task_data.h"

#include <algorithm>

#include "common/error.h"
#include "data/h5.h"
#include "data/hdf5_layout.h"
#include "sharding/train_fraction.h"

namespace ecg::trainer {
namespace {

template <typename T>
std::vector<T> read_1d(hid_t file, const std::string& name, hid_t mem_type, const std::string& path,
                       int64_t expected) {
  auto ds = data::h5_open_dataset(file, name, path);
  auto shape = data::h5_dataset_shape(ds);
  ECG_CHECK(shape.size() == 1 && static_cast<int64_t>(shape[0]) == expected,
            "{}: dataset '{}' must have shape [{}]", path, name, expected);
  std::vector<T> out(static_cast<size_t>(expected));
  ECG_H5_CHECK(H5Dread(ds, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()) >= 0,
               "{}: cannot read '{}'", path, name);
  return out;
}

void read_common(TaskData& d) {
  auto file = data::h5_open_file_readonly(d.path);
  namespace L = data::layout;
  auto signals = data::h5_open_dataset(file, L::kSignals, d.path);
  auto shape = data::h5_dataset_shape(signals);
  ECG_CHECK(shape.size() == 3, "{}: '{}' must be [N, leads, T]", d.path, L::kSignals);
  d.num_records = static_cast<int64_t>(shape[0]);
  d.num_samples = static_cast<int64_t>(shape[2]);
  d.sampling_rate = static_cast<int>(data::h5_read_attribute_int(file, L::kSamplingRateAttr, d.path));
  d.leads = data::h5_read_attribute_strings(file, L::kLeadsAttr, d.path);
  ECG_CHECK(static_cast<int64_t>(d.leads.size()) == static_cast<int64_t>(shape[1]),
            "{}: attribute 'leads' names {} leads but '{}' has {}", d.path, d.leads.size(),
            L::kSignals, shape[1]);
  d.manifest = nlohmann::json::parse(data::h5_read_attribute_string(file, L::kManifestAttr, d.path));
  d.ecg_id = read_1d<int64_t>(file, L::kEcgId, H5T_NATIVE_INT64, d.path, d.num_records);
  d.fold = read_1d<int8_t>(file, L::kFold, H5T_NATIVE_INT8, d.path, d.num_records);
}

}  // namespace

nlohmann::json TaskData::summary() const {
  return {{"records_in_file", num_records},
          {"classes", classes.size()},
          {"train", {{"records", train_counts.records}, {"unlabelled_dropped", train_counts.unlabelled},
                     {"after_train_fraction", train.size()}}},
          {"val", {{"records", val_counts.records}, {"unlabelled_dropped", val_counts.unlabelled},
                   {"used", val.size()}}},
          {"test", {{"records", test_counts.records}, {"unlabelled_dropped", test_counts.unlabelled},
                    {"used", test.size()}}}};
}

TaskData load_unlabelled_data(const std::string& path) {
  TaskData d;
  d.path = path;
  read_common(d);
  return d;
}

TaskData load_task_data(const TrainOptions& options) {
  TaskData d;
  d.path = options.data;
  d.task = options.task;
  read_common(d);
  namespace L = data::layout;
  {
    auto file = data::h5_open_file_readonly(d.path);
    const std::string name = std::string(L::kLabelsGroup) + "/" + options.task;
    auto ds = data::h5_open_dataset(file, name, d.path);
    auto shape = data::h5_dataset_shape(ds);
    ECG_CHECK(shape.size() == 2 && static_cast<int64_t>(shape[0]) == d.num_records,
              "{}: '{}' must be [N, classes]", d.path, name);
    d.classes = data::h5_read_attribute_strings(ds, L::kClassesAttr, d.path);
    ECG_CHECK(d.classes.size() == shape[1], "{}: '{}' has {} columns but {} class names", d.path,
              name, shape[1], d.classes.size());
    d.labels.resize(shape[0] * shape[1]);
    ECG_H5_CHECK(H5Dread(ds, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, d.labels.data()) >= 0,
                 "{}: cannot read '{}'", d.path, name);
  }
  const int64_t c = d.num_classes();
  ECG_CHECK(c > 0, "{}: task '{}' has no classes", d.path, options.task);
  auto has_label = [&](int64_t i) {
    const uint8_t* row = d.labels.data() + i * c;
    return std::any_of(row, row + c, [](uint8_t v) { return v != 0; });
  };
  std::vector<int64_t> train_all;
  for (int64_t i = 0; i < d.num_records; ++i) {
    const int f = d.fold[static_cast<size_t>(i)];
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
  ECG_CHECK(!train_all.empty(), "{}: no labelled records of task '{}' in the training folds", d.path,
            options.task);
  ECG_CHECK(!d.val.empty(), "{}: no labelled records of task '{}' in validation fold {}", d.path,
            options.task, options.val_fold);
  ECG_CHECK(!d.test.empty(), "{}: no labelled records of task '{}' in test fold {}", d.path,
            options.task, options.test_fold);
  sharding::LabelView view{d.labels.data(), d.num_records, c};
  d.train = sharding::select_train_fraction(view, train_all, options.train_fraction, options.seed);
  return d;
}

}  // namespace ecg::trainer
