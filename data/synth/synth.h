// `ecgdist synth`: a synthetic PTB-XL release (ptbxl_database.csv, scp_statements.csv + NOTICE,
// records100/ and/or records500/ WFDB records) whose signals depend on their labels, so that the
// whole pipeline (ingest, preprocess, training, evaluation) can run and learn without the real
// data. Output is a pure function of (seed, number of records, rates): --threads changes speed
// only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/synth/synth_labels.h"
#include "data/synth/synth_signal.h"

namespace ecg::data::synth {

struct SynthOptions {
  std::string out_dir;
  int records = 1000;
  bool write_100hz = true;
  bool write_500hz = true;
  uint64_t seed = 42;
  int threads = 2;
  bool cover_all_codes = true;  // round-robin codes so that >= 497 records hold all 71
};

// One row of ptbxl_database.csv, in PTB-XL's column order (values already formatted).
struct DatabaseRow {
  int ecg_id = 0;
  int patient_id = 0;
  int strat_fold = 0;
  RecordLabels labels;
  std::vector<std::string> fields;  // all 28 columns
};

// PTB-XL's ptbxl_database.csv columns, in order.
const std::vector<std::string>& database_columns();

// Metadata and labels of all records (cheap: no signals), ecg_id 1..records.
std::vector<DatabaseRow> plan_database(const SynthOptions& options);

// "records100/00000/00001_lr" / "records500/00000/00001_hr".
std::string record_filename(int ecg_id, int rate);

// ADC units at gain 1000/mV, rounded and clamped to int16.
std::vector<std::vector<int16_t>> to_adc(const std::vector<std::vector<float>>& leads_mv);

struct SynthSummary {
  int records = 0;
  int patients = 0;
  int files = 0;
  double seconds = 0;
};

// Writes the whole directory; ptbxl_database.csv is written last, so its presence means the
// records it lists are complete.
SynthSummary write_synthetic_ptbxl(const SynthOptions& options);

}  // namespace ecg::data::synth
