// Using a trained model outside training: `ecgdist evaluate` (score a split of a preprocessed
// file with an existing checkpoint, ours or ST-MEM's with a head) and `ecgdist predict`
// (probabilities for new recordings, preprocessed exactly as the checkpoint's data was).
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "comm/communicator.h"
#include "trainer/engine/engine_options.h"
#include "trainer/finetune/input_profile.h"
#include "model/st_mem.h"

namespace ecg::finetune {

struct InferenceModel {
  model::StMem model{nullptr};
  std::vector<std::string> classes;
  nlohmann::json manifest;  // null for a torch.save file without our metadata
  std::string task;         // "" when unknown
  // Samples per evaluation window: the --crop-length the model was trained and validated with (its
  // training options in the checkpoint), else the model's full input. Evaluating at another length
  // than the one the run selected its best model on gives other numbers than the run reported.
  int64_t crop = 0;
  // The input pipeline it was trained with (its options' "profile"; "default" when unknown):
  // evaluate and predict feed it the same way.
  InputProfile profile = InputProfile::standard;
};

// Loads any checkpoint with its head; eval mode. An exported .pt brings its checkpoint's metadata
// (model/checkpoint.h kExportMetaRecord), so it is checked like the checkpoint. Errors name the file.
InferenceModel load_inference_model(const std::string& path);

// A model whose checkpoint records no preprocessing manifest (a foreign torch.save file, an export
// stripped of its metadata) may meet the HDF5 file `data` only when the user states, with
// --trust-data-preprocessing (`trusted`), that it was preprocessed like the training data: else
// one error naming the checkpoint and the flag. A no-op when the checkpoint has a manifest (that
// is then checked, whatever the flag).
void check_unrecorded_preprocessing(const InferenceModel& im, const std::string& checkpoint, const std::string& data,
                                    bool trusted);

struct EvaluateOptions {
  std::string data;
  std::string task = "superdiagnostic";
  std::string checkpoint;
  std::string out;
  std::string split = "test";  // test | val
  int eval_crops = 3;
  int batch_size = 64;
  int bootstrap = 1000;
  uint64_t seed = 0;
  int threads = 0;
  double timeout = 300;
  // The checkpoint records no preprocessing; the user states that `data` was preprocessed like its
  // training data (check_unrecorded_preprocessing).
  bool trust_data_preprocessing = false;
  engine::DeviceChoice device = engine::DeviceChoice::auto_select;
};

int run_evaluate(comm::Communicator& comm, const EvaluateOptions& options);

struct PredictOptions {
  std::string checkpoint;
  std::string input;  // RECORD.hea (WFDB) or FILE.h5 (preprocessed)
  std::string out;    // CSV
  int eval_crops = 3;
  int batch_size = 32;
  int threads = 0;
  // A recording sampled at another rate than the checkpoint's training records (its manifest's
  // source_rate) is refused unless this is set; then it is scored with a warning (docs/outputs.md).
  bool allow_rate_mismatch = false;
  // As EvaluateOptions::trust_data_preprocessing, for an .h5 input (a WFDB input needs a manifest).
  bool trust_data_preprocessing = false;
  engine::DeviceChoice device = engine::DeviceChoice::auto_select;
  double timeout = 300;  // seconds before a stuck collective or batch read is fatal (an .h5 input)
};

// An .h5 input is scored by every rank (mpirun), each its block of the records; rank 0 writes the
// CSV. A WFDB record is scored by a single process.
int run_predict(comm::Communicator& comm, const PredictOptions& options);

}  // namespace ecg::finetune
