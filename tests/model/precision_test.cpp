// Mixed precision in the model (model/precision.h): bf16 matrix products with fp32 master
// weights give logits close to fp32's for the same weights, gradients reach the fp32 weights in
// fp32, fp32 stays the plain model, and a CPU without bf16 instructions is told so.
#include "model/precision.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "common/error.h"
#include "model/st_mem.h"
#include "model/st_mem_pretrain.h"

namespace ecg::model {
namespace {

StMem tiny_model() {
  StMemConfig c = StMemConfig::preset("tiny");
  c.num_classes = 5;
  torch::manual_seed(3);
  return StMem(c);
}

torch::Tensor input(int64_t batch = 4) {
  torch::manual_seed(4);
  return torch::randn({batch, 12, 2250});
}

TEST(Precision, Bf16LogitsStayCloseToFp32ForTheSameWeights) {
  StMem model = tiny_model();
  model->eval();
  torch::NoGradGuard no_grad;
  const auto x = input();
  const auto fp32 = model->forward(x);
  model->set_precision(Precision::bf16);
  const auto bf16 = model->forward(x);
  EXPECT_EQ(bf16.scalar_type(), torch::kFloat) << "logits (and the loss) stay fp32";
  // bf16 keeps 8 bits of mantissa: relative rounding ~4e-3 per product, over 4 blocks.
  const double max_diff = (bf16 - fp32).abs().max().item<double>();
  const double scale = fp32.abs().max().item<double>();
  EXPECT_LT(max_diff, 0.05 * std::max(1.0, scale)) << "max |bf16 - fp32| = " << max_diff;
  EXPECT_GT(max_diff, 0.0) << "bf16 must actually compute in bf16";
  for (const auto& p : model->parameters()) EXPECT_EQ(p.scalar_type(), torch::kFloat);
}

TEST(Precision, GradientsReachTheFp32WeightsInFp32) {
  StMem model = tiny_model();
  model->set_precision(Precision::bf16);
  model->train();
  auto loss = model->forward(input(2)).pow(2).mean();
  loss.backward();
  for (const auto& item : model->named_parameters()) {
    ASSERT_TRUE(item.value().grad().defined()) << item.key();
    EXPECT_EQ(item.value().grad().scalar_type(), torch::kFloat) << item.key();
    EXPECT_TRUE(torch::isfinite(item.value().grad()).all().item<bool>()) << item.key();
  }
}

TEST(Precision, Fp32IsThePlainModel) {
  StMem a = tiny_model();
  StMem b = tiny_model();
  b->set_precision(Precision::bf16);
  b->set_precision(Precision::fp32);
  a->eval();
  b->eval();
  torch::NoGradGuard no_grad;
  const auto x = input();
  EXPECT_TRUE(torch::equal(a->forward(x), b->forward(x)));
}

TEST(Precision, PretrainingLossInBf16IsCloseToFp32) {
  PretrainConfig config = PretrainConfig::preset("tiny");
  torch::manual_seed(5);
  StMemPretrain model(config);
  model->eval();
  torch::NoGradGuard no_grad;
  const auto x = input(2);
  auto masks = random_lead_masks({11, 12}, 12, 30, 0.75);
  const double fp32 = model->forward(x, masks).loss.item<double>();
  model->set_precision(Precision::bf16);
  const auto out = model->forward(x, masks);
  EXPECT_EQ(out.loss.scalar_type(), torch::kFloat);
  EXPECT_NEAR(out.loss.item<double>(), fp32, 0.02 * fp32);
}

// The attention's bf16 softmax (model/st_mem.cpp) rests on this: LibTorch's CPU softmax of bf16
// scores computes in fp32 and rounds once, so it equals the fp32 softmax cast to bf16.
TEST(Precision, Bf16SoftmaxEqualsTheFp32SoftmaxRoundedOnce) {
  torch::manual_seed(5);
  const auto scores = (torch::randn({2, 3, 384, 384}) * 3).to(torch::kBFloat16);
  const auto direct = scores.softmax(-1);
  EXPECT_EQ(direct.scalar_type(), torch::kBFloat16);
  EXPECT_TRUE(torch::equal(direct, scores.to(torch::kFloat).softmax(-1).to(torch::kBFloat16)));
}

TEST(Precision, ACpuWithoutBf16InstructionsIsToldSo) {
  EXPECT_NO_THROW(check_bf16_cpu("flags\t\t: fpu sse avx512f avx512_bf16 amx_tile"));
  EXPECT_NO_THROW(check_bf16_cpu("flags : fpu amx_bf16"));
  try {
    check_bf16_cpu("flags : fpu sse2 avx2 avx512f");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(e.message().find("--precision bf16"), std::string::npos) << e.message();
    EXPECT_NE(e.message().find("--precision fp32"), std::string::npos) << e.message();
  }
  EXPECT_EQ(nlohmann::json(Precision::bf16), "bf16");
  EXPECT_EQ(nlohmann::json("fp32").get<Precision>(), Precision::fp32);
}

}  // namespace
}  // namespace ecg::model
