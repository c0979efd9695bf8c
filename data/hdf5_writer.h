// Writes the preprocessed HDF5 file (layout: data/hdf5_layout.h, docs/hdf5-layout.md). Used from
// ONE thread: signals arrive record by record, metadata and labels at the end.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/h5.h"
#include "data/labels.h"
#include "data/manifest.h"

namespace ecg::data {

class PreprocessedH5Writer {
 public:
  // Creates `path` (truncating) with room for up to max_records records of n_samples per lead.
  PreprocessedH5Writer(const std::string& path, size_t max_records, int n_samples);

  // Writes /signals[index] from 12 * n_samples floats (lead-major).
  void write_signal(size_t index, const std::vector<float>& signal);

  // Shrinks /signals to n_records, writes ids, folds, labels and root attributes, closes the file.
  void finish(size_t n_records, const std::vector<int64_t>& ecg_id,
              const std::vector<int64_t>& patient_id, const std::vector<int8_t>& fold,
              const std::vector<TaskLabels>& labels, int sampling_rate, const std::string& source,
              const Manifest& manifest);

 private:
  std::string path_;
  int n_samples_;
  H5Handle file_;
  H5Handle signals_;
};

}  // namespace ecg::data
