// Writes the preprocessed HDF5 file (layout: data/hdf5_layout.h, docs/hdf5-layout.md). Used from
// ONE thread: signals arrive record by record, metadata and labels at the end.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/h5.h"
#include "data/formats/labels.h"
#include "data/manifest.h"

namespace ecg::data {

class PreprocessedH5Writer {
 public:
  // Creates `path` (truncating) with room for up to max_records records of n_samples per lead.
  // Errors name `display_path` (default: `path`) -- the final name when `path` is a temp file.
  // A failed write (e.g. a full disk) is one line "<display_path>: no space left on device while
  // writing HDF5 <what>"; finish() checks that the file really closed, so a file whose last
  // writes were lost is never reported complete.
  PreprocessedH5Writer(const std::string& path, size_t max_records, int n_samples,
                       std::string display_path = "");

  // Writes /signals[index] from 12 * n_samples floats (lead-major).
  void write_signal(size_t index, const std::vector<float>& signal);

  // Shrinks /signals to n_records, writes ids, folds, labels and root attributes, closes the file.
  void finish(size_t n_records, const std::vector<int64_t>& ecg_id,
              const std::vector<int64_t>& patient_id, const std::vector<int8_t>& fold,
              const std::vector<TaskLabels>& labels, int sampling_rate, const std::string& source,
              const Manifest& manifest, const std::vector<std::string>& record_names = {},
              const std::vector<std::string>& origins = {});

 private:
  // Throws the error of a failed HDF5 call that wrote `what` (a full disk named as such).
  [[noreturn]] void fail_write(int saved_errno, const std::string& what) const;

  std::string path_;  // for messages: the display path
  int n_samples_;
  H5Handle file_;
  H5Handle signals_;
};

}  // namespace ecg::data
