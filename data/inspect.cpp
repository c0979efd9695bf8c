#include "data/inspect.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/error.h"
#include "data/dataset_info.h"
#include "data/h5.h"
#include "data/hdf5_layout.h"

namespace ecg::data {
namespace {

std::string type_name(hid_t type) {
  const H5T_class_t cls = H5Tget_class(type);
  const size_t size = H5Tget_size(type);
  switch (cls) {
    case H5T_INTEGER:
      return fmt::format("{}int{}", H5Tget_sign(type) == H5T_SGN_NONE ? "u" : "", 8 * size);
    case H5T_FLOAT:
      return fmt::format("float{}", 8 * size);
    case H5T_STRING:
      return "string";
    default:
      return fmt::format("class {} ({} bytes)", static_cast<int>(cls), size);
  }
}

std::string shape_text(const std::vector<hsize_t>& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + "]";
}

struct AttrContext {
  std::ostringstream* out;
  std::string path;
  std::string indent;
};

herr_t print_attribute(hid_t object, const char* name, const H5A_info_t*, void* data) {
  auto* ctx = static_cast<AttrContext*>(data);
  std::ostream& out = *ctx->out;
  H5Handle attr(H5Aopen(object, name, H5P_DEFAULT));
  H5Handle type(H5Aget_type(attr));
  H5Handle space(H5Aget_space(attr));
  const hssize_t n = H5Sget_simple_extent_npoints(space);
  out << ctx->indent << "@" << name << " (" << type_name(type);
  if (H5Sget_simple_extent_ndims(space) > 0) out << "[" << n << "]";
  out << "): ";
  const H5T_class_t cls = H5Tget_class(type);
  if (cls == H5T_STRING) {
    const auto values = h5_read_attribute_strings(object, name, ctx->path);
    if (std::string(name) == layout::kManifestAttr) {
      std::string pretty;
      try {
        pretty = nlohmann::json::parse(values.at(0)).dump(2);
      } catch (const std::exception&) {
        pretty = values.at(0);
      }
      std::string line;
      std::istringstream lines(pretty);
      out << "\n";
      while (std::getline(lines, line)) out << ctx->indent << "    " << line << "\n";
      return 0;
    }
    for (size_t i = 0; i < values.size(); ++i) out << (i ? ", " : "") << values[i];
  } else if (cls == H5T_INTEGER || cls == H5T_FLOAT) {
    std::vector<double> values(static_cast<size_t>(n));
    ECG_H5_CHECK(H5Aread(attr, H5T_NATIVE_DOUBLE, values.data()) >= 0, "{}: cannot read @{}",
                 ctx->path, name);
    for (size_t i = 0; i < values.size(); ++i) out << (i ? ", " : "") << values[i];
  } else {
    out << "(not shown)";
  }
  out << "\n";
  return 0;
}

struct VisitContext {
  std::ostringstream* out;
  std::string path;
};

// HDF5 1.12 gave H5Ovisit a new callback info type (H5O_info2_t) and a `fields` argument; Debian 12
// has 1.10, Debian 13 (scripts/check-cuda-build.sh) 1.14. print_object reads only `type`, which
// both info types carry and H5O_INFO_BASIC fills.
#if H5_VERSION_GE(1, 12, 0)
using ObjectInfo = H5O_info2_t;
#else
using ObjectInfo = H5O_info_t;
#endif

herr_t print_object(hid_t root, const char* name, const ObjectInfo* info, void* data) {
  auto* ctx = static_cast<VisitContext*>(data);
  std::ostream& out = *ctx->out;
  const std::string full = std::string(name) == "." ? "/" : "/" + std::string(name);
  H5Handle obj(H5Oopen(root, name, H5P_DEFAULT));
  ECG_H5_CHECK(obj.valid(), "{}: cannot open {}", ctx->path, full);
  if (info->type == H5O_TYPE_DATASET) {
    H5Handle type(H5Dget_type(obj));
    out << "  dataset " << full << "  " << type_name(type) << " "
        << shape_text(h5_dataset_shape(obj));
    H5Handle dcpl(H5Dget_create_plist(obj));
    if (H5Pget_layout(dcpl) == H5D_CHUNKED) {
      std::vector<hsize_t> chunk(static_cast<size_t>(H5Pget_chunk(dcpl, 0, nullptr)));
      H5Pget_chunk(dcpl, static_cast<int>(chunk.size()), chunk.data());
      out << "  chunks " << shape_text(chunk);
    }
    out << "\n";
  } else if (info->type == H5O_TYPE_GROUP) {
    out << "  group   " << full << "\n";
  }
  AttrContext actx{ctx->out, ctx->path, "      "};
  hsize_t idx = 0;
  H5Aiterate2(obj, H5_INDEX_NAME, H5_ITER_INC, &idx, print_attribute, &actx);
  return 0;
}

}  // namespace

std::string inspect_report(const std::string& h5_path) {
  // Validate first: a file that is not a complete preprocessed file fails with a clear message.
  const DatasetInfo info = read_dataset_info(h5_path);
  std::ostringstream out;
  out << h5_path << ": " << info.n_records << " records x " << info.leads.size() << " leads x "
      << info.n_samples << " samples at " << info.sampling_rate << " Hz\n\nLayout:\n";
  {
    H5Handle file = h5_open_file_readonly(h5_path);
    VisitContext ctx{&out, h5_path};
#if H5_VERSION_GE(1, 12, 0)
    const herr_t walked = H5Ovisit3(file, H5_INDEX_NAME, H5_ITER_INC, print_object, &ctx, H5O_INFO_BASIC);
#else
    const herr_t walked = H5Ovisit(file, H5_INDEX_NAME, H5_ITER_INC, print_object, &ctx);
#endif
    ECG_H5_CHECK(walked >= 0,
                 "{}: cannot walk the file", h5_path);
  }

  out << "\nRecords per fold:\n";
  std::map<int, int64_t> per_fold;
  for (int8_t f : info.fold) ++per_fold[f];
  for (const auto& [fold, count] : per_fold) out << "  fold " << fold << ": " << count << "\n";
  std::map<int64_t, int> patients;
  for (auto p : info.patient_id) ++patients[p];
  out << "  patients: " << patients.size() << "\n";

  out << "\nLabels:\n";
  // The file's own tasks (a task is whatever /labels holds), PTB-XL's missing ones named.
  bool ptbxl_like = false;
  for (const auto& task : layout::kTasks)
    for (const auto& t : info.tasks) ptbxl_like = ptbxl_like || t == task;
  if (ptbxl_like) {
    for (const auto& task : layout::kTasks)
      if (std::find(info.tasks.begin(), info.tasks.end(), task) == info.tasks.end())
        out << "  " << task << ": (missing)\n";
  }
  for (const auto& task : info.tasks) {
    const LabelMatrix m = read_labels(h5_path, task);
    out << "  " << task << ": " << m.classes.size() << " classes, " << m.records_without_label()
        << " records without any label\n    ";
    for (size_t c = 0; c < m.classes.size(); ++c) {
      int64_t positives = 0;
      for (int64_t i = 0; i < m.n_records; ++i) positives += m.at(i, c);
      out << (c ? ", " : "") << m.classes[c] << "=" << positives;
    }
    out << "\n";
  }
  return out.str();
}

}  // namespace ecg::data
