// The ST-MEM ViT's structure: state-dict names as published, sizes, lead selection by name,
// config JSON round trip, head reset.
#include "model/st_mem.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <set>

#include "common/error.h"

namespace ecg::model {
namespace {

StMemConfig tiny(int64_t classes = 5) {
  StMemConfig c = StMemConfig::preset("tiny");
  c.num_classes = classes;
  return c;
}

TEST(StMem, ParameterNamesMatchTheReference) {
  StMem m(tiny());
  std::set<std::string> names;
  for (const auto& item : m->named_parameters()) names.insert(item.key());
  std::set<std::string> expected = {"to_patch_embedding.1.weight",
                                    "to_patch_embedding.1.bias",
                                    "to_patch_embedding.2.weight",
                                    "to_patch_embedding.2.bias",
                                    "to_patch_embedding.3.weight",
                                    "to_patch_embedding.3.bias",
                                    "pos_embedding",
                                    "sep_embedding",
                                    "norm.weight",
                                    "norm.bias",
                                    "head.weight",
                                    "head.bias"};
  for (int i = 0; i < 12; ++i) expected.insert("lead_embeddings." + std::to_string(i));
  for (int b = 0; b < 4; ++b) {
    const std::string p = "block" + std::to_string(b) + ".";
    for (const char* s : {"attn.norm.", "attn.fn.to_qkv.", "attn.fn.to_out.0.", "ff.norm.",
                          "ff.fn.net.0.", "ff.fn.net.3."}) {
      expected.insert(p + s + "weight");
      expected.insert(p + s + "bias");
    }
  }
  EXPECT_EQ(names, expected);
  EXPECT_EQ(m->named_buffers().size(), 0u);
  auto params = m->named_parameters();
  EXPECT_EQ(params["pos_embedding"].sizes(), (std::vector<int64_t>{1, 32, 192}));
  EXPECT_EQ(params["block0.attn.fn.to_qkv.weight"].sizes(), (std::vector<int64_t>{576, 192}));
  EXPECT_EQ(params["block0.ff.fn.net.0.weight"].sizes(), (std::vector<int64_t>{768, 192}));
  EXPECT_EQ(params["head.weight"].sizes(), (std::vector<int64_t>{5, 192}));
}

TEST(StMem, BaseHas85Point2MillionEncoderParameters) {
  StMem m(StMemConfig::preset("base"));
  const int64_t n = count_parameters(m->encoder_parameters());
  EXPECT_EQ(n, 85150614);  // 85.2 M, as published for ST-MEM ViT-B
  EXPECT_NEAR(static_cast<double>(n) / 1e6, 85.2, 0.05);
  EXPECT_EQ(count_parameters(m->head_parameters()), 768 + 1);
}

TEST(StMem, PresetsHaveThePublishedSizes) {
  auto s = StMemConfig::preset("small");
  EXPECT_EQ(std::vector<int64_t>({s.width, s.depth, s.heads, s.mlp_dim}),
            std::vector<int64_t>({384, 12, 6, 1536}));
  auto t = StMemConfig::preset("tiny");
  EXPECT_EQ(std::vector<int64_t>({t.width, t.depth, t.heads, t.mlp_dim}),
            std::vector<int64_t>({192, 4, 3, 768}));
  EXPECT_THROW(StMemConfig::preset("huge"), ecg::Error);
}

TEST(StMem, InitialisationFollowsTheReference) {
  torch::manual_seed(1);
  StMem m(tiny());
  auto p = m->named_parameters();
  // Sin-cos positions with zero SEP slots; row 1 (patch 0) is sin(0)=0 | cos(0)=1.
  EXPECT_TRUE(p["pos_embedding"][0][0].eq(0).all().item<bool>());
  EXPECT_TRUE(p["pos_embedding"][0][31].eq(0).all().item<bool>());
  EXPECT_TRUE(p["pos_embedding"][0][1].slice(0, 96).eq(1).all().item<bool>());
  auto w = p["block0.attn.fn.to_qkv.weight"];
  EXPECT_NEAR(w.std().item<double>(), 0.02 * 0.88, 0.002);  // trunc normal at 2 std
  EXPECT_LE(w.abs().max().item<double>(), 0.04 + 1e-6);
  EXPECT_TRUE(p["block0.attn.fn.to_qkv.bias"].eq(0).all().item<bool>());
  EXPECT_TRUE(p["norm.weight"].eq(1).all().item<bool>());
  EXPECT_NEAR(p["lead_embeddings.3"].std().item<double>(), 0.02, 0.006);
}

TEST(StMem, ForwardShapesAndFeatures) {
  torch::manual_seed(0);
  StMem m(tiny(7));
  m->eval();
  auto x = torch::randn({3, 12, 2250});
  torch::NoGradGuard no_grad;
  auto features = m->forward_features(x);
  EXPECT_EQ(features.sizes(), (std::vector<int64_t>{3, 192}));
  auto logits = m->forward(x);
  EXPECT_EQ(logits.sizes(), (std::vector<int64_t>{3, 7}));
  EXPECT_TRUE(torch::allclose(logits, m->head()->forward(features)));
  // Shorter inputs (fewer patches) are accepted as in the reference.
  EXPECT_EQ(m->forward(x.slice(2, 0, 750)).sizes(), (std::vector<int64_t>{3, 7}));
  EXPECT_THROW(m->forward(x.slice(2, 0, 100)), ecg::Error);
  EXPECT_THROW(m->forward(torch::randn({3, 11, 2250})), ecg::Error);
}

TEST(StMem, LeadEmbeddingIsChosenByNameNotPosition) {
  torch::manual_seed(0);
  StMemConfig all = tiny(3);
  StMem full(all);
  full->eval();
  StMemConfig sub = all;
  sub.leads = {"V1", "I", "aVR"};
  StMem part(sub);
  part->eval();
  // Same weights.
  {
    torch::NoGradGuard no_grad;
    auto src = full->named_parameters();
    for (auto& item : part->named_parameters()) item.value().copy_(src[item.key()]);
  }
  auto x = torch::randn({2, 3, 2250});
  torch::NoGradGuard no_grad;
  auto a = part->forward(x);
  // Same result as the manual computation with lead embeddings 6, 0, 3: swapping which lead
  // embedding sits at which position must change the output.
  StMemConfig wrong = sub;
  wrong.leads = {"I", "II", "III"};
  StMem other(wrong);
  other->eval();
  {
    auto src = full->named_parameters();
    for (auto& item : other->named_parameters()) item.value().copy_(src[item.key()]);
    auto p = other->named_parameters();
    p["lead_embeddings.0"].copy_(src["lead_embeddings.6"]);
    p["lead_embeddings.1"].copy_(src["lead_embeddings.0"]);
    p["lead_embeddings.2"].copy_(src["lead_embeddings.3"]);
  }
  EXPECT_TRUE(torch::allclose(a, other->forward(x), 1e-5, 1e-6));
  // With the first three embeddings (position-based selection) the result differs.
  StMem positional(wrong);
  positional->eval();
  {
    auto src = full->named_parameters();
    for (auto& item : positional->named_parameters()) item.value().copy_(src[item.key()]);
  }
  EXPECT_FALSE(torch::allclose(a, positional->forward(x), 1e-4, 1e-5));
  StMemConfig bad = all;
  bad.leads = {"I", "V7"};
  try {
    StMem unknown(bad);
    FAIL() << "unknown lead accepted";
  } catch (const ecg::Error& e) {
    EXPECT_NE(e.message().find("V7"), std::string::npos) << e.message();
  }
  bad.leads = {"I", "i"};
  EXPECT_THROW(StMem dup(bad), ecg::Error);
  EXPECT_EQ(standard_lead_index("AVL"), 4);  // PTB-XL's header spelling
}

TEST(StMem, ConfigJsonRoundTrip) {
  StMemConfig c = StMemConfig::preset("small");
  c.num_classes = 23;
  c.drop_path = 0.1;
  c.dropout = 0.05;
  c.leads = {"II", "V5"};
  nlohmann::json j = c;
  StMemConfig back = j.get<StMemConfig>();
  EXPECT_EQ(nlohmann::json(back), j);
  EXPECT_EQ(back.leads, c.leads);
  EXPECT_EQ(back.width, 384);
  // Partial JSON starts from the named preset; unknown fields are refused.
  auto partial = nlohmann::json{{"size", "base"}, {"num_classes", 5}}.get<StMemConfig>();
  EXPECT_EQ(partial.width, 768);
  EXPECT_EQ(partial.num_classes, 5);
  EXPECT_THROW((nlohmann::json{{"size", "base"}, {"widht", 5}}.get<StMemConfig>()), ecg::Error);
  EXPECT_THROW((nlohmann::json{{"leads", {"I", "X"}}}.get<StMemConfig>()), ecg::Error);
}

TEST(StMem, ResetHeadAndParameterGroups) {
  StMem m(tiny(5));
  m->reset_head(9);
  EXPECT_EQ(m->config().num_classes, 9);
  EXPECT_EQ(m->head()->weight.sizes(), (std::vector<int64_t>{9, 192}));
  EXPECT_EQ(m->named_parameters()["head.weight"].size(0), 9);
  auto head = m->head_parameters();
  EXPECT_EQ(head.size(), 2u);
  EXPECT_TRUE(head.contains("head.weight") && head.contains("head.bias"));
  auto enc = m->encoder_parameters();
  EXPECT_EQ(enc.size() + head.size(), m->named_parameters().size());
  for (const auto& item : enc) EXPECT_NE(item.key().rfind("head.", 0), 0u);
  m->eval();
  torch::NoGradGuard no_grad;
  EXPECT_EQ(m->forward(torch::randn({1, 12, 2250})).sizes(), (std::vector<int64_t>{1, 9}));
}

}  // namespace
}  // namespace ecg::model
