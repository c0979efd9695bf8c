// The preprocessing manifest: every setting that changes what the model sees. `preprocess` stores
// it as JSON in the HDF5 root attribute `preprocessing`; the trainer copies it into checkpoints and
// refuses data whose manifest does not match (describe_mismatch names the fields).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace ecg::data {

struct Manifest {
  int format_version = 1;
  int source_rate = 500;  // Hz of the WFDB records read (100: filename_lr, 500: filename_hr)
  int target_rate = 250;  // Hz stored in /signals
  std::string resampler = "libsoxr HQ, 1 s reflect padding";
  bool filter = true;
  double filter_low_hz = 0.67;
  double filter_high_hz = 40.0;
  std::string filter_method =
      "zero-phase FFT band-pass, |H|^2 of Butterworth order 3 high-pass x low-pass, odd-reflect "
      "padding, applied at the source rate";
  std::string normalization = "record";  // "record": z-score over all leads and samples; "none"
  std::vector<std::string> leads;        // stored lead order (layout::kLeadOrder)
  double duration_s = 10.0;
  int n_samples = 2500;  // T = duration_s * target_rate
  std::string crop = "first 10 s of each record";
  std::string order = "crop -> band-pass (source rate) -> resample -> normalise";
};

nlohmann::json to_json(const Manifest& m);
// Missing fields are an error naming them (`source` names the file).
Manifest manifest_from_json(const nlohmann::json& j, const std::string& source);
void to_json(nlohmann::json& j, const Manifest& m);
void from_json(const nlohmann::json& j, Manifest& m);

// Reads the `preprocessing` attribute of a preprocessed HDF5 file.
Manifest read_manifest(const std::string& h5_path);

// Empty when data prepared with `a` and `b` are interchangeable for a model; otherwise one line
// naming each differing field: rate, leads, filter, normalisation, duration.
std::string describe_mismatch(const Manifest& a, const Manifest& b);

// Refuses data prepared differently from what a checkpoint was trained on: throws one line naming
// both files and each differing field. A null `checkpoint_manifest` (a torch.save file without
// our metadata) is accepted.
void check_same_preprocessing(const nlohmann::json& checkpoint_manifest, const Manifest& data_manifest,
                              const std::string& checkpoint_path, const std::string& data_path);

}  // namespace ecg::data
