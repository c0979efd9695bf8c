#include "sharding/hdf5_record_reader.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "common/error.h"
#include "data/hdf5_layout.h"

namespace ecg::sharding {

namespace layout = ecg::data::layout;
using data::H5Handle;

namespace {

std::string shape_string(const std::vector<hsize_t>& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + "]";
}

// True when any of the n floats is NaN or +-Inf (exponent bits all ones). Branch-free over the
// bits so that the compiler vectorises it: it runs over every value the trainer reads.
bool any_non_finite(const float* values, size_t n) {
  uint32_t found = 0;
  for (size_t i = 0; i < n; ++i) {
    uint32_t bits;
    std::memcpy(&bits, values + i, sizeof bits);
    found |= static_cast<uint32_t>((bits & 0x7f800000u) == 0x7f800000u);
  }
  return found != 0;
}

}  // namespace

Hdf5RecordReader::Hdf5RecordReader(std::string path) : path_(std::move(path)) {
  file_ = data::h5_open_file_readonly(path_);
  auto dims = check_dataset(layout::kSignals, 3, /*need_float=*/true);
  ECG_CHECK(dims[1] == static_cast<hsize_t>(layout::kNumLeads),
            "{}: dataset '{}' has shape {}, expected [N, {}, T]", path_, layout::kSignals,
            shape_string(dims), layout::kNumLeads);
  ECG_CHECK(dims[0] > 0 && dims[2] > 0, "{}: dataset '{}' is empty (shape {})", path_,
            layout::kSignals, shape_string(dims));
  num_records_ = static_cast<int64_t>(dims[0]);
  num_leads_ = static_cast<int>(dims[1]);
  num_samples_ = static_cast<int64_t>(dims[2]);
  signals_ = data::h5_open_dataset(file_, layout::kSignals, path_);

  for (const char* name : {layout::kEcgId, layout::kFold}) {
    auto d = check_dataset(name, 1, false);
    ECG_CHECK(d[0] == dims[0], "{}: dataset '{}' has {} rows, '{}' has {}", path_, name, d[0],
              layout::kSignals, dims[0]);
  }
  if (H5Lexists(file_, layout::kPatientId, H5P_DEFAULT) > 0) {
    auto d = check_dataset(layout::kPatientId, 1, false);
    ECG_CHECK(d[0] == dims[0], "{}: dataset '{}' has {} rows, '{}' has {}", path_,
              layout::kPatientId, d[0], layout::kSignals, dims[0]);
  }
}

std::vector<hsize_t> Hdf5RecordReader::check_dataset(const std::string& name, int rank,
                                                     bool need_float) const {
  H5Handle ds = data::h5_open_dataset(file_, name, path_);  // names file + dataset when missing
  H5Handle type(H5Dget_type(ds));
  ECG_H5_CHECK(type.valid(), "{}: cannot get the type of dataset '{}'", path_, name);
  H5T_class_t cls = H5Tget_class(type);
  if (need_float) {
    ECG_CHECK(cls == H5T_FLOAT, "{}: dataset '{}' is not floating point", path_, name);
  } else {
    ECG_CHECK(cls == H5T_INTEGER, "{}: dataset '{}' is not integer", path_, name);
  }
  auto dims = data::h5_dataset_shape(ds);
  ECG_CHECK(static_cast<int>(dims.size()) == rank,
            "{}: dataset '{}' has rank {} (shape {}), expected {}", path_, name, dims.size(),
            shape_string(dims), rank);
  return dims;
}

void Hdf5RecordReader::fail_non_finite(int64_t record, const float* values) const {
  int64_t at = 0;
  while (at < record_size() && std::isfinite(values[at])) ++at;
  // The ecg_id is read only now, on the error path: the hot path needs the signals alone.
  std::string id = "unknown";
  H5Handle ids = data::h5_open_dataset(file_, layout::kEcgId, path_);
  H5Handle space(H5Dget_space(ids));
  const hsize_t start[1] = {static_cast<hsize_t>(record)};
  const hsize_t count[1] = {1};
  int64_t ecg_id = 0;
  H5Handle mem(H5Screate_simple(1, count, nullptr));
  if (space.valid() && mem.valid() &&
      H5Sselect_hyperslab(space, H5S_SELECT_SET, start, nullptr, count, nullptr) >= 0 &&
      H5Dread(ids, H5T_NATIVE_INT64, mem, space, H5P_DEFAULT, &ecg_id) >= 0) {
    id = std::to_string(ecg_id);
  }
  const int64_t lead = at / num_samples_;
  const std::string lead_name = num_leads_ == layout::kNumLeads
                                    ? std::string(layout::kLeadOrder[static_cast<size_t>(lead)])
                                    : std::to_string(lead);
  ECG_FAIL("{}: dataset '{}': record {} (ecg_id {}) has a non-finite value ({}) in lead {} at sample {}", path_,
           layout::kSignals, record, id, values[at], lead_name, at % num_samples_);
}

void Hdf5RecordReader::read_signals(const std::vector<int64_t>& sorted_indices, float* out) const {
  last_read_calls_ = 0;
  for (size_t k = 0; k < sorted_indices.size(); ++k) {
    int64_t i = sorted_indices[k];
    ECG_CHECK(i >= 0 && i < num_records_, "{}: record index {} outside '{}' of {} records", path_,
              i, layout::kSignals, num_records_);
    ECG_CHECK(k == 0 || i > sorted_indices[k - 1],
              "{}: record indices must be strictly increasing ({} after {})", path_, i,
              sorted_indices[k - 1]);
  }
  H5Handle file_space(H5Dget_space(signals_));
  ECG_H5_CHECK(file_space.valid(), "{}: cannot get the dataspace of '{}'", path_, layout::kSignals);
  // One hyperslab read per contiguous run, straight into the caller's buffer (HDF5 converts any
  // stored float width to native float).
  size_t k = 0;
  while (k < sorted_indices.size()) {
    size_t end = k + 1;
    while (end < sorted_indices.size() && sorted_indices[end] == sorted_indices[end - 1] + 1) ++end;
    const hsize_t run = end - k;
    hsize_t start[3] = {static_cast<hsize_t>(sorted_indices[k]), 0, 0};
    hsize_t count[3] = {run, static_cast<hsize_t>(num_leads_), static_cast<hsize_t>(num_samples_)};
    ECG_H5_CHECK(
        H5Sselect_hyperslab(file_space, H5S_SELECT_SET, start, nullptr, count, nullptr) >= 0,
        "{}: cannot select records {}..{} of '{}'", path_, sorted_indices[k],
        sorted_indices[end - 1], layout::kSignals);
    H5Handle mem_space(H5Screate_simple(3, count, nullptr));
    ECG_H5_CHECK(mem_space.valid(), "{}: cannot create a memory dataspace", path_);
    float* dest = out + static_cast<int64_t>(k) * record_size();
    ECG_H5_CHECK(H5Dread(signals_, H5T_NATIVE_FLOAT, mem_space, file_space, H5P_DEFAULT, dest) >= 0,
                 "{}: cannot read records {}..{} of '{}'", path_, sorted_indices[k],
                 sorted_indices[end - 1], layout::kSignals);
    if (any_non_finite(dest, static_cast<size_t>(run) * static_cast<size_t>(record_size()))) {
      for (size_t r = k; r < end; ++r) {
        const float* record = out + static_cast<int64_t>(r) * record_size();
        if (any_non_finite(record, static_cast<size_t>(record_size()))) fail_non_finite(sorted_indices[r], record);
      }
    }
    ++last_read_calls_;
    k = end;
  }
}

}  // namespace ecg::sharding
