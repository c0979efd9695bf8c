// Every setting of `ecgdist pretrain` (ST-MEM masked pretraining) in one struct: the CLI binds to
// it, rank 0 prints it resolved, checkpoints and results.json carry it as JSON.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "trainer/engine/engine_options.h"
#include "trainer/engine/input_profile.h"
#include "model/st_mem_config.h"

namespace ecg::pretrain {

struct PretrainOptions : engine::EngineOptions {
  std::string data;             // preprocessed HDF5 file; no label is read
  // st-mem: ST-MEM's pretraining input (configs/pretrain/st_mem.yaml): from a raw 250 Hz file,
  // random 2,250-sample crops band-passed and standardised, no augmentation. The encoder records
  // it, and `train --init` then needs the same profile.
  engine::InputProfile profile = engine::InputProfile::standard;
  std::vector<int> folds;       // records to pretrain on (empty = every record of the file)
  std::vector<int> val_folds;   // held out: masked reconstruction loss after each epoch (optional)
  std::string model = "tiny";   // tiny | small | base (decoder scaled with it)
  double mask_ratio = 0.75;     // of each lead's patches
  bool norm_pix_loss = true;    // per-patch normalised targets
  int epochs = 20;
  double lr = 5e-4;             // peak (absolute); AdamW betas 0.9 / 0.95 as MAE / ST-MEM
  double min_lr = 1e-6;
  double warmup_fraction = 0.05;
  double weight_decay = 0.01;    // ST-MEM's pretraining config
  int batch_size = 64;          // global
  int crop_length = static_cast<int>(model::kInputSamples);  // random 9 s window at 250 Hz
  uint64_t seed = 0;
};

void to_json(nlohmann::json& j, const PretrainOptions& o);
void from_json(const nlohmann::json& j, PretrainOptions& o);

// Throws ecg::Error naming the flag when a value is out of range.
void validate(const PretrainOptions& o);

}  // namespace ecg::pretrain
