// Using a trained model outside training: `ecgdist evaluate` (score a split of a preprocessed
// file with an existing checkpoint, ours or ST-MEM's with a head) and `ecgdist predict`
// (probabilities for new recordings, preprocessed exactly as the checkpoint's data was).
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "comm/communicator.h"
#include "trainer/engine/engine_options.h"
#include "trainer/finetune/profile_defaults.h"
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
  // The input pipeline it was trained with (its options' "profile"): evaluate and predict feed it
  // the same way. Our checkpoints and exports record it (those written before profiles existed
  // were trained with "default"); a foreign torch.save file records none, and then the user names
  // it (resolve_profile).
  InputProfile profile = InputProfile::standard;
  bool profile_recorded = false;
  bool classes_recorded = false;  // false: `classes` are placeholders until a task names them
  std::string kind;               // the checkpoint's meta "kind" ("training", "encoder", ...), "" if none
};

// Loads any checkpoint with its head; eval mode. An exported .pt brings its checkpoint's metadata
// (model/checkpoint.h kExportMetaRecord), so it is checked like the checkpoint. Errors name the file.
InferenceModel load_inference_model(const std::string& path);

// Settles the pipeline `im` is fed with. A checkpoint that records its profile keeps it, and a
// `requested` one must be the same (else one error naming both). A checkpoint that records none (a
// foreign torch.save file, e.g. ST-MEM's fine-tuned model) is refused unless the user requests one:
// the error lists the profiles and what each expects of the data, because feeding raw crops to a
// model trained on filtered, standardised ones gives plausible-looking, wrong probabilities.
void resolve_profile(InferenceModel& im, const std::optional<InputProfile>& requested, const std::string& checkpoint);

// Names the model's outputs when its checkpoint names none, from `classes` (a task's, read from
// `source`); a checkpoint that names its classes must name these same ones. Errors name both sides.
void settle_classes(InferenceModel& im, const std::vector<std::string>& classes, const std::string& source,
                    const std::string& checkpoint);

// A model whose checkpoint records no preprocessing manifest (a foreign torch.save file, an export
// stripped of its metadata) may meet the HDF5 file `data` only when the user states, with
// --trust-data-preprocessing (`trusted`), that it was preprocessed like the training data: else
// one error naming the checkpoint and the flag. A no-op when the checkpoint has a manifest (that
// is then checked, whatever the flag), and for --profile st-mem, whose data demands (250 Hz, no
// band-pass, no normalisation) check_profile_data checks against the file's own manifest.
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
  std::optional<InputProfile> profile;  // --profile: required for a checkpoint that records none
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
  std::optional<InputProfile> profile;  // --profile: required for a checkpoint that records none
  // The classes' names, needed for a checkpoint that names none and checked against one that does:
  // --classes A,B,... or --task T, whose classes come from `classes_data` (--data) or else from an
  // .h5 --input.
  std::vector<std::string> classes;
  std::string task;
  std::string classes_data;
  engine::DeviceChoice device = engine::DeviceChoice::auto_select;
  double timeout = 300;  // seconds before a stuck collective or batch read is fatal (an .h5 input)
};

// An .h5 input is scored by every rank (mpirun), each its block of the records; rank 0 writes the
// CSV. A WFDB record is scored by a single process.
int run_predict(comm::Communicator& comm, const PredictOptions& options);

}  // namespace ecg::finetune
