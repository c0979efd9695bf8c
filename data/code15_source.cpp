// The CODE-15% source of `preprocess` (Ribeiro et al.; zenodo.org/records/4916206): exams_part*.hdf5
// files, each with `exam_id` [N] and `tracings` [N, 4096, 12] float32 at 400 Hz, plus exams.csv
// (exam_id, age, is_male, nn_predicted_age, 1dAVb, RBBB, LBBB, SB, ST, AF, patient_id, death, timey,
// normal_ecg, trace_file). The rules (docs/datasets.md):
// - values are mV (the authors' README says "scale 1e-4V ... if the signal is in V it should be
//   multiplied by 1000", i.e. mV; the Challenge 2025's conversion writes them at 1000/mV too);
// - leads: DI, DII, DIII, aVR, aVL, aVF, V1-V6 = the stored order;
// - padding: 7 s and 10 s exams are centred in 4096 samples with zeros; the rows (time steps)
//   where all 12 leads are exactly 0 are removed from both ends, as the Challenge 2025 does; an
//   exam left shorter than --duration is refused (use --duration 7 to keep the 7 s exams);
// - records: every row of every part (parts in byte order, rows in order); ecg_id = exam_id,
//   patient_id from exams.csv; a part's trailing row with exam_id 0 and an all-zero tracing is
//   the parts' filler, not an exam, and is passed over (counted in the log);
// - labels: task `abnormalities` = the six columns 1dAVb RBBB LBBB SB ST AF (True/False);
// - folds: 1..10, patient-grouped and stratified on `abnormalities` (stratified_folds.h).
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <mutex>

#include "common/error.h"
#include "common/log.h"
#include "data/formats/csv_table.h"
#include "data/h5.h"
#include "data/record_source.h"

namespace ecg::data {
namespace {

namespace fs = std::filesystem;

constexpr int kRate = 400;
constexpr int kLeads = 12;
const std::vector<std::string> kClasses = {"1dAVb", "RBBB", "LBBB", "SB", "ST", "AF"};
constexpr size_t kMaxExamsCsvBytes = size_t{1} << 30;

bool parse_bool(const std::string& v, const std::string& where) {
  if (v == "True" || v == "true" || v == "TRUE" || v == "1" || v == "1.0") return true;
  if (v == "False" || v == "false" || v == "FALSE" || v == "0" || v == "0.0") return false;
  ECG_FAIL("{}: '{}' is not True or False", where, cell_excerpt(v));
}

int64_t parse_id(const std::string& v, const std::string& where) {
  size_t used = 0;
  long long x = 0;
  try {
    x = std::stoll(v, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  ECG_CHECK(used == v.size() && !v.empty() && x >= 0, "{}: '{}' is not a non-negative integer",
            where, cell_excerpt(v));
  return x;
}

struct Exam {
  int64_t patient = 0;
  std::vector<uint8_t> labels;  // kClasses
  std::string trace_file;
};

class Code15Source : public RecordSource {
 public:
  Code15Source(const PreprocessOptions&, const std::string& dir, const SkipRecord& skip) {
    origin_ = std::string("code15:") + dir;
    const std::string csv_path = (fs::path(dir) / "exams.csv").string();
    const auto exams = read_exams(csv_path);

    std::vector<std::string> parts;
    for (const auto& e : fs::directory_iterator(dir)) {
      const std::string name = e.path().filename().string();
      if (name.rfind("exams_part", 0) == 0 && e.path().extension() == ".hdf5") parts.push_back(name);
    }
    std::sort(parts.begin(), parts.end());
    ECG_CHECK(!parts.empty(), "--input {}: no exams_part*.hdf5 files", dir);
    int64_t fillers = 0;
    for (const auto& name : parts) {
      Part part;
      part.path = (fs::path(dir) / name).string();
      part.file = h5_open_file_readonly(part.path);
      part.tracings = h5_open_dataset(part.file, "tracings", part.path);
      const auto shape = h5_dataset_shape(part.tracings);
      ECG_CHECK(shape.size() == 3 && shape[2] == kLeads && shape[1] > 0 && shape[1] <= (1u << 20),
                "{}: dataset tracings should have shape [N, T, 12], has {} dimensions", part.path,
                shape.size());
      part.n_samples = static_cast<int64_t>(shape[1]);
      H5Handle ids_ds = h5_open_dataset(part.file, "exam_id", part.path);
      const auto ids_shape = h5_dataset_shape(ids_ds);
      ECG_CHECK(ids_shape.size() == 1 && ids_shape[0] == shape[0],
                "{}: exam_id has {} entries for {} tracings", part.path,
                ids_shape.empty() ? 0 : ids_shape[0], shape[0]);
      std::vector<int64_t> ids(static_cast<size_t>(shape[0]));
      if (!ids.empty()) {
        ECG_H5_CHECK(H5Dread(ids_ds, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, ids.data()) >= 0,
                     "{}: cannot read exam_id", part.path);
      }
      parts_.push_back(std::move(part));
      const size_t p = parts_.size() - 1;
      for (size_t row = 0; row < ids.size(); ++row) {
        const std::string where = fmt::format("{} row {} (exam_id {})", parts_[p].path, row, ids[row]);
        if (ids[row] == 0 && row + 1 == ids.size()) {
          ++fillers;
          continue;
        }
        const auto it = exams.find(ids[row]);
        if (it == exams.end()) {
          skip(fmt::format("{}: no row for this exam_id in {}", where, csv_path));
          continue;
        }
        if (!it->second.trace_file.empty() && it->second.trace_file != name) {
          skip(fmt::format("{}: exams.csv says trace_file {}", where, cell_excerpt(it->second.trace_file)));
          continue;
        }
        records_.push_back({ids[row], it->second.patient, 0, ""});
        where_.push_back({p, row});
        labels_.insert(labels_.end(), it->second.labels.begin(), it->second.labels.end());
      }
    }
    if (fillers > 0) log::info("preprocess: {} filler rows (exam_id 0 at a part's end) passed over", fillers);
    labels_stratify_ = 0;
  }

  RawRecord load(size_t i) const override {
    const auto [p, row] = where_[i];
    const Part& part = parts_[p];
    const auto t = static_cast<size_t>(part.n_samples);
    std::vector<float> block(t * kLeads);
    {
      // HDF5 serialises its calls anyway (thread-safe build); the lock keeps the handles of one
      // part from being used by two threads in between.
      std::lock_guard<std::mutex> lock(mu_);
      H5Handle space(H5Dget_space(part.tracings));
      const hsize_t start[3] = {static_cast<hsize_t>(row), 0, 0};
      const hsize_t count[3] = {1, static_cast<hsize_t>(t), kLeads};
      ECG_H5_CHECK(H5Sselect_hyperslab(space, H5S_SELECT_SET, start, nullptr, count, nullptr) >= 0,
                   "{}: cannot select row {}", part.path, row);
      H5Handle mem(H5Screate_simple(3, count, nullptr));
      ECG_H5_CHECK(H5Dread(part.tracings, H5T_NATIVE_FLOAT, mem, space, H5P_DEFAULT, block.data()) >= 0,
                   "{}: cannot read tracings row {}", part.path, row);
    }
    const std::string name = fmt::format("{} row {} (exam_id {})", part.path, row, records_[i].id);
    // Zero padding: time steps with all 12 leads exactly 0, from both ends.
    auto all_zero = [&](size_t s) {
      for (size_t l = 0; l < kLeads; ++l)
        if (block[s * kLeads + l] != 0.0f) return false;
      return true;
    };
    size_t first = 0, last = t;
    while (first < t && all_zero(first)) ++first;
    while (last > first && all_zero(last - 1)) --last;
    ECG_CHECK(last > first, "{}: the tracing is all zeros", name);
    RawRecord raw;
    raw.sampling_rate = kRate;
    raw.name = name;
    raw.leads.assign(kLeads, std::vector<float>(last - first));
    for (size_t s = first; s < last; ++s)
      for (size_t l = 0; l < kLeads; ++l) {
        const float v = block[s * kLeads + l];
        ECG_CHECK(std::isfinite(v), "{}: non-finite value in lead {} at sample {}", name, l, s);
        raw.leads[l][s - first] = v;
      }
    return raw;
  }
  std::string rates() const override { return "400 Hz"; }
  int source_rate() const override { return kRate; }
  std::string crop_rule(double duration_s) const override {
    return fmt::format(
        "all-zero time steps removed from both ends (CODE-15% centres 7 s and 10 s exams in 4096 "
        "samples), then the first {} s; shorter exams refused",
        duration_s);
  }

  std::vector<TaskLabels> labels(const std::vector<size_t>& kept) const override {
    TaskLabels all;
    all.task = "abnormalities";
    all.classes = kClasses;
    all.descriptions = {"1st degree AV block", "right bundle branch block", "left bundle branch block",
                        "sinus bradycardia", "sinus tachycardia", "atrial fibrillation"};
    all.matrix = labels_;
    return {labels_of_kept(all, kept)};
  }

 private:
  struct Part {
    std::string path;
    H5Handle file, tracings;
    int64_t n_samples = 0;
  };

  static std::map<int64_t, Exam> read_exams(const std::string& csv_path) {
    const CsvRows rows =
        parse_csv(read_text_file_bounded(csv_path, kMaxExamsCsvBytes, "CODE-15% exams.csv"), csv_path);
    ECG_CHECK(!rows.empty(), "{}: empty file, expected a header row", csv_path);
    std::map<std::string, size_t> col;
    for (size_t i = 0; i < rows[0].size(); ++i) col.emplace(rows[0][i], i);
    auto index = [&](const std::string& name) {
      const auto it = col.find(name);
      ECG_CHECK(it != col.end(), "{}: missing column '{}'", csv_path, name);
      return it->second;
    };
    const size_t c_id = index("exam_id"), c_patient = index("patient_id");
    std::vector<size_t> c_labels;
    for (const auto& c : kClasses) c_labels.push_back(index(c));
    const auto it_trace = col.find("trace_file");
    std::map<int64_t, Exam> exams;
    for (size_t r = 1; r < rows.size(); ++r) {
      const auto& row = rows[r];
      if (row.size() == 1 && row[0].empty()) continue;
      ECG_CHECK(row.size() == rows[0].size(), "{}: row {} has {} fields, header has {}", csv_path,
                r + 1, row.size(), rows[0].size());
      const std::string where = fmt::format("{}: row {}", csv_path, r + 1);
      Exam e;
      const int64_t id = parse_id(row[c_id], where + " exam_id");
      e.patient = parse_id(row[c_patient], where + " patient_id");
      for (size_t k = 0; k < kClasses.size(); ++k)
        e.labels.push_back(parse_bool(row[c_labels[k]], where + " " + kClasses[k]) ? 1 : 0);
      if (it_trace != col.end()) e.trace_file = row[it_trace->second];
      ECG_CHECK(exams.emplace(id, std::move(e)).second, "{}: exam_id {} appears twice", where, id);
    }
    return exams;
  }

  std::vector<Part> parts_;
  std::vector<std::pair<size_t, size_t>> where_;  // (part, row) per record
  std::vector<uint8_t> labels_;                   // [records, 6]
  mutable std::mutex mu_;
};

}  // namespace

std::unique_ptr<RecordSource> list_code15(const PreprocessOptions& o, const std::string& dir,
                                          const SkipRecord& skip) {
  return std::make_unique<Code15Source>(o, dir, skip);
}

}  // namespace ecg::data
