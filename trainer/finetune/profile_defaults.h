// `ecgdist train --profile st-mem`'s schedule defaults (the profile itself, its data check and
// its pipeline are the engine's: trainer/engine/input_profile.h, shared with `pretrain`).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "trainer/engine/input_profile.h"

namespace ecg::finetune {

using engine::check_profile_data;
using engine::InputProfile;
using engine::make_stmem_input;
using engine::profile_from_options;
using engine::profile_name;
using engine::profiles_by_name;

struct TrainOptions;

// ST-MEM's downstream schedule (configs/downstream/st_mem.yaml) as defaults of stage 2 for every
// setting the user did not give: `given(flag)` says whether "--lr", "--epochs", ... was on the
// command line. Returns "field=value" for each default it set (printed with the resolved
// configuration and kept in TrainOptions::from_profile). No-op for "default".
std::vector<std::string> apply_profile_defaults(TrainOptions& options,
                                                const std::function<bool(const std::string&)>& given);

}  // namespace ecg::finetune
