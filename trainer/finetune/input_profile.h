// `ecgdist train --profile`: which input pipeline a run trains and evaluates on.
//   default  today's pipeline: the file's preprocessed records, a random crop for training and
//            equally spaced crops cut on the device for evaluation.
//   st-mem   ST-MEM's own downstream pipeline (docs/stmem-input.md, data/signal/stmem_input.h): from a
//            250 Hz file that is neither band-passed nor normalised, each crop is high-/low-pass
//            filtered and standardised on the CPU (plus RandAugment for training), and the
//            schedule defaults of ST-MEM's configs/downstream/st_mem.yaml apply.
// The profile is part of the run's options, so checkpoints (meta["options"]) and results.json
// ("settings") carry it, and `evaluate`/`predict` pick it up from the checkpoint.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/manifest.h"
#include "data/signal/stmem_input.h"

namespace ecg::finetune {

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
// lead selection) with `eval_crops` evaluation crops.
std::shared_ptr<const data::StMemInput> make_stmem_input(int leads, int eval_crops);

struct TrainOptions;

// ST-MEM's downstream schedule (configs/downstream/st_mem.yaml) as defaults of stage 2 for every
// setting the user did not give: `given(flag)` says whether "--lr", "--epochs", ... was on the
// command line. Returns "field=value" for each default it set (printed with the resolved
// configuration and kept in TrainOptions::from_profile). No-op for "default".
std::vector<std::string> apply_profile_defaults(TrainOptions& options,
                                                const std::function<bool(const std::string&)>& given);

}  // namespace ecg::finetune
