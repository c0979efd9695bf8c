// The engine's AdamW parameter groups (trainer/engine/param_groups.h): no weight decay on biases, norms
// and embeddings, layer ids for layer-wise lr decay, per-group learning rates.
#include <gtest/gtest.h>

#include "trainer/engine/param_groups.h"

namespace ecg::engine {
namespace {

TEST(ParamGroups, LayerIdsOfStMemNames) {
  EXPECT_EQ(layer_id("pos_embedding", 4), 0);
  EXPECT_EQ(layer_id("to_patch_embedding.1.weight", 4), 0);
  EXPECT_EQ(layer_id("block0.attn.fn.to_qkv.weight", 4), 1);
  EXPECT_EQ(layer_id("block3.ff.fn.net.0.weight", 4), 4);
  EXPECT_EQ(layer_id("norm.weight", 4), 5);
  EXPECT_EQ(layer_id("head.weight", 4), 5);
}

TEST(ParamGroups, NoDecayOnBiasesNormsAndEmbeddings) {
  auto matrix = torch::zeros({4, 4});
  auto vector = torch::zeros({4});
  EXPECT_TRUE(decays_weight("block0.attn.fn.to_qkv.weight", matrix));
  EXPECT_FALSE(decays_weight("block0.attn.fn.to_qkv.bias", vector));
  EXPECT_FALSE(decays_weight("pos_embedding", torch::zeros({1, 4, 4})));
  EXPECT_FALSE(decays_weight("encoder.pos_embedding", torch::zeros({1, 4, 4})));
  EXPECT_FALSE(decays_weight("lead_embeddings.3", matrix));
  EXPECT_FALSE(decays_weight("mask_embedding", matrix));
}

TEST(ParamGroups, GroupsCarryDecayAndLayerScale) {
  auto w0 = torch::zeros({2, 2}, torch::requires_grad());
  auto b0 = torch::zeros({2}, torch::requires_grad());
  auto head = torch::zeros({3, 2}, torch::requires_grad());
  auto frozen = torch::zeros({2, 2});
  std::vector<std::pair<std::string, torch::Tensor>> named = {
      {"block0.attn.fn.to_qkv.weight", w0}, {"block0.attn.fn.to_qkv.bias", b0},
      {"head.weight", head}, {"block1.ff.fn.net.0.weight", frozen}};
  auto groups = make_param_groups(named, 2, 0.05, 0.5);
  size_t params = 0;
  for (const auto& g : groups) {
    params += g.params.size();
    for (const auto& name : g.names) {
      if (name == "head.weight") {
        EXPECT_DOUBLE_EQ(g.lr_scale, 1.0);
      }
      if (name.rfind("block0.", 0) == 0) {
        EXPECT_DOUBLE_EQ(g.lr_scale, 0.25);  // 0.5^(2+1-1)
      }
      EXPECT_DOUBLE_EQ(g.weight_decay, name.find(".bias") != std::string::npos ? 0.0 : 0.05);
    }
  }
  EXPECT_EQ(params, 3u) << "frozen parameters are not in the optimiser";
  auto adamw = make_adamw(groups, 1e-3);
  apply_lr(*adamw, groups, 2e-3);
  for (size_t i = 0; i < groups.size(); ++i) {
    EXPECT_DOUBLE_EQ(static_cast<torch::optim::AdamWOptions&>(adamw->param_groups()[i].options()).lr(),
                     2e-3 * groups[i].lr_scale);
  }
}

}  // namespace
}  // namespace ecg::engine
