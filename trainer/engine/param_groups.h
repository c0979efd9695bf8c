// Which parameters each stage trains and with what learning-rate scale and weight decay.
//  - stage 1 (linear probing): only `head.*`; the optimiser must hold nothing else, because
//    AdamW decays every parameter it holds even when its gradient is zero.
//  - stage 2 (fine-tuning): everything. No weight decay on biases, norms and the position / SEP /
//    lead embeddings (as timm/ST-MEM fine-tuning does); optional layer-wise lr decay:
//    embeddings are layer 0, block i is layer i+1, final norm and head are layer depth+1, and a
//    layer's lr is scaled by decay^(depth+1-layer).
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

namespace ecg::engine {

struct ParamGroupSpec {
  std::vector<std::string> names;
  std::vector<torch::Tensor> params;
  double lr_scale = 1.0;
  double weight_decay = 0.0;
};

// Layer id of an ST-MEM parameter name for layer-wise lr decay.
int layer_id(const std::string& name, int depth);
bool decays_weight(const std::string& name, const torch::Tensor& param);

// Groups of the parameters that require grad, in registration order within each group.
std::vector<ParamGroupSpec> make_param_groups(
    const std::vector<std::pair<std::string, torch::Tensor>>& named_trainable, int depth,
    double weight_decay, double layer_decay);

// AdamW over the groups; each group's lr is set per step by apply_lr(). Group order is
// deterministic (needed to resume the optimiser state).
std::unique_ptr<torch::optim::AdamW> make_adamw(const std::vector<ParamGroupSpec>& groups, double lr,
                                                double beta1 = 0.9, double beta2 = 0.999);

// Sets each group's lr to base_lr * its lr_scale.
void apply_lr(torch::optim::AdamW& optimizer, const std::vector<ParamGroupSpec>& groups,
              double base_lr);

}  // namespace ecg::engine
