#include "data/hdf5_writer.h"

#include <cerrno>

#include "common/atomic_file.h"
#include "data/hdf5_layout.h"

namespace ecg::data {
namespace {

// HDF5's sec2 driver reports a failed write(2) with the errno in its error stack's text; errno
// itself may have been overwritten by HDF5's cleanup. Both are consulted.
int write_errno(int saved_errno, const std::string& h5_text) {
  if (saved_errno == ENOSPC || h5_text.find("errno = 28,") != std::string::npos ||
      h5_text.find("No space left on device") != std::string::npos) {
    return ENOSPC;
  }
  if (saved_errno == EDQUOT || h5_text.find("Disk quota exceeded") != std::string::npos) return EDQUOT;
  return 0;
}

template <typename T>
void write_dataset(hid_t loc, const std::string& name, hid_t mem_type, hid_t file_type,
                   const std::vector<hsize_t>& dims, const T* data, const std::string& path) {
  H5Handle space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr));
  ECG_H5_CHECK(space.valid(), "{}: cannot create dataspace for {}", path, name);
  H5Handle ds(
      H5Dcreate2(loc, name.c_str(), file_type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  ECG_H5_CHECK(ds.valid(), "{}: cannot create dataset {}", path, name);
  hsize_t total = 1;
  for (auto d : dims) total *= d;
  if (total > 0) {
    if (H5Dwrite(ds, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0) {
      const int saved = errno;
      const std::string h5 = h5_error_string();
      if (const int err = write_errno(saved, h5)) {
        ECG_FAIL("{}", write_error_message(path, err, "HDF5 dataset " + name));
      }
      ECG_FAIL("{}: cannot write dataset {}: {}", path, name, h5);
    }
  }
}

}  // namespace

void PreprocessedH5Writer::fail_write(int saved_errno, const std::string& what) const {
  const std::string h5 = h5_error_string();
  if (const int err = write_errno(saved_errno, h5)) {
    ECG_FAIL("{}", write_error_message(path_, err, "HDF5 " + what));
  }
  ECG_FAIL("{}: cannot write {}: {}", path_, what, h5);
}

PreprocessedH5Writer::PreprocessedH5Writer(const std::string& path, size_t max_records,
                                           int n_samples, std::string display_path)
    : path_(display_path.empty() ? path : std::move(display_path)), n_samples_(n_samples) {
  h5_silence_auto_print();
  file_ = H5Handle(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
  if (!file_.valid()) fail_write(errno, "file (create)");
  const hsize_t t = static_cast<hsize_t>(n_samples);
  const hsize_t dims[3] = {static_cast<hsize_t>(max_records), layout::kNumLeads, t};
  // Unlimited first dimension so that skipped records can be trimmed away at the end.
  const hsize_t maxdims[3] = {H5S_UNLIMITED, layout::kNumLeads, t};
  H5Handle space(H5Screate_simple(3, dims, maxdims));
  H5Handle dcpl(H5Pcreate(H5P_DATASET_CREATE));
  // One chunk per record: the trainer reads records individually in random order.
  const hsize_t chunk[3] = {1, layout::kNumLeads, t};
  ECG_H5_CHECK(H5Pset_chunk(dcpl, 3, chunk) >= 0, "{}: cannot set chunking", path);
  signals_ = H5Handle(
      H5Dcreate2(file_, layout::kSignals, H5T_IEEE_F32LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT));
  if (!signals_.valid()) fail_write(errno, std::string("dataset ") + layout::kSignals);
}

void PreprocessedH5Writer::write_signal(size_t index, const std::vector<float>& signal) {
  const hsize_t t = static_cast<hsize_t>(n_samples_);
  ECG_CHECK(signal.size() == layout::kNumLeads * t, "{}: record {} has {} values, expected {}",
            path_, index, signal.size(), layout::kNumLeads * t);
  H5Handle file_space(H5Dget_space(signals_));
  const hsize_t start[3] = {static_cast<hsize_t>(index), 0, 0};
  const hsize_t count[3] = {1, layout::kNumLeads, t};
  ECG_H5_CHECK(H5Sselect_hyperslab(file_space, H5S_SELECT_SET, start, nullptr, count, nullptr) >= 0,
               "{}: cannot select record {}", path_, index);
  H5Handle mem_space(H5Screate_simple(3, count, nullptr));
  if (H5Dwrite(signals_, H5T_NATIVE_FLOAT, mem_space, file_space, H5P_DEFAULT, signal.data()) < 0) {
    fail_write(errno, fmt::format("{} record {}", layout::kSignals, index));
  }
}

void PreprocessedH5Writer::finish(size_t n_records, const std::vector<int64_t>& ecg_id,
                                  const std::vector<int64_t>& patient_id,
                                  const std::vector<int8_t>& fold,
                                  const std::vector<TaskLabels>& labels, int sampling_rate,
                                  const std::string& source, const Manifest& manifest,
                                  const std::vector<std::string>& record_names,
                                  const std::vector<std::string>& origins) {
  const hsize_t n = static_cast<hsize_t>(n_records);
  const hsize_t dims[3] = {n, layout::kNumLeads, static_cast<hsize_t>(n_samples_)};
  ECG_H5_CHECK(H5Dset_extent(signals_, dims) >= 0, "{}: cannot resize {}", path_, layout::kSignals);
  write_dataset(file_, layout::kEcgId, H5T_NATIVE_INT64, H5T_STD_I64LE, {n}, ecg_id.data(), path_);
  write_dataset(file_, layout::kPatientId, H5T_NATIVE_INT64, H5T_STD_I64LE, {n}, patient_id.data(),
                path_);
  write_dataset(file_, layout::kFold, H5T_NATIVE_INT8, H5T_STD_I8LE, {n}, fold.data(), path_);
  if (!record_names.empty()) {
    ECG_CHECK(record_names.size() == n_records, "{}: {} record names for {} records", path_,
              record_names.size(), n_records);
    h5_write_dataset_strings(file_, layout::kRecordName, record_names, path_);
  }
  if (!origins.empty()) {
    ECG_CHECK(origins.size() == n_records, "{}: {} origins for {} records", path_, origins.size(),
              n_records);
    h5_write_dataset_strings(file_, layout::kOrigin, origins, path_);
  }

  H5Handle group(H5Gcreate2(file_, layout::kLabelsGroup, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  ECG_H5_CHECK(group.valid(), "{}: cannot create {}", path_, layout::kLabelsGroup);
  for (const auto& task : labels) {
    const hsize_t c = task.classes.size();
    write_dataset(group, task.task, H5T_NATIVE_UINT8, H5T_STD_U8LE, {n, c}, task.matrix.data(),
                  path_);
    H5Handle ds(H5Dopen2(group, task.task.c_str(), H5P_DEFAULT));
    ECG_H5_CHECK(ds.valid(), "{}: cannot reopen labels of {}", path_, task.task);
    h5_write_attribute_strings(ds, layout::kClassesAttr, task.classes);
    if (!task.descriptions.empty())
      h5_write_attribute_strings(ds, layout::kClassDescriptionsAttr, task.descriptions);
  }

  h5_write_attribute_int(file_, layout::kSamplingRateAttr, sampling_rate);
  h5_write_attribute_int(file_, layout::kNSamplesAttr, n_samples_);
  h5_write_attribute_strings(
      file_, layout::kLeadsAttr,
      std::vector<std::string>(layout::kLeadOrder.begin(), layout::kLeadOrder.end()));
  h5_write_attribute_string(file_, layout::kSourceAttr, source);
  h5_write_attribute_int(file_, layout::kFormatVersionAttr, layout::kFormatVersion);
  h5_write_attribute_string(file_, layout::kManifestAttr, to_json(manifest).dump());

  signals_.reset();
  group.reset();
  if (H5Fflush(file_, H5F_SCOPE_GLOBAL) < 0) fail_write(errno, "file (flush)");
  // All other handles are closed, so this really closes the file; its result is checked (the
  // handle's destructor cannot): a close that lost the last metadata leaves a broken file.
  const hid_t id = file_.release();
  if (H5Fclose(id) < 0) fail_write(errno, "file (close)");
}

}  // namespace ecg::data
