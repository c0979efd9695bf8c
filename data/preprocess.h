// `ecgdist preprocess`: a source directory -> one HDF5 file in the layout of data/hdf5_layout.h
// (documented in docs/hdf5-layout.md; the sources in docs/datasets.md):
//   ptbxl      a PTB-XL release (ptbxl_database.csv, scp_statements.csv, WFDB records)
//   challenge  PhysioNet/CinC Challenge 2020/2021 folders (WFDB headers with #Dx, .mat signals)
//   code15     CODE-15% (exams_part*.hdf5 tracings at 400 Hz + exams.csv)
//   wfdb       any WFDB folder: unlabelled (pretraining), or labelled by a CSV of one's own
// or several of them merged into one pretraining file, each record's origin kept.
//
// Per record, in this order: read + verify the WFDB record, put the leads in the standard order,
// crop to the first `duration_s` seconds, band-pass at the source rate (before resampling, so the
// filter sees the full-bandwidth signal and the resampler's anti-alias filter only has to remove
// what lies above the new Nyquist rate), resample, then normalise (last, so the z-score describes
// exactly the values the model sees). Records are decoded and processed by --threads workers while
// one thread writes HDF5 in ecg_id order (HDF5 serialises all calls behind one global lock).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "data/signal/bandpass.h"
#include "data/hdf5_layout.h"
#include "data/manifest.h"
#include "data/formats/wfdb.h"

namespace ecg::data {

enum class DataSource { kPtbxl, kChallenge, kCode15, kWfdb };
const char* source_name(DataSource source);

struct SourceSpec {
  DataSource kind = DataSource::kPtbxl;
  std::string dir;
};

struct PreprocessOptions {
  DataSource source = DataSource::kPtbxl;
  std::string input_dir;
  // Two or more sources written into one file (then source/input_dir are unused): records keep
  // their origin and name; the file holds no tasks (label sets differ between sources).
  std::vector<SourceSpec> merge;
  std::string out_path;
  // PTB-XL: which records to read, 100 (filename_lr) or 500 (filename_hr). The Challenge's
  // records come at their own rates (257, 500, 1000 Hz), each resampled from its own.
  int sampling_rate = 500;
  int target_rate = 250;
  bool filter = true;
  std::string normalize = "record";  // "record" or "none"
  int threads = 0;                   // 0: hardware threads
  bool skip_bad_records = false;
  double duration_s = 10.0;
  // Challenge: extra tasks over SNOMED CT codes, "NAME=CODE[|CODE],CODE..." (see snomed_ct.h).
  std::vector<std::string> snomed_tasks;
  // wfdb: a CSV with columns record, labels[, patient][, fold] that labels the folder's records
  // (labels ';'-separated) as task `labels_task`; without it the file is unlabelled.
  std::string labels_csv;
  std::string labels_task = "labels";
};

struct PreprocessSummary {
  int64_t records_in_database = 0;
  int64_t records_written = 0;
  int64_t records_skipped = 0;
  std::vector<std::string> skipped;  // one line per skipped record (the error)
  double seconds = 0;
};

// Reads options.source from options.input_dir (or the merged sources) into options.out_path.
PreprocessSummary preprocess(const PreprocessOptions& options);

// The manifest the given options produce.
Manifest manifest_for(const PreprocessOptions& options);

// perm[k] = index of the header signal holding layout::kLeadOrder[k]. Lead names are matched
// case-insensitively (PTB-XL writes AVR/AVL/AVF); a permutation of the 12 is reordered, anything
// else (missing, unknown or repeated lead) is an error naming `file`.
std::array<int, layout::kNumLeads> standard_lead_permutation(const WfdbHeader& header,
                                                             const std::string& file);

// z-score over all leads and samples jointly. A constant record (std below 1e-6 of its units)
// becomes all zeros rather than dividing by ~0: it carries no signal, and zeros keep it finite.
void normalize_record(std::vector<float>& values);

// One record as a source hands it to the signal pipeline: the 12 leads in layout::kLeadOrder, in
// mV, at the record's own rate, from its first sample.
struct RawRecord {
  int sampling_rate = 0;
  std::vector<std::vector<float>> leads;
  std::string name;  // what errors name: "<path>.hea", "<part>.hdf5 exam 123"
};

// Reads a WFDB record and puts its leads in the standard order. required_rate > 0: the header
// must say that rate; 0: any whole number of Hz within 50..20000.
RawRecord read_standard_wfdb(const std::string& record_path, int required_rate);

// Per-thread signal pipeline (owns its FFT plans and resampler): a record at
// options.sampling_rate -> [12 * T] floats.
class RecordProcessor {
 public:
  explicit RecordProcessor(const PreprocessOptions& options);
  ~RecordProcessor();
  RecordProcessor(const RecordProcessor&) = delete;
  RecordProcessor& operator=(const RecordProcessor&) = delete;
  std::vector<float> process(const std::string& record_path);  // WFDB, at options.sampling_rate
  std::vector<float> process(RawRecord record);
  int n_samples_out() const { return n_out_; }

 private:
  PreprocessOptions options_;
  int n_in_;
  int n_out_;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ecg::data
