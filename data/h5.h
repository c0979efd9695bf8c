// Thin RAII over the HDF5 C API plus the library's CHECK macro. Debian's HDF5 is built
// thread-safe behind one global lock, so callers keep HDF5 work on one I/O thread anyway.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/error.h"

namespace ecg::data {

// The HDF5 error stack as one line (the library's own words), then clears it.
std::string h5_error_string();

// ECG_H5_CHECK(expr >= 0, "reading {} of {}", what, file)
#define ECG_H5_CHECK(cond, ...)                                                               \
  do {                                                                                        \
    if (!(cond))                                                                              \
      ::ecg::throw_error(__FILE__, __LINE__,                                                  \
                         fmt::format(__VA_ARGS__) + ": " + ::ecg::data::h5_error_string());   \
  } while (0)

// Owns one hid_t; closes it with H5Oclose/H5Fclose/H5Sclose/H5Tclose/H5Pclose/H5Aclose as fits.
class H5Handle {
 public:
  H5Handle() = default;
  explicit H5Handle(hid_t id) : id_(id) {}
  ~H5Handle() { reset(); }
  H5Handle(H5Handle&& o) noexcept : id_(o.id_) { o.id_ = H5I_INVALID_HID; }
  H5Handle& operator=(H5Handle&& o) noexcept;
  H5Handle(const H5Handle&) = delete;
  H5Handle& operator=(const H5Handle&) = delete;
  hid_t get() const { return id_; }
  operator hid_t() const { return id_; }
  bool valid() const { return id_ >= 0; }
  void reset();
  // Gives up ownership without closing (the caller closes and checks the result).
  hid_t release() {
    const hid_t id = id_;
    id_ = H5I_INVALID_HID;
    return id;
  }

 private:
  hid_t id_ = H5I_INVALID_HID;
};

// Silences HDF5's automatic stderr error printing once per process (we report errors ourselves).
void h5_silence_auto_print();

H5Handle h5_open_file_readonly(const std::string& path);
H5Handle h5_open_dataset(hid_t file, const std::string& name, const std::string& file_path);
std::vector<hsize_t> h5_dataset_shape(hid_t dataset);

// Attribute helpers (object = file or dataset/group id). Missing attribute -> error naming it.
bool h5_has_attribute(hid_t object, const std::string& name);
void h5_write_attribute_int(hid_t object, const std::string& name, int64_t value);
int64_t h5_read_attribute_int(hid_t object, const std::string& name, const std::string& file_path);
void h5_write_attribute_string(hid_t object, const std::string& name, const std::string& value);
std::string h5_read_attribute_string(hid_t object, const std::string& name, const std::string& file_path);
void h5_write_attribute_strings(hid_t object, const std::string& name, const std::vector<std::string>& values);
// A 1-D dataset of variable-length UTF-8 strings (created, written, closed); and its reader.
void h5_write_dataset_strings(hid_t file, const std::string& name,
                              const std::vector<std::string>& values, const std::string& file_path);
std::vector<std::string> h5_read_dataset_strings(hid_t file, const std::string& name,
                                                 const std::string& file_path);
std::vector<std::string> h5_read_attribute_strings(hid_t object, const std::string& name,
                                                   const std::string& file_path);

}  // namespace ecg::data
