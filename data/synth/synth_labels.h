// Label sampling for synthetic PTB-XL records: a diagnosis mix with PTB-XL-like prevalence (NORM
// common, then MI/STTC/CD/HYP), one rhythm statement (SR mostly) and form statements, as the
// scp_codes dict of ptbxl_database.csv (code -> likelihood). The signal generator turns these
// labels into ECG features, so labels are learnable from the signals.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "data/signal/synth_rng.h"

namespace ecg::data::synth {

struct RecordLabels {
  // In the order written to scp_codes: diagnostic first, then form, then the rhythm.
  std::vector<std::pair<std::string, double>> codes;
  bool has(const std::string& code) const;
  std::string rhythm() const;  // the rhythm statement ("SR" when none)
};

// Every code the sampler can emit; equals the 71 statements of the embedded PTB-XL table
// (checked by a test), in the table's order.
const std::vector<std::string>& all_synth_codes();

// Records whose 0-based index i satisfies i % kCoverStride == kCoverOffset and
// i / kCoverStride < 71 carry code all_synth_codes()[i / kCoverStride] (round-robin), so any run
// of >= 71 * kCoverStride records contains every code.
constexpr int kCoverStride = 7;
constexpr int kCoverOffset = 3;
int cover_code_index(int record_index);  // -1 when the record carries no forced code

// Samples labels for one record; forced_code >= 0 forces all_synth_codes()[forced_code] in.
RecordLabels sample_labels(Rng& rng, int forced_code);

// The PTB-XL style Python dict text, e.g. {'NORM': 100.0, 'SR': 0.0}.
std::string scp_codes_dict(const RecordLabels& labels);

}  // namespace ecg::data::synth
