#include "data/dataset_info.h"

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "data/h5.h"
#include "data/hdf5_layout.h"

namespace ecg::data {
namespace {

template <typename T>
std::vector<T> read_1d(hid_t file, const char* name, hid_t mem_type, int64_t n,
                       const std::string& path) {
  H5Handle ds = h5_open_dataset(file, name, path);
  const auto shape = h5_dataset_shape(ds);
  ECG_CHECK(shape.size() == 1 && static_cast<int64_t>(shape[0]) == n,
            "{}: dataset {} should have shape [{}]", path, name, n);
  std::vector<T> out(static_cast<size_t>(n));
  if (n > 0) {
    ECG_H5_CHECK(H5Dread(ds, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()) >= 0,
                 "{}: cannot read {}", path, name);
  }
  return out;
}

herr_t collect_name(hid_t, const char* name, const H5L_info_t*, void* data) {
  static_cast<std::vector<std::string>*>(data)->emplace_back(name);
  return 0;
}

std::vector<std::string> label_tasks(hid_t file, const std::string& path) {
  std::vector<std::string> out;
  if (H5Lexists(file, layout::kLabelsGroup, H5P_DEFAULT) <= 0) return out;
  H5Handle group(H5Gopen2(file, layout::kLabelsGroup, H5P_DEFAULT));
  ECG_H5_CHECK(group.valid(), "{}: cannot open {}", path, layout::kLabelsGroup);
  hsize_t idx = 0;
  ECG_H5_CHECK(H5Literate(group, H5_INDEX_NAME, H5_ITER_INC, &idx, collect_name, &out) >= 0,
               "{}: cannot list {}", path, layout::kLabelsGroup);
  return out;
}

}  // namespace

int64_t LabelMatrix::records_without_label() const {
  int64_t count = 0;
  const size_t c = classes.size();
  for (int64_t i = 0; i < n_records; ++i) {
    bool any = false;
    for (size_t k = 0; k < c && !any; ++k) any = at(i, k) != 0;
    if (!any) ++count;
  }
  return count;
}

DatasetInfo read_dataset_info(const std::string& path) {
  H5Handle file = h5_open_file_readonly(path);
  DatasetInfo info;
  info.path = path;
  info.format_version =
      static_cast<int>(h5_read_attribute_int(file, layout::kFormatVersionAttr, path));
  ECG_CHECK(info.format_version == layout::kFormatVersion,
            "{}: format_version {} is not supported (this build reads {})", path,
            info.format_version, layout::kFormatVersion);
  info.sampling_rate =
      static_cast<int>(h5_read_attribute_int(file, layout::kSamplingRateAttr, path));
  info.n_samples = static_cast<int>(h5_read_attribute_int(file, layout::kNSamplesAttr, path));
  info.leads = h5_read_attribute_strings(file, layout::kLeadsAttr, path);
  info.source = h5_read_attribute_string(file, layout::kSourceAttr, path);
  const std::string manifest_text = h5_read_attribute_string(file, layout::kManifestAttr, path);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(manifest_text);
  } catch (const nlohmann::json::exception& e) {
    ECG_FAIL("{}: attribute '{}' is not valid JSON: {}", path, layout::kManifestAttr, e.what());
  }
  info.manifest = manifest_from_json(j, path);

  H5Handle signals = h5_open_dataset(file, layout::kSignals, path);
  const auto shape = h5_dataset_shape(signals);
  ECG_CHECK(shape.size() == 3 && shape[1] == static_cast<hsize_t>(info.leads.size()) &&
                shape[2] == static_cast<hsize_t>(info.n_samples),
            "{}: {} should have shape [N, {}, {}]", path, layout::kSignals, info.leads.size(),
            info.n_samples);
  info.n_records = static_cast<int64_t>(shape[0]);
  info.ecg_id = read_1d<int64_t>(file, layout::kEcgId, H5T_NATIVE_INT64, info.n_records, path);
  info.patient_id =
      read_1d<int64_t>(file, layout::kPatientId, H5T_NATIVE_INT64, info.n_records, path);
  info.fold = read_1d<int8_t>(file, layout::kFold, H5T_NATIVE_INT8, info.n_records, path);
  // PTB-XL's strat_fold is 1..10; any other value would silently drop the record from every split.
  for (size_t i = 0; i < info.fold.size(); ++i) {
    const int f = info.fold[i];
    ECG_CHECK(f >= layout::kMinFold && f <= layout::kMaxFold,
              "{}: dataset {}: record {} (ecg_id {}) has fold {}, outside {}..{}", path, layout::kFold, i,
              info.ecg_id[i], f, layout::kMinFold, layout::kMaxFold);
  }
  for (auto [name, into] : {std::pair{layout::kRecordName, &info.record_name},
                            std::pair{layout::kOrigin, &info.origin}}) {
    if (H5Lexists(file, name, H5P_DEFAULT) <= 0) continue;
    *into = h5_read_dataset_strings(file, name, path);
    ECG_CHECK(static_cast<int64_t>(into->size()) == info.n_records,
              "{}: dataset {} has {} entries for {} records", path, name, into->size(), info.n_records);
  }
  info.tasks = label_tasks(file, path);
  return info;
}

LabelMatrix read_labels(const std::string& path, const std::string& task) {
  H5Handle file = h5_open_file_readonly(path);
  const auto tasks = label_tasks(file, path);
  bool found = false;
  std::string list;
  for (const auto& t : tasks) {
    found = found || t == task;
    list += (list.empty() ? "" : ", ") + t;
  }
  ECG_CHECK(found, "{}: no labels for task '{}' (present: {})", path, task, list);
  const std::string name = std::string(layout::kLabelsGroup) + "/" + task;
  H5Handle ds = h5_open_dataset(file, name, path);
  const auto shape = h5_dataset_shape(ds);
  ECG_CHECK(shape.size() == 2, "{}: {} should be 2-D [N, C]", path, name);
  LabelMatrix m;
  m.task = task;
  m.classes = h5_read_attribute_strings(ds, layout::kClassesAttr, path);
  ECG_CHECK(m.classes.size() == shape[1], "{}: {} has {} columns but {} class names", path, name,
            shape[1], m.classes.size());
  m.n_records = static_cast<int64_t>(shape[0]);
  m.values.resize(static_cast<size_t>(shape[0] * shape[1]));
  if (!m.values.empty()) {
    ECG_H5_CHECK(H5Dread(ds, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, m.values.data()) >= 0,
                 "{}: cannot read {}", path, name);
  }
  return m;
}

}  // namespace ecg::data
