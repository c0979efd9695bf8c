#include "data/h5.h"

#include <mutex>

namespace ecg::data {
namespace {

herr_t collect_error(unsigned n, const H5E_error2_t* err, void* client) {
  auto* out = static_cast<std::string*>(client);
  if (!out->empty()) out->append("; ");
  if (err->desc != nullptr && err->desc[0] != '\0') {
    out->append(err->desc);
  } else if (err->func_name != nullptr) {
    out->append(err->func_name);
  }
  (void)n;
  return 0;
}

H5Handle open_attribute(hid_t object, const std::string& name, const std::string& file_path) {
  ECG_CHECK(h5_has_attribute(object, name), "{}: missing attribute '{}'", file_path, name);
  H5Handle attr(H5Aopen(object, name.c_str(), H5P_DEFAULT));
  ECG_H5_CHECK(attr.valid(), "{}: cannot open attribute '{}'", file_path, name);
  return attr;
}

}  // namespace

std::string h5_error_string() {
  std::string out;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, collect_error, &out);
  H5Eclear2(H5E_DEFAULT);
  // HDF5's descriptions can span lines; our errors are one line.
  for (char& c : out) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return out.empty() ? std::string("unknown HDF5 error") : out;
}

H5Handle& H5Handle::operator=(H5Handle&& o) noexcept {
  if (this != &o) {
    reset();
    id_ = o.id_;
    o.id_ = H5I_INVALID_HID;
  }
  return *this;
}

void H5Handle::reset() {
  if (id_ < 0) return;
  switch (H5Iget_type(id_)) {
    case H5I_FILE: H5Fclose(id_); break;
    case H5I_GROUP: H5Gclose(id_); break;
    case H5I_DATASET: H5Dclose(id_); break;
    case H5I_DATASPACE: H5Sclose(id_); break;
    case H5I_DATATYPE: H5Tclose(id_); break;
    case H5I_ATTR: H5Aclose(id_); break;
    case H5I_GENPROP_LST: H5Pclose(id_); break;
    default: H5Idec_ref(id_); break;
  }
  id_ = H5I_INVALID_HID;
}

void h5_silence_auto_print() {
  static std::once_flag once;
  std::call_once(once, [] { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); });
}

H5Handle h5_open_file_readonly(const std::string& path) {
  h5_silence_auto_print();
  H5Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  ECG_H5_CHECK(file.valid(), "cannot open HDF5 file {}", path);
  return file;
}

H5Handle h5_open_dataset(hid_t file, const std::string& name, const std::string& file_path) {
  htri_t exists = H5Lexists(file, name.c_str(), H5P_DEFAULT);
  // H5Lexists fails (rather than answering 0) when an intermediate group is missing.
  ECG_CHECK(exists > 0, "{}: missing dataset '{}'", file_path, name);
  H5Handle ds(H5Dopen2(file, name.c_str(), H5P_DEFAULT));
  ECG_H5_CHECK(ds.valid(), "{}: cannot open dataset '{}'", file_path, name);
  return ds;
}

std::vector<hsize_t> h5_dataset_shape(hid_t dataset) {
  H5Handle space(H5Dget_space(dataset));
  ECG_H5_CHECK(space.valid(), "cannot get dataspace");
  int rank = H5Sget_simple_extent_ndims(space);
  ECG_H5_CHECK(rank >= 0, "cannot get dataset rank");
  std::vector<hsize_t> dims(static_cast<size_t>(rank));
  H5Sget_simple_extent_dims(space, dims.data(), nullptr);
  return dims;
}

bool h5_has_attribute(hid_t object, const std::string& name) {
  return H5Aexists(object, name.c_str()) > 0;
}

void h5_write_attribute_int(hid_t object, const std::string& name, int64_t value) {
  H5Handle space(H5Screate(H5S_SCALAR));
  H5Handle attr(H5Acreate2(object, name.c_str(), H5T_NATIVE_INT64, space, H5P_DEFAULT, H5P_DEFAULT));
  ECG_H5_CHECK(attr.valid(), "cannot create attribute '{}'", name);
  ECG_H5_CHECK(H5Awrite(attr, H5T_NATIVE_INT64, &value) >= 0, "cannot write attribute '{}'", name);
}

int64_t h5_read_attribute_int(hid_t object, const std::string& name, const std::string& file_path) {
  H5Handle attr = open_attribute(object, name, file_path);
  int64_t value = 0;
  ECG_H5_CHECK(H5Aread(attr, H5T_NATIVE_INT64, &value) >= 0, "{}: cannot read attribute '{}'",
               file_path, name);
  return value;
}

void h5_write_attribute_string(hid_t object, const std::string& name, const std::string& value) {
  H5Handle type(H5Tcopy(H5T_C_S1));
  H5Tset_size(type, H5T_VARIABLE);
  H5Tset_cset(type, H5T_CSET_UTF8);
  H5Handle space(H5Screate(H5S_SCALAR));
  H5Handle attr(H5Acreate2(object, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT));
  ECG_H5_CHECK(attr.valid(), "cannot create attribute '{}'", name);
  const char* ptr = value.c_str();
  ECG_H5_CHECK(H5Awrite(attr, type, &ptr) >= 0, "cannot write attribute '{}'", name);
}

std::string h5_read_attribute_string(hid_t object, const std::string& name,
                                     const std::string& file_path) {
  auto values = h5_read_attribute_strings(object, name, file_path);
  ECG_CHECK(values.size() == 1, "{}: attribute '{}' is not a single string", file_path, name);
  return values[0];
}

void h5_write_attribute_strings(hid_t object, const std::string& name,
                                const std::vector<std::string>& values) {
  H5Handle type(H5Tcopy(H5T_C_S1));
  H5Tset_size(type, H5T_VARIABLE);
  H5Tset_cset(type, H5T_CSET_UTF8);
  hsize_t n = values.size();
  H5Handle space(H5Screate_simple(1, &n, nullptr));
  H5Handle attr(H5Acreate2(object, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT));
  ECG_H5_CHECK(attr.valid(), "cannot create attribute '{}'", name);
  std::vector<const char*> ptrs;
  ptrs.reserve(values.size());
  for (const auto& v : values) ptrs.push_back(v.c_str());
  // HDF5 rejects a null buffer even for zero elements (an empty class list, say).
  const char* none = nullptr;
  ECG_H5_CHECK(H5Awrite(attr, type, ptrs.empty() ? &none : ptrs.data()) >= 0,
               "cannot write attribute '{}'", name);
}

void h5_write_dataset_strings(hid_t file, const std::string& name,
                              const std::vector<std::string>& values, const std::string& file_path) {
  H5Handle type(H5Tcopy(H5T_C_S1));
  H5Tset_size(type, H5T_VARIABLE);
  H5Tset_cset(type, H5T_CSET_UTF8);
  hsize_t n = values.size();
  H5Handle space(H5Screate_simple(1, &n, nullptr));
  H5Handle ds(H5Dcreate2(file, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  ECG_H5_CHECK(ds.valid(), "{}: cannot create dataset {}", file_path, name);
  std::vector<const char*> ptrs;
  ptrs.reserve(values.size());
  for (const auto& v : values) ptrs.push_back(v.c_str());
  const char* none = nullptr;
  ECG_H5_CHECK(H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.empty() ? &none : ptrs.data()) >= 0,
               "{}: cannot write dataset {}", file_path, name);
}

std::vector<std::string> h5_read_dataset_strings(hid_t file, const std::string& name,
                                                 const std::string& file_path) {
  H5Handle ds = h5_open_dataset(file, name, file_path);
  H5Handle file_type(H5Dget_type(ds));
  ECG_CHECK(H5Tget_class(file_type) == H5T_STRING && H5Tis_variable_str(file_type) > 0,
            "{}: dataset {} is not a list of variable-length strings", file_path, name);
  H5Handle space(H5Dget_space(ds));
  const hssize_t n = H5Sget_simple_extent_npoints(space);
  ECG_H5_CHECK(n >= 0 && H5Sget_simple_extent_ndims(space) == 1, "{}: dataset {} is not 1-D",
               file_path, name);
  std::vector<std::string> out;
  if (n == 0) return out;
  H5Handle mem_type(H5Tcopy(H5T_C_S1));
  H5Tset_size(mem_type, H5T_VARIABLE);
  H5Tset_cset(mem_type, H5Tget_cset(file_type));
  std::vector<char*> ptrs(static_cast<size_t>(n), nullptr);
  ECG_H5_CHECK(H5Dread(ds, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()) >= 0,
               "{}: cannot read dataset {}", file_path, name);
  out.reserve(ptrs.size());
  for (char* p : ptrs) out.emplace_back(p != nullptr ? p : "");
  H5Dvlen_reclaim(mem_type, space, H5P_DEFAULT, ptrs.data());
  return out;
}

std::vector<std::string> h5_read_attribute_strings(hid_t object, const std::string& name,
                                                   const std::string& file_path) {
  H5Handle attr = open_attribute(object, name, file_path);
  H5Handle file_type(H5Aget_type(attr));
  ECG_CHECK(H5Tget_class(file_type) == H5T_STRING, "{}: attribute '{}' is not a string", file_path,
            name);
  H5Handle space(H5Aget_space(attr));
  hssize_t n = H5Sget_simple_extent_npoints(space);
  ECG_H5_CHECK(n >= 0, "{}: attribute '{}' has no extent", file_path, name);
  std::vector<std::string> out;
  if (H5Tis_variable_str(file_type) > 0) {
    H5Handle mem_type(H5Tcopy(H5T_C_S1));
    H5Tset_size(mem_type, H5T_VARIABLE);
    H5Tset_cset(mem_type, H5Tget_cset(file_type));
    std::vector<char*> ptrs(static_cast<size_t>(n), nullptr);
    if (n == 0) return out;  // HDF5 rejects a null buffer even for zero elements
    ECG_H5_CHECK(H5Aread(attr, mem_type, ptrs.data()) >= 0, "{}: cannot read attribute '{}'",
                 file_path, name);
    for (char* p : ptrs) out.emplace_back(p != nullptr ? p : "");
    H5Dvlen_reclaim(mem_type, space, H5P_DEFAULT, ptrs.data());
  } else {
    size_t len = H5Tget_size(file_type);
    std::vector<char> buf(len * static_cast<size_t>(n) + 1, '\0');
    ECG_H5_CHECK(H5Aread(attr, file_type, buf.data()) >= 0, "{}: cannot read attribute '{}'",
                 file_path, name);
    for (hssize_t i = 0; i < n; ++i) {
      std::string s(buf.data() + static_cast<size_t>(i) * len, len);
      s.erase(s.find_last_not_of('\0') + 1);
      out.push_back(s);
    }
  }
  return out;
}

}  // namespace ecg::data
