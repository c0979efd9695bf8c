// `ecgdist synth --format wfdb`: a hospital-style folder of WFDB records (format 16 .dat, 500 Hz,
// 10 s, grouped by ward) with a PhysioNet RECORDS index and a label CSV of the team's own
// (record,labels,patient): the input of `preprocess --source wfdb [--labels labels.csv]`. Labels
// are the synthetic records' findings under plain names (NORM, AFIB, CRBBB, ...; "other" when none
// applies), ';'-separated. A function of (seed, records) only.
#pragma once

#include "data/synth/synth.h"

namespace ecg::data::synth {

SynthSummary write_synthetic_wfdb_folder(const SynthOptions& options);

}  // namespace ecg::data::synth
