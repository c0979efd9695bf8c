// Reads records' signals from a preprocessed HDF5 file (layout: data/hdf5_layout.h) for one rank;
// metadata and labels have their one read side in data/dataset_info.h.
//
// Threading: Debian's libhdf5 is built thread-safe, which means one global lock around every
// HDF5 call -- concurrent readers serialise anyway and only add lock traffic. A reader object is
// therefore used from ONE thread (the prefetcher's I/O thread, or the caller's thread when used
// synchronously); it is not safe to share one reader between threads.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/h5.h"

namespace ecg::sharding {

class Hdf5RecordReader {
 public:
  // Opens `path` read-only and validates the layout: /signals float [N, 12, T]; /ecg_id and
  // /fold [N] (and /patient_id [N] when present). Errors name the file and the dataset at fault.
  explicit Hdf5RecordReader(std::string path);

  const std::string& path() const { return path_; }
  int64_t num_records() const { return num_records_; }
  int num_leads() const { return num_leads_; }
  int64_t num_samples() const { return num_samples_; }               // T
  int64_t record_size() const { return num_leads_ * num_samples_; }  // floats per record

  // Reads /signals[i] for each i of `sorted_indices` (strictly increasing, in range) into `out`
  // (sorted_indices.size() * record_size() floats; record k at out + k * record_size()).
  // Consecutive indices are merged into one hyperslab read; runs are read in file order.
  // Every value read is checked to be finite: a NaN/Inf is an error naming the file, the record
  // index, its ecg_id, the lead and the sample (rather than a non-finite loss, steps later, that
  // names no record).
  void read_signals(const std::vector<int64_t>& sorted_indices, float* out) const;
  // Number of H5Dread calls the last read_signals made (= contiguous runs); for tests/benchmarks.
  int64_t last_read_calls() const { return last_read_calls_; }


 private:
  std::vector<hsize_t> check_dataset(const std::string& name, int rank, bool need_float) const;
  [[noreturn]] void fail_non_finite(int64_t record, const float* values) const;

  std::string path_;
  data::H5Handle file_;
  data::H5Handle signals_;
  int64_t num_records_ = 0;
  int num_leads_ = 0;
  int64_t num_samples_ = 0;
  mutable int64_t last_read_calls_ = 0;
};

}  // namespace ecg::sharding
