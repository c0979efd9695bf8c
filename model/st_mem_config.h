// Configuration of the ST-MEM ViT (sizes, regularisation, selected leads) with a JSON round trip,
// so that every checkpoint can carry the exact architecture it was trained with.
#pragma once

#include <array>
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace ecg::model {

// The 12 standard leads in ST-MEM's (and PTB-XL's) order; lead embedding k belongs to name k.
inline constexpr std::array<const char*, 12> kStandardLeads = {
    "I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"};

// Index of a lead name in kStandardLeads. Matching ignores case ("AVR" == "aVR": PTB-XL's header
// files spell it that way); an unknown name throws naming it and the accepted names.
int64_t standard_lead_index(const std::string& name);
std::vector<std::string> standard_lead_names();

struct StMemConfig {
  std::string size = "base";  // "tiny", "small", "base" or "custom"
  int64_t width = 768;
  int64_t depth = 12;
  int64_t heads = 12;
  int64_t mlp_dim = 3072;
  int64_t dim_head = 64;  // fixed by ST-MEM: heads * 64 == width
  int64_t patch_size = 75;
  int64_t num_patches = 30;  // 2250 samples = 9 s at 250 Hz
  int64_t num_classes = 1;
  double drop_path = 0.0;
  double dropout = 0.0;
  std::vector<std::string> leads = standard_lead_names();

  // tiny (D 192, depth 4, 3 heads), small (384, 12, 6), base (768, 12, 12); MLP = 4 D.
  static StMemConfig preset(const std::string& size);

  int64_t seq_len() const { return patch_size * num_patches; }
  // Index in kStandardLeads of each selected input channel.
  std::vector<int64_t> lead_indices() const;
  // Throws an ecg::Error naming the first inconsistent field.
  void validate() const;
};

// JSON: every field by name. from_json starts from preset(size) when "size" names a preset, so a
// user may give only what differs; unknown keys are rejected (typos must not pass silently).
void to_json(nlohmann::json& j, const StMemConfig& c);
void from_json(const nlohmann::json& j, StMemConfig& c);

}  // namespace ecg::model
