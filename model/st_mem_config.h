// Configuration of the ST-MEM ViT (sizes, regularisation, selected leads) with a JSON round trip,
// so that every checkpoint can carry the exact architecture it was trained with.
#pragma once

#include <array>
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace ecg::model {

// ST-MEM's input: 250 Hz, 75-sample patches, 30 of them (2,250 samples = 9 s).
inline constexpr int kInputRateHz = 250;
inline constexpr int kPatchSamples = 75;
inline constexpr int kInputSamples = 2250;

// Index of a lead name in data::kLeadOrder (lead embedding k belongs to lead k). Matching ignores case ("AVR" == "aVR": PTB-XL's header
// files spell it that way); an unknown name throws naming it and the accepted names.
int64_t standard_lead_index(const std::string& name);
std::vector<std::string> standard_lead_names();

// Refuses data that is not what an ST-MEM encoder expects: the rate, and all 12 leads in the
// standard order (errors name `path` and the field).
void check_model_input(const std::string& path, int sampling_rate, const std::vector<std::string>& leads);

// The model sizes of ST-MEM's configs, the one list behind --model's choices, preset(), the size a
// foreign checkpoint is recognised as, and the benchmarks. MLP = 4 D throughout.
struct ModelSize {
  const char* name;
  int64_t width, depth, heads, mlp_dim;
};
inline constexpr std::array<ModelSize, 3> kModelSizes = {{{"tiny", 192, 4, 3, 768},
                                                          {"small", 384, 12, 6, 1536},
                                                          {"base", 768, 12, 12, 3072}}};
std::vector<std::string> model_size_names();  // tiny, small, base

struct StMemConfig {
  std::string size = "base";  // "tiny", "small", "base" or "custom"
  int64_t width = 768;
  int64_t depth = 12;
  int64_t heads = 12;
  int64_t mlp_dim = 3072;
  int64_t dim_head = 64;  // fixed by ST-MEM: heads * 64 == width
  int64_t patch_size = kPatchSamples;
  int64_t num_patches = kInputSamples / kPatchSamples;
  int64_t num_classes = 1;
  double drop_path = 0.0;
  double dropout = 0.0;
  std::vector<std::string> leads = standard_lead_names();

  // The architecture of one of kModelSizes.
  static StMemConfig preset(const std::string& size);

  int64_t seq_len() const { return patch_size * num_patches; }
  // Index in data::kLeadOrder of each selected input channel.
  std::vector<int64_t> lead_indices() const;
  // Throws an ecg::Error naming the first inconsistent field.
  void validate() const;
};

// JSON: every field by name. from_json starts from preset(size) when "size" names a preset, so a
// user may give only what differs; unknown keys are rejected (typos must not pass silently).
void to_json(nlohmann::json& j, const StMemConfig& c);
void from_json(const nlohmann::json& j, StMemConfig& c);

}  // namespace ecg::model
