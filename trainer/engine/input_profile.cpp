#include "trainer/engine/input_profile.h"

#include <fmt/format.h>

#include "common/error.h"

namespace ecg::engine {

const char* profile_name(InputProfile profile) {
  switch (profile) {
    case InputProfile::standard: return "default";
    case InputProfile::st_mem: return "st-mem";
  }
  return "?";
}

const std::map<std::string, InputProfile>& profiles_by_name() {
  static const std::map<std::string, InputProfile> names = {{"default", InputProfile::standard},
                                                            {"st-mem", InputProfile::st_mem}};
  return names;
}

InputProfile profile_from_options(const nlohmann::json& options, const std::string& path) {
  if (!options.is_object() || !options.contains("profile")) return InputProfile::standard;
  const auto& value = options.at("profile");
  ECG_CHECK(value.is_string() && profiles_by_name().count(value.get<std::string>()),
            "{}: options.profile must be \"default\" or \"st-mem\" (got {})", path, value.dump());
  return profiles_by_name().at(value.get<std::string>());
}

void check_profile_data(InputProfile profile, const data::Manifest& manifest, const std::string& path) {
  if (profile != InputProfile::st_mem) return;
  const data::StMemInputSpec spec;
  // Filtering twice or standardising a z-scored record would not be ST-MEM's input; another rate
  // would change what the fixed 0.67/40 Hz filters and the 2,250-sample crop mean.
  std::string wrong;
  auto add = [&wrong](const std::string& field) { wrong += (wrong.empty() ? "" : ", ") + field; };
  if (manifest.target_rate != static_cast<int>(spec.sampling_rate_hz)) {
    add(fmt::format("target_rate: {}", manifest.target_rate));
  }
  if (manifest.filter) add("filter: true");
  if (manifest.normalization != "none") add(fmt::format("normalization: {}", manifest.normalization));
  ECG_CHECK(wrong.empty(),
            "{}: --profile st-mem needs a 250 Hz file without band-pass or normalisation (`ecgdist "
            "preprocess ... --target-rate 250 --no-filter --normalize none`) (manifest says {})",
            path, wrong);
  ECG_CHECK(manifest.n_samples >= spec.crop_samples,
            "{}: --profile st-mem needs records of at least {} samples (manifest says n_samples: {})", path,
            spec.crop_samples, manifest.n_samples);
}

std::shared_ptr<const data::StMemInput> make_stmem_input(int leads, int eval_crops, bool rand_augment) {
  data::StMemInputSpec spec;
  spec.leads = leads;
  spec.eval_crops = eval_crops;
  spec.rand_augment = rand_augment;
  return std::make_shared<const data::StMemInput>(spec);
}

}  // namespace ecg::engine
