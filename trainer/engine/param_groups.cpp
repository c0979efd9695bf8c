#include "trainer/engine/param_groups.h"

#include <map>
#include <regex>

#include "common/error.h"
#include "trainer/engine/schedule.h"

namespace ecg::engine {

int layer_id(const std::string& name, int depth) {
  static const std::regex block(R"(^block(\d+)\.)");
  std::smatch m;
  if (std::regex_search(name, m, block)) return std::stoi(m[1]) + 1;
  if (name.rfind("norm.", 0) == 0 || name.rfind("head.", 0) == 0) return depth + 1;
  return 0;  // patch embedding, position / SEP / lead embeddings
}

bool decays_weight(const std::string& full_name, const torch::Tensor& param) {
  if (param.dim() <= 1) return false;  // biases, LayerNorm weights, SEP / lead embeddings
  // Pretraining holds the ViT as "encoder.*" and adds the decoder's mask token (MAE / ST-MEM
  // exclude position embeddings and mask tokens from weight decay).
  const std::string name = full_name.rfind("encoder.", 0) == 0 ? full_name.substr(8) : full_name;
  if (name == "mask_embedding") return false;
  if (name == "pos_embedding" || name == "sep_embedding") return false;
  if (name.rfind("lead_embeddings", 0) == 0) return false;
  return true;
}

std::vector<ParamGroupSpec> make_param_groups(
    const std::vector<std::pair<std::string, torch::Tensor>>& named_trainable, int depth,
    double weight_decay, double layer_decay) {
  // Key (layer, decays) -> group; std::map keeps a deterministic order.
  std::map<std::pair<int, bool>, ParamGroupSpec> by_key;
  for (const auto& [name, param] : named_trainable) {
    if (!param.requires_grad()) continue;
    int layer = layer_decay < 1.0 ? layer_id(name, depth) : 0;
    bool decay = decays_weight(name, param);
    auto& g = by_key[{layer, decay}];
    g.names.push_back(name);
    g.params.push_back(param);
    g.weight_decay = decay ? weight_decay : 0.0;
    g.lr_scale = layer_lr_scale(layer, depth, layer_decay);
  }
  std::vector<ParamGroupSpec> out;
  for (auto& [key, g] : by_key) out.push_back(std::move(g));
  ECG_CHECK(!out.empty(), "no trainable parameters");
  return out;
}

std::unique_ptr<torch::optim::AdamW> make_adamw(const std::vector<ParamGroupSpec>& groups, double lr,
                                                double beta1, double beta2) {
  std::vector<torch::optim::OptimizerParamGroup> param_groups;
  for (const auto& g : groups) {
    auto options = std::make_unique<torch::optim::AdamWOptions>(lr * g.lr_scale);
    options->betas({beta1, beta2}).weight_decay(g.weight_decay);
    param_groups.emplace_back(g.params, std::move(options));
  }
  return std::make_unique<torch::optim::AdamW>(std::move(param_groups),
                                               torch::optim::AdamWOptions(lr).betas({beta1, beta2}));
}

void apply_lr(torch::optim::AdamW& optimizer, const std::vector<ParamGroupSpec>& groups,
              double base_lr) {
  auto& pg = optimizer.param_groups();
  ECG_CHECK(pg.size() == groups.size(), "optimizer has {} groups, expected {}", pg.size(), groups.size());
  for (size_t i = 0; i < pg.size(); ++i) {
    static_cast<torch::optim::AdamWOptions&>(pg[i].options()).lr(base_lr * groups[i].lr_scale);
  }
}

}  // namespace ecg::engine
