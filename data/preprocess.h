// `ecgdist preprocess`: PTB-XL directory (ptbxl_database.csv, scp_statements.csv, WFDB records)
// -> one HDF5 file in the layout of data/hdf5_layout.h (documented in docs/hdf5-layout.md).
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

struct PreprocessOptions {
  std::string ptbxl_dir;
  std::string out_path;
  int sampling_rate = 500;  // which records to read: 100 (filename_lr) or 500 (filename_hr)
  int target_rate = 250;
  bool filter = true;
  std::string normalize = "record";  // "record" or "none"
  int threads = 0;                   // 0: hardware threads
  bool skip_bad_records = false;
  double duration_s = 10.0;
};

struct PreprocessSummary {
  int64_t records_in_database = 0;
  int64_t records_written = 0;
  int64_t records_skipped = 0;
  std::vector<std::string> skipped;  // one line per skipped record (the error)
  double seconds = 0;
};

PreprocessSummary preprocess_ptbxl(const PreprocessOptions& options);

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

// Per-thread signal pipeline (owns its FFT plans and resampler): WFDB record -> [12 * T] floats.
class RecordProcessor {
 public:
  explicit RecordProcessor(const PreprocessOptions& options);
  ~RecordProcessor();
  RecordProcessor(const RecordProcessor&) = delete;
  RecordProcessor& operator=(const RecordProcessor&) = delete;
  std::vector<float> process(const std::string& record_path);
  int n_samples_out() const { return n_out_; }

 private:
  PreprocessOptions options_;
  int n_in_;
  int n_out_;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ecg::data
