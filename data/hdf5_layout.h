// The one HDF5 layout shared by `preprocess` (writer) and its readers, `dataset_info` (metadata,
// labels, manifest) and `sharding` (signals). Documented for users in docs/hdf5-layout.md.
#pragma once

#include <array>
#include <string>

#include "data/formats/leads.h"

namespace ecg::data::layout {

inline constexpr int kFormatVersion = 1;

// Datasets.
inline constexpr const char* kSignals = "/signals";        // float32 [N, 12, T]
inline constexpr const char* kEcgId = "/ecg_id";           // int64 [N]
inline constexpr const char* kPatientId = "/patient_id";   // int64 [N]
inline constexpr const char* kFold = "/fold";              // int8 [N], kMinFold..kMaxFold
// Optional, string [N]: each record's name in its source ("cpsc_2018/A0001", "exam 1169160");
// PTB-XL files have none (the ecg_id is the record's name there).
inline constexpr const char* kRecordName = "/record_name";
// Optional, string [N]: which source each record came from, when several were merged.
inline constexpr const char* kOrigin = "/origin";
inline constexpr int kMinFold = 1;                         // PTB-XL's strat_fold range
inline constexpr int kMaxFold = 10;
inline constexpr const char* kLabelsGroup = "/labels";     // /labels/<task> uint8 [N, C]
inline constexpr const char* kClassesAttr = "classes";     // on each /labels/<task>: string[C]
// Optional, on /labels/<task>: string[C], what each class means ("atrial fibrillation (SNOMED CT
// 164889003)"); PTB-XL's tasks have none (their classes are SCP codes and classes).
inline constexpr const char* kClassDescriptionsAttr = "class_descriptions";

// Root attributes.
inline constexpr const char* kSamplingRateAttr = "sampling_rate";  // int
inline constexpr const char* kNSamplesAttr = "n_samples";          // int (T)
inline constexpr const char* kLeadsAttr = "leads";                 // string[12]
inline constexpr const char* kSourceAttr = "source";               // string
inline constexpr const char* kFormatVersionAttr = "format_version";  // int
inline constexpr const char* kManifestAttr = "preprocessing";      // JSON string (Manifest)

// /signals rows are in data::kLeadOrder (data/formats/leads.h).
using data::kLeadOrder;
using data::kNumLeads;

// PTB-XL's tasks. Other sources store their own (`dx`, `scored`, a user's): a task is whatever
// /labels holds.
inline const std::array<std::string, 6> kTasks = {"all",            "diagnostic", "subdiagnostic",
                                                  "superdiagnostic", "form",       "rhythm"};

}  // namespace ecg::data::layout
