#include "sharding/hdf5_record_reader.h"

#include <algorithm>

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

herr_t collect_name(hid_t /*group*/, const char* name, const H5L_info_t* /*info*/, void* out) {
  static_cast<std::vector<std::string>*>(out)->emplace_back(name);
  return 0;
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
    ++last_read_calls_;
    k = end;
  }
}

template <typename T>
std::vector<T> Hdf5RecordReader::read_vector(const char* name, hid_t mem_type) const {
  auto dims = check_dataset(name, 1, false);
  H5Handle ds = data::h5_open_dataset(file_, name, path_);
  std::vector<T> out(dims[0]);
  if (!out.empty()) {
    ECG_H5_CHECK(H5Dread(ds, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()) >= 0,
                 "{}: cannot read dataset '{}'", path_, name);
  }
  return out;
}

std::vector<int8_t> Hdf5RecordReader::read_fold() const {
  return read_vector<int8_t>(layout::kFold, H5T_NATIVE_INT8);
}
std::vector<int64_t> Hdf5RecordReader::read_ecg_id() const {
  return read_vector<int64_t>(layout::kEcgId, H5T_NATIVE_INT64);
}
std::vector<int64_t> Hdf5RecordReader::read_patient_id() const {
  return read_vector<int64_t>(layout::kPatientId, H5T_NATIVE_INT64);
}

LabelMatrix Hdf5RecordReader::read_labels(const std::string& task) const {
  const std::string name = std::string(layout::kLabelsGroup) + "/" + task;
  ECG_CHECK(H5Lexists(file_, layout::kLabelsGroup, H5P_DEFAULT) > 0 &&
                H5Lexists(file_, name.c_str(), H5P_DEFAULT) > 0,
            "{}: no labels for task '{}' (missing dataset '{}')", path_, task, name);
  auto dims = check_dataset(name, 2, false);
  ECG_CHECK(dims[0] == static_cast<hsize_t>(num_records_),
            "{}: dataset '{}' has {} rows, '{}' has {}", path_, name, dims[0], layout::kSignals,
            num_records_);
  H5Handle ds = data::h5_open_dataset(file_, name, path_);
  LabelMatrix m;
  m.task = task;
  m.rows = num_records_;
  m.classes = data::h5_read_attribute_strings(ds, layout::kClassesAttr, path_ + ":" + name);
  ECG_CHECK(m.classes.size() == dims[1], "{}: dataset '{}' has {} columns but {} classes", path_,
            name, dims[1], m.classes.size());
  m.values.resize(dims[0] * dims[1]);
  if (!m.values.empty()) {
    ECG_H5_CHECK(H5Dread(ds, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, m.values.data()) >= 0,
                 "{}: cannot read dataset '{}'", path_, name);
  }
  return m;
}

std::vector<std::string> Hdf5RecordReader::label_tasks() const {
  std::vector<std::string> names;
  if (H5Lexists(file_, layout::kLabelsGroup, H5P_DEFAULT) <= 0) return names;
  H5Handle group(H5Gopen2(file_, layout::kLabelsGroup, H5P_DEFAULT));
  ECG_H5_CHECK(group.valid(), "{}: cannot open group '{}'", path_, layout::kLabelsGroup);
  ECG_H5_CHECK(H5Literate(group, H5_INDEX_NAME, H5_ITER_INC, nullptr, collect_name, &names) >= 0,
               "{}: cannot list '{}'", path_, layout::kLabelsGroup);
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace ecg::sharding
