// Writes small HDF5 files in the layout of data/hdf5_layout.h for the sharding tests (the real
// writer is `ecgdist preprocess`; these tests must not depend on it). Values are a deterministic
// function of (record, lead, sample) so tests can compare exactly.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <string>
#include <vector>

#include "data/h5.h"
#include "data/hdf5_layout.h"

namespace ecg::testing {

// The value written at /signals[i][l][t].
inline float fixture_value(int64_t i, int64_t l, int64_t t) {
  return static_cast<float>(i) * 1000.0f + static_cast<float>(l) * 10.0f +
         static_cast<float>(t % 997) * 0.0078125f;
}

// Label of record i, class c: deterministic, class c positive with probability ~ 1/(c+2).
inline uint8_t fixture_label(int64_t i, int64_t c) {
  return static_cast<uint8_t>(((i * 7919 + c * 104729) % (c + 2)) == 0 ? 1 : 0);
}

struct FixtureOptions {
  int64_t records = 40;
  int64_t samples = 64;  // T
  int leads = 12;        // write a different count to test the shape check
  bool signals = true;   // false: omit /signals
  int64_t classes = 5;   // /labels/diagnostic [N, classes]
  bool chunked = true;   // chunk /signals by record, as the preprocess writer does
};

inline void write_fixture_file(const std::string& path, const FixtureOptions& o = {}) {
  using data::H5Handle;
  namespace layout = data::layout;
  H5Handle file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
  ECG_H5_CHECK(file.valid(), "cannot create {}", path);
  auto write = [&](const char* name, hid_t file_type, hid_t mem_type, std::vector<hsize_t> dims,
                   const void* data, hid_t dcpl) -> H5Handle {
    H5Handle space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr));
    H5Handle lcpl(H5Pcreate(H5P_LINK_CREATE));
    H5Pset_create_intermediate_group(lcpl, 1);
    H5Handle ds(H5Dcreate2(file, name, file_type, space, lcpl, dcpl, H5P_DEFAULT));
    ECG_H5_CHECK(ds.valid(), "cannot create {}", name);
    ECG_H5_CHECK(H5Dwrite(ds, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0, "write {}",
                 name);
    return ds;
  };
  const auto n = static_cast<hsize_t>(o.records);
  if (o.signals) {
    std::vector<float> sig(static_cast<size_t>(o.records * o.leads * o.samples));
    for (int64_t i = 0; i < o.records; ++i)
      for (int64_t l = 0; l < o.leads; ++l)
        for (int64_t t = 0; t < o.samples; ++t)
          sig[static_cast<size_t>((i * o.leads + l) * o.samples + t)] = fixture_value(i, l, t);
    H5Handle dcpl(H5Pcreate(H5P_DATASET_CREATE));
    if (o.chunked) {
      hsize_t chunk[3] = {1, static_cast<hsize_t>(o.leads), static_cast<hsize_t>(o.samples)};
      H5Pset_chunk(dcpl, 3, chunk);
    }
    write(layout::kSignals, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT,
          {n, static_cast<hsize_t>(o.leads), static_cast<hsize_t>(o.samples)}, sig.data(), dcpl);
  }
  std::vector<int64_t> ids(n), patients(n);
  std::vector<int8_t> folds(n);
  for (hsize_t i = 0; i < n; ++i) {
    ids[i] = static_cast<int64_t>(i) * 3 + 1;
    patients[i] = static_cast<int64_t>(i) / 2 + 100;
    folds[i] = static_cast<int8_t>(i % 10 + 1);
  }
  write(layout::kEcgId, H5T_STD_I64LE, H5T_NATIVE_INT64, {n}, ids.data(), H5P_DEFAULT);
  write(layout::kPatientId, H5T_STD_I64LE, H5T_NATIVE_INT64, {n}, patients.data(), H5P_DEFAULT);
  write(layout::kFold, H5T_STD_I8LE, H5T_NATIVE_INT8, {n}, folds.data(), H5P_DEFAULT);
  if (o.classes > 0) {
    std::vector<uint8_t> labels(static_cast<size_t>(o.records * o.classes));
    std::vector<std::string> classes;
    for (int64_t c = 0; c < o.classes; ++c) classes.push_back("C" + std::to_string(c));
    for (int64_t i = 0; i < o.records; ++i)
      for (int64_t c = 0; c < o.classes; ++c)
        labels[static_cast<size_t>(i * o.classes + c)] = fixture_label(i, c);
    H5Handle ds = write("/labels/diagnostic", H5T_STD_U8LE, H5T_NATIVE_UINT8,
                        {n, static_cast<hsize_t>(o.classes)}, labels.data(), H5P_DEFAULT);
    data::h5_write_attribute_strings(ds, layout::kClassesAttr, classes);
  }
}

}  // namespace ecg::testing
