#include "data/code15_parts.h"

#include <filesystem>

#include "common/atomic_file.h"
#include "common/error.h"
#include "data/h5.h"

namespace ecg::data {

void write_code15_files(const std::string& dir, size_t n_exams, size_t per_part,
                        const std::function<synth::Code15Exam(size_t)>& make) {
  ECG_CHECK(per_part > 0, "CODE-15% parts need at least one exam each");
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  ECG_CHECK(!ec, "--out {}: cannot create directory: {}", dir, ec.message());
  std::filesystem::remove(std::filesystem::path(dir) / "exams.csv", ec);
  const auto t = static_cast<hsize_t>(synth::kCode15Samples);
  std::string csv =
      "exam_id,age,is_male,nn_predicted_age,1dAVb,RBBB,LBBB,SB,ST,AF,patient_id,death,timey,"
      "normal_ecg,trace_file\n";
  for (size_t first = 0, part = 0; first < n_exams; first += per_part, ++part) {
    const size_t n = std::min(per_part, n_exams - first);
    const std::string name = fmt::format("exams_part{}.hdf5", part);
    const std::string path = (std::filesystem::path(dir) / name).string();
    std::vector<int64_t> ids;
    std::vector<float> tracings((n + 1) * t * 12, 0.0f);  // + the filler row
    for (size_t i = 0; i < n; ++i) {
      const synth::Code15Exam e = make(first + i);
      ids.push_back(e.exam_id);
      std::copy(e.tracing.begin(), e.tracing.end(), tracings.begin() + static_cast<long>(i * t * 12));
      const auto b = [](bool v) { return v ? "True" : "False"; };
      csv += fmt::format("{},{},{},{},{},{},{},{},{},{},{},,,{},{}\n", e.exam_id, e.age, b(e.is_male),
                         e.age, b(e.labels[0]), b(e.labels[1]), b(e.labels[2]), b(e.labels[3]),
                         b(e.labels[4]), b(e.labels[5]), e.patient_id, b(e.normal_ecg), name);
    }
    ids.push_back(0);
    write_atomically(path, [&](const std::string& tmp) {
      H5Handle file(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
      ECG_H5_CHECK(file.valid(), "{}: cannot create", path);
      const hsize_t rows = n + 1;
      H5Handle id_space(H5Screate_simple(1, &rows, nullptr));
      H5Handle id_ds(H5Dcreate2(file, "exam_id", H5T_STD_I64LE, id_space, H5P_DEFAULT, H5P_DEFAULT,
                                H5P_DEFAULT));
      ECG_H5_CHECK(id_ds.valid() && H5Dwrite(id_ds, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                                             ids.data()) >= 0,
                   "{}: cannot write exam_id", path);
      const hsize_t dims[3] = {rows, t, 12};
      H5Handle space(H5Screate_simple(3, dims, nullptr));
      H5Handle ds(H5Dcreate2(file, "tracings", H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT,
                             H5P_DEFAULT));
      ECG_H5_CHECK(ds.valid() && H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                                          tracings.data()) >= 0,
                   "{}: cannot write tracings", path);
    }, "CODE-15% part");
  }
  write_file_atomically((std::filesystem::path(dir) / "exams.csv").string(), csv);
}

}  // namespace ecg::data
