// The PhysioNet/CinC Challenge 2020/2021 source of `preprocess`: any folder holding tranches of the
// Challenge data (CPSC2018, CPSC-extra, Georgia, PTB, INCART, Chapman-Shaoxing, Ningbo, PTB-XL),
// scanned recursively for WFDB headers. The rules (docs/datasets.md):
// - records: the RECORDS index or every *.hea below --input, in byte order of their relative
//   paths; ecg_id is the 1-based position in that order (so skipping a record never renumbers the
//   others), and /record_name keeps the relative path ("cpsc_2018/A0001");
// - rates: each record at its own rate (257, 500, 1000 Hz), resampled to --target-rate;
// - length: the first --duration seconds; a shorter record is refused (skipped and counted with
//   --skip-bad-records): padding would teach the model flat lines that no real ECG has;
// - labels: #Dx as SNOMED CT codes; each code must be one of the Challenge's (snomed_ct.h).
//   Tasks: `dx` (every code present), `scored` (the Challenge 2021's scored classes, equivalent
//   codes merged) and each --snomed-task;
// - patients: the headers name none, so each record is its own patient;
// - folds: 1..10, patient-grouped and stratified on `dx` (stratified_folds.h), seed 0.
#include <filesystem>

#include "common/error.h"
#include "data/formats/challenge_record.h"
#include "data/formats/csv_table.h"
#include "data/formats/snomed_ct.h"
#include "data/record_source.h"

namespace ecg::data {
namespace {

namespace fs = std::filesystem;

class ChallengeSource : public RecordSource {
 public:
  ChallengeSource(const PreprocessOptions& o, const std::string& dir, const SkipRecord& skip)
      : table_(SnomedTable::challenge2021()) {
    origin_ = std::string("challenge:") + dir;
    for (const auto& spec : o.snomed_tasks) {
      extra_tasks_.push_back(parse_snomed_task(spec, table_, "--snomed-task"));
      const std::string& name = extra_tasks_.back().name;
      ECG_CHECK(name != "dx" && name != "scored", "--snomed-task {}: the name '{}' is taken", spec,
                name);
      for (size_t k = 0; k + 1 < extra_tasks_.size(); ++k)
        ECG_CHECK(extra_tasks_[k].name != name, "--snomed-task: task '{}' given twice", name);
    }
    const std::vector<std::string> names = find_wfdb_records(dir, "--input");
    for (size_t i = 0; i < names.size(); ++i) {
      const std::string path = (fs::path(dir) / names[i]).string();
      const std::string hea = path + ".hea";
      try {
        const WfdbHeader header = read_wfdb_header(hea);
        ChallengeMeta meta = parse_challenge_meta(header.comments, hea);
        for (const auto& code : meta.dx) {
          ECG_CHECK(table_.find(code) != nullptr,
                    "{}: #Dx code {} is not a SNOMED CT code of the Challenge's tables", hea,
                    cell_excerpt(code));
        }
        const auto id = static_cast<int64_t>(i) + 1;
        records_.push_back({id, id, 0, names[i]});  // each record its own patient
        paths_.push_back(path);
        dx_.push_back(std::move(meta.dx));
      } catch (const Error& e) {
        skip(e.message());
      }
    }
    labels_stratify_ = 0;  // dx
  }

  RawRecord load(size_t i) const override { return read_standard_wfdb(paths_[i], 0); }
  std::string rates() const override { return "their own rates"; }
  int source_rate() const override { return 0; }

  std::vector<TaskLabels> labels(const std::vector<size_t>& kept) const override {
    std::vector<std::vector<std::string>> dx;
    for (size_t k : kept) dx.push_back(dx_[k]);
    std::vector<TaskLabels> out;
    out.push_back(derive_snomed_labels(dx, snomed_dx_task(dx, table_), false));
    out.push_back(derive_snomed_labels(dx, snomed_scored_task(table_), false));
    for (const auto& task : extra_tasks_) out.push_back(derive_snomed_labels(dx, task, true));
    return out;
  }

 private:
  const SnomedTable& table_;
  std::vector<SnomedTask> extra_tasks_;
  std::vector<std::string> paths_;
  std::vector<std::vector<std::string>> dx_;
};

}  // namespace

std::unique_ptr<RecordSource> list_challenge(const PreprocessOptions& o, const std::string& dir,
                                             const SkipRecord& skip) {
  return std::make_unique<ChallengeSource>(o, dir, skip);
}

}  // namespace ecg::data
