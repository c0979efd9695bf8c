// The one HDF5 layout shared by `preprocess` (writer), `sharding` (reader) and `trainer`
// (labels, manifest checks). Documented for users in docs/hdf5-layout.md.
#pragma once

#include <array>
#include <string>

namespace ecg::data::layout {

inline constexpr int kFormatVersion = 1;

// Datasets.
inline constexpr const char* kSignals = "/signals";        // float32 [N, 12, T]
inline constexpr const char* kEcgId = "/ecg_id";           // int64 [N]
inline constexpr const char* kPatientId = "/patient_id";   // int64 [N]
inline constexpr const char* kFold = "/fold";              // int8 [N]
inline constexpr const char* kLabelsGroup = "/labels";     // /labels/<task> uint8 [N, C]
inline constexpr const char* kClassesAttr = "classes";     // on each /labels/<task>: string[C]

// Root attributes.
inline constexpr const char* kSamplingRateAttr = "sampling_rate";  // int
inline constexpr const char* kNSamplesAttr = "n_samples";          // int (T)
inline constexpr const char* kLeadsAttr = "leads";                 // string[12]
inline constexpr const char* kSourceAttr = "source";               // string
inline constexpr const char* kFormatVersionAttr = "format_version";  // int
inline constexpr const char* kManifestAttr = "preprocessing";      // JSON string (Manifest)

inline constexpr int kNumLeads = 12;
inline const std::array<std::string, kNumLeads> kLeadOrder = {
    "I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"};

inline const std::array<std::string, 6> kTasks = {"all",            "diagnostic", "subdiagnostic",
                                                  "superdiagnostic", "form",       "rhythm"};

}  // namespace ecg::data::layout
