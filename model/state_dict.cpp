#include "model/state_dict.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>

#include <regex>
#include <set>

#include "common/error.h"
#include "common/log.h"

namespace ecg::model {
namespace {

using Kind = PickleValue::Kind;

bool is_tensor_dict(const PickleValue& v) {
  if (!v.is(Kind::dict) || v.entries->empty()) return false;
  for (const auto& [key, value] : *v.entries) {
    if (!key.is(Kind::string) || !value.is(Kind::tensor)) return false;
  }
  return true;
}

std::string shape_str(const at::Tensor& t) {
  return fmt::format("[{}]", fmt::join(t.sizes(), ", "));
}

// At most `limit` names, then "... (N more)": the error stays one readable line.
std::string name_list(const std::vector<std::string>& names, size_t limit = 8) {
  std::vector<std::string> shown(names.begin(),
                                 names.begin() + static_cast<long>(std::min(limit, names.size())));
  std::string out = fmt::format("{}", fmt::join(shown, ", "));
  if (names.size() > limit) out += fmt::format(", ... ({} more)", names.size() - limit);
  return out;
}

}  // namespace

StateDict find_state_dict(const PickleValue& root, const std::string& origin) {
  const PickleValue* sd = nullptr;
  if (is_tensor_dict(root)) {
    sd = &root;
  } else {
    for (const char* key : {"model", "state_dict"}) {
      const PickleValue* v = root.find(key);
      if (v != nullptr && is_tensor_dict(*v)) {
        sd = v;
        break;
      }
    }
  }
  ECG_CHECK(sd != nullptr,
            "{}: no state dict found (expected a dict of tensors at the top level or under "
            "'model' or 'state_dict'; the file holds a {})",
            origin, root.describe());
  StateDict out;
  bool all_module = true;
  for (const auto& [key, value] : *sd->entries) {
    all_module = all_module && key.s.rfind("module.", 0) == 0;
    out[key.s] = value.tensor;
  }
  if (all_module) {
    StateDict stripped;
    for (auto& [key, value] : out) stripped[key.substr(7)] = value;
    out = std::move(stripped);
  }
  return out;
}

StateDict read_torch_save_state_dict(const std::string& path) {
  return find_state_dict(read_torch_save(path), path);
}

NamedTensors model_state_dict(const StMem& model) {
  NamedTensors out;
  for (const auto& item : model->named_parameters()) out.emplace_back(item.key(), item.value());
  for (const auto& item : model->named_buffers()) out.emplace_back(item.key(), item.value());
  return out;
}

void load_state_dict(StMem& model, const StateDict& state, const LoadOptions& options) {
  load_module_state(*model,
                    state, fmt::format("the model ({}, depth {})", model->config().size, model->config().depth),
                    options);
}

void load_module_state(torch::nn::Module& module, const StateDict& state, const std::string& what,
                       const LoadOptions& options) {
  auto is_head = [](const std::string& key) { return key.rfind("head.", 0) == 0; };
  std::vector<std::pair<std::string, at::Tensor>> targets;
  for (const auto& item : module.named_parameters()) targets.emplace_back(item.key(), item.value());
  for (const auto& item : module.named_buffers()) targets.emplace_back(item.key(), item.value());

  std::vector<std::string> missing, mismatched, skipped_head;
  std::set<std::string> known;
  for (const auto& [key, target] : targets) {
    known.insert(key);
    auto it = state.find(key);
    if (it == state.end()) {
      if (!(options.allow_missing_head && is_head(key))) missing.push_back(key);
      continue;
    }
    if (it->second.sizes() != target.sizes()) {
      if (options.allow_missing_head && is_head(key)) {
        skipped_head.push_back(fmt::format("{} (checkpoint {} vs model {})", key,
                                           shape_str(it->second), shape_str(target)));
      } else {
        mismatched.push_back(fmt::format("{} (checkpoint {} vs model {})", key,
                                         shape_str(it->second), shape_str(target)));
      }
    }
  }
  std::vector<std::string> unexpected;
  for (const auto& [key, value] : state) {
    if (known.count(key) == 0) unexpected.push_back(key);
  }
  if (!missing.empty() || !unexpected.empty() || !mismatched.empty()) {
    std::vector<std::string> parts;
    if (!missing.empty())
      parts.push_back(fmt::format("{} missing keys: {}", missing.size(), name_list(missing)));
    if (!unexpected.empty())
      parts.push_back(
          fmt::format("{} unexpected keys: {}", unexpected.size(), name_list(unexpected)));
    if (!mismatched.empty())
      parts.push_back(
          fmt::format("{} shape mismatches: {}", mismatched.size(), name_list(mismatched, 4)));
    ECG_FAIL("state dict does not fit {}: {}", what, fmt::join(parts, "; "));
  }
  if (!skipped_head.empty()) {
    log::warn("checkpoint head not loaded (another number of classes): {}; the head starts fresh",
              name_list(skipped_head));
  }

  torch::NoGradGuard no_grad;
  for (auto& [key, target] : targets) {
    auto it = state.find(key);
    if (it == state.end() || it->second.sizes() != target.sizes()) continue;  // allowed head
    target.copy_(it->second);
  }
}

StMemConfig infer_config(const StateDict& state, const std::string& origin) {
  auto get = [&](const std::string& key, int64_t dims) -> const at::Tensor& {
    auto it = state.find(key);
    ECG_CHECK(it != state.end(), "{}: not an ST-MEM state dict (no '{}')", origin, key);
    ECG_CHECK(it->second.dim() == dims, "{}: '{}' has {} dimensions, {} expected", origin, key,
              it->second.dim(), dims);
    return it->second;
  };
  StMemConfig c;
  const at::Tensor& pos = get("pos_embedding", 3);
  c.width = pos.size(2);
  c.num_patches = pos.size(1) - 2;
  c.patch_size = get("to_patch_embedding.2.weight", 2).size(1);
  c.depth = 0;
  while (state.count(fmt::format("block{}.attn.fn.to_qkv.weight", c.depth)) == 1) ++c.depth;
  ECG_CHECK(c.depth > 0, "{}: not an ST-MEM state dict (no 'block0.attn.fn.to_qkv.weight')",
            origin);
  const int64_t qkv_out = get("block0.attn.fn.to_qkv.weight", 2).size(0);
  ECG_CHECK(qkv_out % (3 * c.dim_head) == 0,
            "{}: block0.attn.fn.to_qkv.weight has {} rows, not a multiple of 3 x {}", origin,
            qkv_out, c.dim_head);
  c.heads = qkv_out / (3 * c.dim_head);
  c.mlp_dim = get("block0.ff.fn.net.0.weight", 2).size(0);
  auto head = state.find("head.weight");
  c.num_classes = head != state.end() && head->second.dim() == 2 ? head->second.size(0) : 1;
  c.size = "custom";
  for (const ModelSize& s : kModelSizes) {
    if (s.width == c.width && s.depth == c.depth && s.heads == c.heads && s.mlp_dim == c.mlp_dim) c.size = s.name;
  }
  c.validate();
  return c;
}

}  // namespace ecg::model
