// The one read side of a preprocessed HDF5 file's metadata (sizes, rate, leads, manifest,
// per-record ids and folds) and of the label matrix of one task, for the tasks, `compare`,
// `inspect` and `predict`. Signals are read by sharding/ (record by record, on the I/O thread).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/manifest.h"

namespace ecg::data {

struct DatasetInfo {
  std::string path;
  int64_t n_records = 0;  // N
  int n_samples = 0;      // T
  int sampling_rate = 0;  // Hz
  int format_version = 0;
  std::string source;
  std::vector<std::string> leads;
  Manifest manifest;
  std::vector<int64_t> ecg_id;
  std::vector<int64_t> patient_id;
  std::vector<int8_t> fold;
  std::vector<std::string> record_name;  // empty when the file has none (PTB-XL)
  std::vector<std::string> origin;       // empty unless several sources were merged
  std::vector<std::string> tasks;  // datasets under /labels
};

// Validates the layout (dataset shapes agree with N, 12, T) and reads everything but signals.
DatasetInfo read_dataset_info(const std::string& path);

struct LabelMatrix {
  std::string task;
  std::vector<std::string> classes;
  int64_t n_records = 0;
  std::vector<uint8_t> values;  // row-major [n_records, classes.size()]
  int64_t num_classes() const { return static_cast<int64_t>(classes.size()); }
  uint8_t at(int64_t record, size_t cls) const {
    return values[static_cast<size_t>(record) * classes.size() + cls];
  }
  // Records with no positive class (the trainer drops them for this task).
  int64_t records_without_label() const;
};

// Reads /labels/<task>; an unknown task is an error listing the tasks present.
LabelMatrix read_labels(const std::string& path, const std::string& task);

}  // namespace ecg::data
