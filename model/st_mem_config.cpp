#include "model/st_mem_config.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <set>

#include "common/error.h"
#include "data/formats/leads.h"

namespace ecg::model {
std::vector<std::string> standard_lead_names() { return data::lead_names(); }

int64_t standard_lead_index(const std::string& name) {
  const int i = data::lead_index(name);
  ECG_CHECK(i >= 0, "unknown lead name '{}' (expected one of {})", name,
            fmt::join(data::kLeadOrder.begin(), data::kLeadOrder.end(), ", "));
  return i;
}

void check_model_input(const std::string& path, int sampling_rate, const std::vector<std::string>& leads) {
  ECG_CHECK(sampling_rate == kInputRateHz,
            "{}: sampling_rate is {} Hz; ST-MEM takes {} Hz input (preprocess with --target-rate {})", path,
            sampling_rate, kInputRateHz, kInputRateHz);
  ECG_CHECK(leads.size() == data::kLeadOrder.size(), "{}: attribute 'leads' has {} leads, expected {}", path,
            leads.size(), data::kLeadOrder.size());
  for (size_t i = 0; i < leads.size(); ++i) {
    ECG_CHECK(data::lead_index(leads[i]) == static_cast<int>(i),
              "{}: lead {} is '{}', expected '{}' (standard order I..V6)", path, i, leads[i], data::kLeadOrder[i]);
  }
}

std::vector<std::string> model_size_names() {
  std::vector<std::string> names;
  for (const ModelSize& s : kModelSizes) names.emplace_back(s.name);
  return names;
}

StMemConfig StMemConfig::preset(const std::string& size) {
  for (const ModelSize& s : kModelSizes) {
    if (size != s.name) continue;
    StMemConfig c;
    c.size = size;
    c.width = s.width, c.depth = s.depth, c.heads = s.heads, c.mlp_dim = s.mlp_dim;
    return c;
  }
  ECG_FAIL("unknown model size '{}' (expected one of {})", size, fmt::join(model_size_names(), ", "));
}

std::vector<int64_t> StMemConfig::lead_indices() const {
  std::vector<int64_t> out;
  out.reserve(leads.size());
  for (const auto& name : leads) out.push_back(standard_lead_index(name));
  return out;
}

void StMemConfig::validate() const {
  ECG_CHECK(width > 0 && depth > 0 && heads > 0 && mlp_dim > 0 && dim_head > 0,
            "model config: width, depth, heads, mlp_dim and dim_head must be positive");
  ECG_CHECK(patch_size > 0 && num_patches > 0,
            "model config: patch_size and num_patches must be positive");
  ECG_CHECK(num_classes > 0, "model config: num_classes must be positive (got {})", num_classes);
  ECG_CHECK(drop_path >= 0.0 && drop_path < 1.0,
            "model config: drop_path must be in [0, 1) (got {})", drop_path);
  ECG_CHECK(dropout >= 0.0 && dropout < 1.0, "model config: dropout must be in [0, 1) (got {})",
            dropout);
  ECG_CHECK(!leads.empty(), "model config: leads must name at least one lead");
  std::set<int64_t> seen;
  for (const auto& name : leads) {
    ECG_CHECK(seen.insert(standard_lead_index(name)).second, "model config: lead '{}' given twice",
              name);
  }
}

void to_json(nlohmann::json& j, const StMemConfig& c) {
  j = nlohmann::json{{"size", c.size},
                     {"width", c.width},
                     {"depth", c.depth},
                     {"heads", c.heads},
                     {"mlp_dim", c.mlp_dim},
                     {"dim_head", c.dim_head},
                     {"patch_size", c.patch_size},
                     {"num_patches", c.num_patches},
                     {"num_classes", c.num_classes},
                     {"drop_path", c.drop_path},
                     {"dropout", c.dropout},
                     {"leads", c.leads}};
}

void from_json(const nlohmann::json& j, StMemConfig& c) {
  ECG_CHECK(j.is_object(), "model config: expected a JSON object, got {}", j.type_name());
  StMemConfig out;
  if (j.contains("size")) {
    ECG_CHECK(j["size"].is_string(), "model config: field 'size' must be a string");
    std::string size = j["size"].get<std::string>();
    if (size != "custom") out = StMemConfig::preset(size);
    out.size = size;
  }
  static const std::set<std::string> known = {
      "size",       "width",       "depth",       "heads",     "mlp_dim", "dim_head",
      "patch_size", "num_patches", "num_classes", "drop_path", "dropout", "leads"};
  for (const auto& item : j.items()) {
    ECG_CHECK(known.count(item.key()) == 1, "model config: unknown field '{}'", item.key());
  }
  auto get_int = [&](const char* key, int64_t& field) {
    if (!j.contains(key)) return;
    ECG_CHECK(j[key].is_number_integer(), "model config: field '{}' must be an integer", key);
    field = j[key].get<int64_t>();
  };
  auto get_double = [&](const char* key, double& field) {
    if (!j.contains(key)) return;
    ECG_CHECK(j[key].is_number(), "model config: field '{}' must be a number", key);
    field = j[key].get<double>();
  };
  get_int("width", out.width);
  get_int("depth", out.depth);
  get_int("heads", out.heads);
  get_int("mlp_dim", out.mlp_dim);
  get_int("dim_head", out.dim_head);
  get_int("patch_size", out.patch_size);
  get_int("num_patches", out.num_patches);
  get_int("num_classes", out.num_classes);
  get_double("drop_path", out.drop_path);
  get_double("dropout", out.dropout);
  if (j.contains("leads")) {
    ECG_CHECK(j["leads"].is_array(), "model config: field 'leads' must be an array of lead names");
    out.leads.clear();
    for (const auto& v : j["leads"]) {
      ECG_CHECK(v.is_string(), "model config: field 'leads' must hold strings");
      out.leads.push_back(v.get<std::string>());
    }
  }
  out.validate();
  c = std::move(out);
}

}  // namespace ecg::model
