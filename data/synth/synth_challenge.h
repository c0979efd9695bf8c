// `ecgdist synth --format challenge`: synthetic PhysioNet/CinC Challenge 2020/2021 folders, so
// that the Challenge reader is tested end to end without the real data. Three tranches shaped
// like real ones, each with the Challenge's file layout (WFDB header with #Age/#Sex/#Dx, format
// "16+24" .mat signals):
//   cpsc_2018/  A0001...   500 Hz, 10-20 s
//   ningbo/     JS00001... 500 Hz, 10 s
//   incart/     I0001...   257 Hz, 12 s (shorter cuts of INCART's 30-min records)
// Labels are the PTB-XL-style synthetic labels (synth_labels.h) written as the SNOMED CT codes
// of the same findings, and the signals depend on them as in the synthetic PTB-XL. Output is a
// function of (seed, records) only.
#pragma once

#include <map>
#include <string>

#include "data/synth/synth.h"

namespace ecg::data::synth {

// SCP statement -> SNOMED CT concept id, for the statements that have one in the Challenge's
// tables; records keep only mapped findings.
const std::map<std::string, std::string>& scp_to_snomed();

// Writes the folders below options.out_dir (options.write_100hz / write_500hz are ignored).
SynthSummary write_synthetic_challenge(const SynthOptions& options);

}  // namespace ecg::data::synth
