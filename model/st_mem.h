// The ST-MEM ViT (Na et al., ICLR 2024; github.com/bakqui/ST-MEM models/encoder/st_mem_vit.py)
// in LibTorch, with parameter names identical to the published state dict so that its
// checkpoints load unchanged:
//   to_patch_embedding.{1,2,3}  LayerNorm(75) -> Linear(75, D) -> LayerNorm(D) per 75-sample patch
//   pos_embedding [1, 32, D]    slot 0 / 31 for the SEP tokens, 1..30 for the patches
//   sep_embedding [D]           added at both ends of every lead
//   lead_embeddings.{0..11}     one per standard lead, chosen by lead NAME (not input position)
//   block{i}.attn / block{i}.ff pre-norm attention and MLP branches, each with its own drop-path
//   norm, head                  mean over the patch tokens of all leads -> LayerNorm -> Linear
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/parameterlist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <string>
#include <vector>

#include "model/precision.h"
#include "model/st_mem_config.h"

namespace ecg::model {

// Multi-head self-attention: one fused qkv projection, batched matmuls over heads. (LibTorch
// 1.13's MultiheadAttention is sequence-first and names its weights differently.)
class AttentionImpl : public torch::nn::Module {
 public:
  AttentionImpl(int64_t width, int64_t heads, int64_t dim_head, double dropout);
  torch::Tensor forward(const torch::Tensor& x);

  torch::nn::Linear to_qkv{nullptr};
  torch::nn::Sequential to_out{nullptr};  // Linear(inner, D), Dropout
  torch::ScalarType compute = torch::kFloat;  // dtype of the matrix products (model/precision.h)

 private:
  int64_t heads_, dim_head_;
  double scale_, dropout_;
  torch::nn::Linear out_linear_{nullptr};  // to_out's Linear
};
TORCH_MODULE(Attention);

class FeedForwardImpl : public torch::nn::Module {
 public:
  FeedForwardImpl(int64_t width, int64_t mlp_dim, double dropout);
  torch::Tensor forward(const torch::Tensor& x);

  torch::nn::Sequential net{nullptr};  // Linear, GELU, Dropout, Linear, Dropout
  torch::ScalarType compute = torch::kFloat;

 private:
  torch::nn::Linear fc1_{nullptr}, fc2_{nullptr};
  double dropout_;
};
TORCH_MODULE(FeedForward);

// PreNorm(norm, fn): fn(norm(x)), with the submodule names ST-MEM uses ("norm", "fn").
template <typename Fn>
class PreNormImpl : public torch::nn::Module {
 public:
  PreNormImpl(int64_t width, Fn inner)
      : norm(register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({width})))),
        fn(register_module("fn", std::move(inner))) {}
  torch::Tensor forward(const torch::Tensor& x) { return fn->forward(norm->forward(x)); }

  torch::nn::LayerNorm norm;
  Fn fn;
};

class TransformerBlockImpl : public torch::nn::Module {
 public:
  TransformerBlockImpl(const StMemConfig& config, int64_t index, double drop_path_rate);
  // sample_seeds: optional int64 [B] for deterministic drop-path (see drop_path.h).
  torch::Tensor forward(torch::Tensor x, const torch::Tensor& sample_seeds);
  void set_compute_dtype(torch::ScalarType dtype);

  std::shared_ptr<PreNormImpl<Attention>> attn;
  std::shared_ptr<PreNormImpl<FeedForward>> ff;
  int64_t index;
  double drop_path_rate;
};
TORCH_MODULE(TransformerBlock);

class StMemImpl : public torch::nn::Module {
 public:
  explicit StMemImpl(StMemConfig config);

  // x: [B, L, patch_size * n] with L == config.leads.size() and n <= num_patches (2250 samples
  // by default). sample_seeds: optional int64 [B]. Returns logits [B, num_classes].
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& sample_seeds = {});
  // The pooled representation after the final LayerNorm: [B, width].
  torch::Tensor forward_features(const torch::Tensor& x, const torch::Tensor& sample_seeds = {});

  // The pieces forward_features is made of, for objectives that change the token set between
  // them (masked pretraining drops patches after embed_patches):
  //   embed_patches      [B, L, n*P] -> [B, L, n, D]: patch embedding + the patches' positions
  //   add_sep_and_leads  [B, L, m, D] -> [B, L, m+2, D]: SEP tokens at both ends, lead embeddings
  //   encode             [B, L, m+2, D] -> [B, L*(m+2), D]: dropout and the transformer blocks
  torch::Tensor embed_patches(const torch::Tensor& x);
  torch::Tensor add_sep_and_leads(const torch::Tensor& tokens);
  torch::Tensor encode(const torch::Tensor& tokens, const torch::Tensor& sample_seeds = {});
  torch::nn::LayerNorm& final_norm() { return norm_; }
  torch::Tensor& pos_embedding() { return pos_embedding_; }

  const StMemConfig& config() const { return config_; }
  torch::nn::Linear& head() { return head_; }
  // Replaces the head by a freshly initialised Linear(width, num_classes).
  void reset_head(int64_t num_classes);
  // fp32, or bf16 matrix products with fp32 weights, norms, softmax and outputs.
  void set_precision(Precision precision);
  Precision precision() const { return precision_; }
  // Stochastic depth: rates rise linearly from 0 (block 0) to rate (last block).
  void set_drop_path(double rate);
  std::vector<double> drop_path_rates() const;

  // Named parameters (state-dict names) of everything but the head, and of the head only.
  torch::OrderedDict<std::string, torch::Tensor> encoder_parameters() const;
  torch::OrderedDict<std::string, torch::Tensor> head_parameters() const;

 private:
  void init_weights();
  Precision precision_ = Precision::fp32;

  StMemConfig config_;
  std::vector<int64_t> lead_indices_;
  torch::nn::Sequential to_patch_embedding_{
      nullptr};  // Identity (einops Rearrange), LN, Linear, LN
  torch::nn::LayerNorm patch_norm_{nullptr}, embed_norm_{nullptr};
  torch::nn::Linear patch_linear_{nullptr};
  torch::Tensor pos_embedding_, sep_embedding_;
  torch::nn::ParameterList lead_embeddings_{nullptr};
  std::vector<TransformerBlock> blocks_;
  torch::nn::Dropout dropout_{nullptr};
  torch::nn::LayerNorm norm_{nullptr};
  torch::nn::Linear head_{nullptr};
};
TORCH_MODULE(StMem);

// Number of elements of the given named parameters (e.g. encoder_parameters()).
int64_t count_parameters(const torch::OrderedDict<std::string, torch::Tensor>& params);

// ST-MEM's get_1d_sincos_pos_embed(width, num_patches, sep_embed=True): [1, num_patches + 2,
// width], sin | cos halves over the patch slots, zero rows for the two SEP slots.
torch::Tensor sincos_pos_embedding(int64_t width, int64_t num_patches);

// Truncated normal N(0, std) cut at +-2 std (timm's trunc_normal_), in place, no autograd.
void trunc_normal_(torch::Tensor t, double std);

}  // namespace ecg::model
