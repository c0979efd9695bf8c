// The sources of `preprocess` (internal to ecg_data). A source lists its records from their
// metadata (cheap: no signals are decoded), hands each record's signal to the one pipeline in
// preprocess.cpp when asked, and derives its tasks' labels for the records that were kept:
//   ptbxl_source.cpp        PTB-XL release
//   challenge_source.cpp    PhysioNet/CinC Challenge 2020/2021 folders
//   code15_source.cpp       CODE-15% HDF5 parts + exams.csv
//   wfdb_folder_source.cpp  any WFDB folder, unlabelled or with a label CSV
// preprocess.cpp writes one source, or several merged, into the HDF5 layout.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "data/formats/labels.h"
#include "data/preprocess.h"

namespace ecg::data {

struct ListedRecord {
  int64_t id = 0;       // ecg_id in its source
  int64_t patient = 0;  // patient id in its source
  int fold = 0;         // 1..10 from the source; 0: preprocess assigns it
  std::string name;     // the record's name in its source ("" for PTB-XL: the id is its name)
};

// A problem with one record: throws unless --skip-bad-records, else counts it.
using SkipRecord = std::function<void(const std::string& message)>;

class RecordSource {
 public:
  virtual ~RecordSource() = default;
  const std::vector<ListedRecord>& records() const { return records_; }
  const std::string& origin() const { return origin_; }  // "challenge:/data/cinc2021"
  // Record i's leads; called from several threads at once.
  virtual RawRecord load(size_t i) const = 0;
  // "500 Hz", "their own rates": for the log.
  virtual std::string rates() const = 0;
  // The Hz every record comes at, or 0 when each has its own (the manifest's source_rate).
  virtual int source_rate() const = 0;
  // One label matrix per task for the kept records (indices into records()), in their order.
  virtual std::vector<TaskLabels> labels(const std::vector<size_t>& kept) const = 0;
  // The index (into labels()) of the task that stratifies assigned folds, or -1.
  virtual int stratify_task() const { return labels_stratify_; }
  // How records longer or shorter than --duration are treated, for the manifest.
  virtual std::string crop_rule(double duration_s) const;

 protected:
  std::vector<ListedRecord> records_;
  std::string origin_;
  int labels_stratify_ = -1;
};

std::unique_ptr<RecordSource> list_ptbxl(const PreprocessOptions& o, const std::string& dir,
                                         const SkipRecord& skip);
std::unique_ptr<RecordSource> list_challenge(const PreprocessOptions& o, const std::string& dir,
                                             const SkipRecord& skip);
std::unique_ptr<RecordSource> list_code15(const PreprocessOptions& o, const std::string& dir,
                                          const SkipRecord& skip);
std::unique_ptr<RecordSource> list_wfdb_folder(const PreprocessOptions& o, const std::string& dir,
                                               const SkipRecord& skip);

// Record paths (without .hea) of a WFDB folder: the lines of its RECORDS file when it has one
// (PhysioNet's index), else every *.hea below it; relative to `root`, in byte order.
std::vector<std::string> find_wfdb_records(const std::string& root, const std::string& flag);

// The `labels` of a source whose tasks are label sets keyed by record: ordered classes, rows kept.
TaskLabels labels_of_kept(const TaskLabels& all, const std::vector<size_t>& kept);

}  // namespace ecg::data
