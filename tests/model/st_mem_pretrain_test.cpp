// ST-MEM masked pretraining model: the spatio-temporal masks, the loss on masked patches only,
// the published parameter names, and that optimisation lowers the reconstruction loss.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <set>

#include "model/st_mem_pretrain.h"
#include "model/torch_save_writer.h"
#include "tests/test_util.h"

using ecg::model::kept_patches;
using ecg::model::PretrainConfig;
using ecg::model::random_lead_masks;
using ecg::model::StMemPretrain;

namespace {

PretrainConfig small_config() {
  PretrainConfig c = PretrainConfig::preset("tiny");
  c.encoder.depth = 2;  // keep the tests fast; shapes are what matter
  return c;
}

std::vector<uint64_t> seeds(int n, uint64_t first = 11) {
  std::vector<uint64_t> out;
  for (int i = 0; i < n; ++i) out.push_back(first + static_cast<uint64_t>(i));
  return out;
}

}  // namespace

TEST(StMemPretrain, MaskKeepsExactlyAQuarterOfEachLeadAndDiffersBetweenLeads) {
  const int64_t n = 16;  // 1200 samples: 25 % is a whole number of patches
  ASSERT_EQ(kept_patches(n, 0.75), 4);
  EXPECT_EQ(kept_patches(30, 0.75), 7);  // int(30 * 0.25) as published
  auto m = random_lead_masks(seeds(3), 12, n, 0.75);
  ASSERT_EQ(m.mask.sizes(), (std::vector<int64_t>{3, 12, n}));
  ASSERT_EQ(m.keep_ids.sizes(), (std::vector<int64_t>{3, 12, 4}));
  // Every lead of every sample: exactly 12 of 16 patches removed.
  auto removed = m.mask.sum(2);
  EXPECT_TRUE(torch::all(removed == 12).item<bool>()) << removed;
  // The kept indices are exactly the zeros of the mask.
  for (int64_t b = 0; b < 3; ++b) {
    for (int64_t l = 0; l < 12; ++l) {
      for (int64_t k = 0; k < 4; ++k) {
        EXPECT_EQ(m.mask[b][l][m.keep_ids[b][l][k].item<int64_t>()].item<float>(), 0.f);
      }
    }
  }
  // Spatio-temporal: leads of one sample have different masks.
  std::set<std::vector<float>> patterns;
  for (int64_t l = 0; l < 12; ++l) {
    auto row = m.mask[0][l].contiguous();
    patterns.insert(std::vector<float>(row.data_ptr<float>(), row.data_ptr<float>() + n));
  }
  EXPECT_GE(patterns.size(), 10u);
  // restore_ids un-shuffles: gathering [kept..., removed...] markers gives the mask back.
  auto marks = torch::cat({torch::zeros({3, 12, 4}), torch::ones({3, 12, n - 4})}, 2);
  EXPECT_TRUE(torch::equal(marks.gather(2, m.restore_ids), m.mask));
}

TEST(StMemPretrain, MasksArePureFunctionsOfTheSampleSeed) {
  auto a = random_lead_masks({5, 6, 7}, 12, 30, 0.75);
  auto b = random_lead_masks({7}, 12, 30, 0.75);
  auto c = random_lead_masks({8}, 12, 30, 0.75);
  EXPECT_TRUE(torch::equal(a.mask[2], b.mask[0]));  // same seed, other batch position
  EXPECT_FALSE(torch::equal(b.mask, c.mask));
}

TEST(StMemPretrain, ParameterNamesFollowThePublishedModule) {
  torch::manual_seed(0);
  StMemPretrain model(small_config());
  std::set<std::string> names;
  for (const auto& p : model->named_parameters()) names.insert(p.key());
  for (const auto& b : model->named_buffers()) names.insert(b.key());
  for (const char* key : {"encoder.to_patch_embedding.1.weight", "encoder.pos_embedding", "encoder.sep_embedding",
                          "encoder.lead_embeddings.11", "encoder.block1.attn.fn.to_qkv.weight", "encoder.norm.weight",
                          "to_decoder_embedding.weight", "mask_embedding", "decoder_pos_embed",
                          "decoder_blocks.0.attn.fn.to_qkv.weight", "decoder_blocks.1.ff.fn.net.3.bias",
                          "decoder_norm.weight", "decoder_head.weight"}) {
    EXPECT_EQ(names.count(key), 1u) << key;
  }
  // Fixed sin-cos positions: not trained; the unused classification head is frozen too.
  for (const auto& p : model->named_parameters()) {
    const bool frozen = p.key() == "encoder.pos_embedding" || p.key().rfind("encoder.head.", 0) == 0;
    EXPECT_EQ(p.value().requires_grad(), !frozen) << p.key();
  }
  EXPECT_EQ(model->named_buffers()["decoder_pos_embed"].sizes(), (std::vector<int64_t>{1, 32, 128}));
  EXPECT_EQ(model->named_parameters()["decoder_head.weight"].sizes(), (std::vector<int64_t>{75, 128}));
}

TEST(StMemPretrain, LossCountsMaskedPatchesOnly) {
  torch::manual_seed(1);
  StMemPretrain model(small_config());
  auto x = torch::randn({2, 12, 1200});
  auto masks = random_lead_masks(seeds(2), 12, 16, 0.75);
  auto out = model->forward(x, masks);
  out.pred.retain_grad();
  out.loss.backward();
  // d loss / d pred vanishes on every kept patch and not on the masked ones.
  auto grad_per_patch = out.pred.grad().abs().sum(-1);  // [B, L, n]
  EXPECT_EQ((grad_per_patch * (1 - masks.mask)).sum().item<float>(), 0.f);
  EXPECT_TRUE(torch::all((grad_per_patch > 0) == (masks.mask > 0)).item<bool>());
  // The value: mean over masked patches of the per-patch MSE to normalised targets.
  auto per_patch = (out.pred - model->patch_targets(x)).pow(2).mean(-1);
  auto expected = (per_patch * masks.mask).sum() / masks.mask.sum();
  EXPECT_NEAR(out.loss.item<double>(), expected.item<double>(), 1e-6);
  // norm_pix_loss: each target patch has mean 0 and unit (unbiased) variance.
  auto t = model->patch_targets(x);
  EXPECT_LT(t.mean(-1).abs().max().item<double>(), 1e-5);
  EXPECT_NEAR(t.var(-1).mean().item<double>(), 1.0, 1e-3);
}

TEST(StMemPretrain, EncoderSeesOnlyTheKeptPatches) {
  // Changing a masked patch of the input must not change the prediction (the encoder never saw
  // it); changing a kept patch must.
  torch::manual_seed(2);
  PretrainConfig c = small_config();
  c.norm_pix_loss = false;
  StMemPretrain model(c);
  model->eval();
  torch::NoGradGuard no_grad;
  auto x = torch::randn({1, 12, 1200});
  auto masks = random_lead_masks({3}, 12, 16, 0.75);
  auto base = model->forward(x, masks).pred;
  int64_t masked = -1, kept = -1;
  for (int64_t i = 0; i < 16; ++i) {
    if (masks.mask[0][0][i].item<float>() > 0 && masked < 0) masked = i;
    if (masks.mask[0][0][i].item<float>() == 0 && kept < 0) kept = i;
  }
  auto y = x.clone();
  y[0][0].narrow(0, masked * 75, 75).add_(5.0);
  EXPECT_TRUE(torch::allclose(model->forward(y, masks).pred, base));
  auto z = x.clone();
  z[0][0].narrow(0, kept * 75, 75).add_(5.0);
  EXPECT_FALSE(torch::allclose(model->forward(z, masks).pred, base));
}

TEST(StMemPretrain, AFewOptimiserStepsLowerTheReconstructionLoss) {
  torch::manual_seed(3);
  StMemPretrain model(small_config());
  // Smooth periodic "ECGs": learnable structure.
  auto t = torch::arange(1200, torch::kFloat) / 250.0;
  auto x = torch::sin(2 * M_PI * 1.2 * t).view({1, 1, 1200}).expand({4, 12, 1200}).contiguous();
  x = x + 0.05 * torch::randn_like(x);
  std::vector<torch::Tensor> params;
  for (auto& p : model->parameters()) {
    if (p.requires_grad()) params.push_back(p);
  }
  torch::optim::AdamW opt(params, torch::optim::AdamWOptions(1e-3).betas({0.9, 0.95}));
  auto masks = random_lead_masks(seeds(4), 12, 16, 0.75);
  const double first = model->forward(x, masks).loss.item<double>();
  double last = first;
  for (int step = 0; step < 30; ++step) {
    opt.zero_grad();
    auto loss = model->forward(x, random_lead_masks(seeds(4, 100 + step * 4), 12, 16, 0.75)).loss;
    loss.backward();
    opt.step();
  }
  last = model->forward(x, masks).loss.item<double>();
  EXPECT_LT(last, 0.7 * first) << first << " -> " << last;
}

TEST(StMemPretrain, EqualsThePublishedPythonModuleGivenTheSameMasks) {
  // Same weights (our state dict, loaded strictly by the Python port of models/st_mem.py), same
  // masks, same input: same loss and reconstruction.
  ecg::testing::TempDir dir;
  torch::manual_seed(4);
  PretrainConfig c = PretrainConfig::preset("tiny");
  StMemPretrain model(c);
  model->eval();
  auto x = torch::randn({2, 12, 2250});
  auto masks = random_lead_masks(seeds(2), 12, 30, 0.75);
  ecg::model::PretrainOutput out;
  {
    torch::NoGradGuard no_grad;
    out = model->forward(x, masks);
  }
  ecg::model::NamedTensors state;
  for (const auto& p : model->named_parameters()) {
    if (p.key().rfind("encoder.head.", 0) != 0) state.emplace_back(p.key(), p.value());  // Identity there
  }
  for (const auto& b : model->named_buffers()) state.emplace_back(b.key(), b.value());
  ecg::model::write_torch_save(dir / "pretrain.pt", state);
  ecg::model::write_torch_save(dir / "io.pt", {{"x", x},
                                               {"keep", masks.keep_ids},
                                               {"restore", masks.restore_ids},
                                               {"mask", masks.mask},
                                               {"loss", out.loss},
                                               {"pred", out.pred.contiguous()}});
  auto r = ecg::testing::run_python(
      "import sys, torch\nsys.path.insert(0, '" + ecg::testing::test_source_dir() +
      "/model')\nfrom st_mem_reference import ST_MEM\ntorch.set_num_threads(1)\n"
      "m = ST_MEM('tiny', decoder_embed_dim=128, decoder_depth=2, decoder_num_heads=2).eval()\n"
      "m.load_state_dict(torch.load('" + dir / "pretrain.pt" + "'), strict=True)\n"
      "io = torch.load('" + dir / "io.pt" + "')\n"
      "with torch.no_grad():\n"
      "  loss, pred = m(io['x'], io['keep'], io['restore'], io['mask'])\n"
      "d = (pred - io['pred']).abs().max().item()\n"
      "assert d < 1e-4, d\n"
      "assert abs(loss.item() - io['loss'].item()) < 1e-5, (loss.item(), io['loss'].item())\n"
      "print('max |pred diff|', d)\n");
  ASSERT_EQ(r.exit_code, 0) << r.output;
}
