// `--profile` of `train`, `pretrain`, `evaluate` and `predict`: which input pipeline a model is fed with.
//   default  today's pipeline: the file's preprocessed records, a random crop for training and
//            equally spaced crops cut on the device for evaluation.
//   st-mem   ST-MEM's own downstream pipeline (docs/stmem-input.md, data/signal/stmem_input.h): from a
//            250 Hz file that is neither band-passed nor normalised, each crop is high-/low-pass
//            filtered and standardised on the CPU (plus RandAugment for fine-tuning, as in
//            ST-MEM's downstream config, none for pretraining, as in its pretraining config);
//            `train` also takes the schedule defaults of configs/downstream/st_mem.yaml
//            (trainer/finetune/profile_defaults.h).
// The profile is part of a run's options, so checkpoints (meta["options"]) and results.json
// ("settings") carry it: `evaluate`/`predict` pick it up from the checkpoint, and `train --init`
// refuses an encoder of ours that was fed otherwise. Both tasks use it, so it lives in the engine.
#pragma once

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "data/manifest.h"
#include "data/signal/stmem_input.h"

namespace ecg::engine {

enum class InputProfile { standard, st_mem };

// JSON and the CLI spell them "default" and "st-mem".
NLOHMANN_JSON_SERIALIZE_ENUM(InputProfile, {{InputProfile::standard, "default"},
                                            {InputProfile::st_mem, "st-mem"}})
const char* profile_name(InputProfile profile);
const std::map<std::string, InputProfile>& profiles_by_name();

// The checkpoint's profile from its training options (meta["options"]["profile"]); checkpoints
// written before profiles existed, and torch.save files, are "default". An unknown name is an
// error naming `path`.
InputProfile profile_from_options(const nlohmann::json& options, const std::string& path);

// Refuses a file the profile cannot use, naming the file and the manifest field(s), e.g.
// "F.h5: --profile st-mem needs ... (manifest says filter: true)". No-op for "default".
void check_profile_data(InputProfile profile, const data::Manifest& manifest, const std::string& path);

// ST-MEM's pipeline for `leads` leads (standardised over those leads, as ST-MEM does after its
// lead selection) with `eval_crops` evaluation crops; RandAugment on training crops when
// `rand_augment` (ST-MEM's downstream config; its pretraining config has none).
std::shared_ptr<const data::StMemInput> make_stmem_input(int leads, int eval_crops, bool rand_augment = true);

}  // namespace ecg::engine
