#include "model/st_mem.h"

#include <torch/torch.h>

#include <cmath>

#include "common/error.h"
#include "data/formats/leads.h"
#include "model/drop_path.h"

namespace ecg::model {
namespace {

torch::nn::Linear make_linear(int64_t in, int64_t out) {
  return torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(true));
}

torch::nn::LayerNorm make_norm(int64_t width) {
  return torch::nn::LayerNorm(torch::nn::LayerNormOptions({width}));
}

}  // namespace

// ST-MEM's get_1d_sincos_pos_embed(width, num_patches, sep_embed=True): sin | cos halves over
// the patch slots, zero rows for the two SEP slots.
torch::Tensor sincos_pos_embedding(int64_t width, int64_t num_patches) {
  ECG_CHECK(width % 2 == 0, "model config: width must be even for the sin-cos position embedding");
  auto grid = torch::arange(num_patches, torch::kFloat);
  auto omega = torch::arange(width / 2, torch::kFloat) / (static_cast<double>(width) / 2.0);
  omega = 1.0 / torch::pow(10000.0, omega);
  auto angles = grid.unsqueeze(1) * omega.unsqueeze(0);
  auto body = torch::cat({angles.sin(), angles.cos()}, 1);
  auto zero = torch::zeros({1, width});
  return torch::cat({zero, body, zero}, 0).unsqueeze(0);
}

void trunc_normal_(torch::Tensor t, double std) {
  // Inverse-CDF sampling of N(0, 1) restricted to [-2, 2] (as torch.nn.init.trunc_normal_).
  torch::NoGradGuard no_grad;
  const double lo = 0.5 * (1.0 + std::erf(-2.0 / std::sqrt(2.0)));
  const double hi = 0.5 * (1.0 + std::erf(2.0 / std::sqrt(2.0)));
  t.uniform_(2.0 * lo - 1.0, 2.0 * hi - 1.0);
  t.erfinv_().mul_(std * std::sqrt(2.0)).clamp_(-2.0 * std, 2.0 * std);
}

int64_t count_parameters(const torch::OrderedDict<std::string, torch::Tensor>& params) {
  int64_t n = 0;
  for (const auto& item : params) n += item.value().numel();
  return n;
}

// ---------------------------------------------------------------------------------------------
AttentionImpl::AttentionImpl(int64_t width, int64_t heads, int64_t dim_head, double dropout)
    : heads_(heads),
      dim_head_(dim_head),
      scale_(1.0 / std::sqrt(static_cast<double>(dim_head))),
      dropout_(dropout) {
  const int64_t inner = heads * dim_head;
  to_qkv = register_module("to_qkv", make_linear(width, 3 * inner));
  out_linear_ = make_linear(inner, width);
  to_out = register_module(
      "to_out", torch::nn::Sequential(out_linear_, torch::nn::Dropout(torch::nn::DropoutOptions(dropout))));
}

torch::Tensor AttentionImpl::forward(const torch::Tensor& x) {
  const int64_t b = x.size(0), n = x.size(1), inner = heads_ * dim_head_;
  // One GEMM for q, k and v, viewed as [3, B, H, N, dh]. In bf16 one copy makes that view
  // contiguous: oneDNN's batched bf16 product runs 4x faster on contiguous q and k than on the
  // strided views (80 -> 350 GFLOP/s for q k^T at N = 384; docs/benchmarks.md). fp32 keeps the
  // views (OpenBLAS takes the strides as they are).
  auto qkv = linear_in(to_qkv, x, compute).view({b, n, 3, heads_, dim_head_}).permute({2, 0, 3, 1, 4});
  if (compute != torch::kFloat) qkv = qkv.contiguous();
  // Scaling q (N x dh) instead of the scores (N x N) is cheaper and mathematically identical.
  auto q = qkv[0] * scale_;
  // The softmax runs on the products' dtype. With bf16 scores LibTorch's CPU kernel computes in
  // fp32 and rounds the probabilities once, so they equal an fp32 softmax cast to bf16, without
  // the two casts and the fp32 copies that cost more than half of the bf16 step in LibTorch 1.13
  // (`bench/model_throughput --precision bf16 --profile-ops`; docs/benchmarks.md).
  auto attn = torch::matmul(q, qkv[1].transpose(-2, -1)).softmax(-1);
  auto out = torch::matmul(attn, qkv[2]).transpose(1, 2).reshape({b, n, inner});  // [B, N, H * dh]
  if (compute == torch::kFloat) return to_out->forward(out);
  namespace F = torch::nn::functional;
  return F::dropout(linear_in(out_linear_, out, compute), F::DropoutFuncOptions().p(dropout_).training(is_training()));
}

FeedForwardImpl::FeedForwardImpl(int64_t width, int64_t mlp_dim, double dropout) : dropout_(dropout) {
  fc1_ = make_linear(width, mlp_dim);
  fc2_ = make_linear(mlp_dim, width);
  net = register_module(
      "net", torch::nn::Sequential(fc1_, torch::nn::GELU(), torch::nn::Dropout(torch::nn::DropoutOptions(dropout)),
                                   fc2_, torch::nn::Dropout(torch::nn::DropoutOptions(dropout))));
}

torch::Tensor FeedForwardImpl::forward(const torch::Tensor& x) {
  if (compute == torch::kFloat) return net->forward(x);
  namespace F = torch::nn::functional;
  const auto drop = F::DropoutFuncOptions().p(dropout_).training(is_training());
  auto h = F::dropout(torch::gelu(linear_in(fc1_, x, compute)), drop);
  return F::dropout(linear_in(fc2_, h, compute), drop);
}

TransformerBlockImpl::TransformerBlockImpl(const StMemConfig& c, int64_t index_in, double rate)
    : index(index_in), drop_path_rate(rate) {
  attn = register_module("attn", std::make_shared<PreNormImpl<Attention>>(
                                     c.width, Attention(c.width, c.heads, c.dim_head, c.dropout)));
  ff = register_module("ff", std::make_shared<PreNormImpl<FeedForward>>(
                                 c.width, FeedForward(c.width, c.mlp_dim, c.dropout)));
}

void TransformerBlockImpl::set_compute_dtype(torch::ScalarType dtype) {
  attn->fn->compute = dtype;
  ff->fn->compute = dtype;
}

torch::Tensor TransformerBlockImpl::forward(torch::Tensor x, const torch::Tensor& sample_seeds) {
  const bool train = is_training();
  x = drop_path(attn->forward(x), drop_path_rate, train, sample_seeds, drop_path_stream(index, 0)) +
      x;
  x = drop_path(ff->forward(x), drop_path_rate, train, sample_seeds, drop_path_stream(index, 1)) +
      x;
  return x;
}

// ---------------------------------------------------------------------------------------------
StMemImpl::StMemImpl(StMemConfig config) : config_(std::move(config)) {
  config_.validate();
  lead_indices_ = config_.lead_indices();
  const int64_t d = config_.width;

  patch_norm_ = make_norm(config_.patch_size);
  patch_linear_ = make_linear(config_.patch_size, d);
  embed_norm_ = make_norm(d);
  // Slot 0 is einops' Rearrange in ST-MEM (no parameters): an Identity keeps the indices 1..3.
  to_patch_embedding_ = register_module(
      "to_patch_embedding",
      torch::nn::Sequential(torch::nn::Identity(), patch_norm_, patch_linear_, embed_norm_));

  pos_embedding_ =
      register_parameter("pos_embedding", torch::zeros({1, config_.num_patches + 2, d}));
  sep_embedding_ = register_parameter("sep_embedding", torch::zeros({d}));
  // All 12 lead embeddings exist whatever the selection, so checkpoints stay interchangeable.
  lead_embeddings_ = register_module("lead_embeddings", torch::nn::ParameterList());
  // ParameterList::append keeps the tensor's requires_grad flag: ask for a trainable one.
  for (size_t i = 0; i < data::kLeadOrder.size(); ++i) {
    lead_embeddings_->append(torch::zeros({d}, torch::TensorOptions().requires_grad(true)));
  }

  const auto rates = linear_drop_path_rates(config_.depth, config_.drop_path);
  for (int64_t i = 0; i < config_.depth; ++i) {
    blocks_.push_back(register_module("block" + std::to_string(i),
                                      TransformerBlock(config_, i, rates[static_cast<size_t>(i)])));
  }
  dropout_ =
      register_module("dropout", torch::nn::Dropout(torch::nn::DropoutOptions(config_.dropout)));
  norm_ = register_module("norm", make_norm(d));
  head_ = register_module("head", make_linear(d, config_.num_classes));
  init_weights();
}

void StMemImpl::init_weights() {
  // As ST-MEM's initialize_weights: sin-cos positions (zero SEP slots), N(0, 0.02) SEP and lead
  // embeddings, LayerNorm ones/zeros; Linear weights trunc-normal(0.02) (timm/MAE convention
  // for the ViT that fine-tuning starts from), biases zero.
  torch::NoGradGuard no_grad;
  pos_embedding_.copy_(sincos_pos_embedding(config_.width, config_.num_patches));
  sep_embedding_.normal_(0.0, 0.02);
  for (size_t i = 0; i < lead_embeddings_->size(); ++i) lead_embeddings_[i].normal_(0.0, 0.02);
  for (auto& module : modules(/*include_self=*/false)) {
    if (auto* linear = module->as<torch::nn::Linear>()) {
      trunc_normal_(linear->weight, 0.02);
      if (linear->bias.defined()) linear->bias.zero_();
    } else if (auto* ln = module->as<torch::nn::LayerNorm>()) {
      ln->weight.fill_(1.0);
      ln->bias.zero_();
    }
  }
}

torch::Tensor StMemImpl::embed_patches(const torch::Tensor& x) {
  const int64_t leads = static_cast<int64_t>(lead_indices_.size());
  ECG_CHECK(x.dim() == 3, "model input: expected [batch, leads, samples], got {} dimensions",
            x.dim());
  ECG_CHECK(x.size(1) == leads, "model input: {} leads given, the model is configured for {} ({})",
            x.size(1), leads, fmt::join(config_.leads, ","));
  const int64_t p = config_.patch_size, b = x.size(0);
  ECG_CHECK(x.size(2) % p == 0 && x.size(2) / p <= config_.num_patches && x.size(2) > 0,
            "model input: {} samples per lead is not a positive multiple of the patch size {} up "
            "to {} samples",
            x.size(2), p, config_.seq_len());
  const int64_t n = x.size(2) / p;
  // Patch embedding: [B, L, n, P] -> [B, L, n, D], plus the patches' positions.
  const auto compute = compute_dtype(precision_);
  auto h = embed_norm_(linear_in(patch_linear_, patch_norm_(x.reshape({b, leads, n, p})), compute).to(torch::kFloat));
  return h + pos_embedding_.slice(1, 1, n + 1).unsqueeze(1);
}

torch::Tensor StMemImpl::add_sep_and_leads(const torch::Tensor& tokens) {
  const int64_t b = tokens.size(0), leads = tokens.size(1), d = config_.width;
  // SEP tokens at both ends of each lead (own positions: slot 0 and the last slot).
  auto sep = sep_embedding_.view({1, 1, 1, d});
  auto left = (sep + pos_embedding_.slice(1, 0, 1).unsqueeze(1)).expand({b, leads, 1, d});
  auto right =
      (sep + pos_embedding_.slice(1, config_.num_patches + 1, config_.num_patches + 2).unsqueeze(1))
          .expand({b, leads, 1, d});
  auto h = torch::cat({left, tokens, right}, 2);

  // Lead embedding of each channel's NAME, added to all its tokens.
  std::vector<torch::Tensor> chosen;
  chosen.reserve(lead_indices_.size());
  for (int64_t idx : lead_indices_) chosen.push_back(lead_embeddings_[static_cast<size_t>(idx)]);
  return h + torch::stack(chosen).view({1, leads, 1, d});
}

torch::Tensor StMemImpl::encode(const torch::Tensor& tokens, const torch::Tensor& seeds) {
  const int64_t b = tokens.size(0), d = config_.width;
  auto h = dropout_(tokens.reshape({b, tokens.size(1) * tokens.size(2), d}));
  for (auto& block : blocks_) h = block->forward(h, seeds);
  return h;
}

torch::Tensor StMemImpl::forward_features(const torch::Tensor& x, const torch::Tensor& seeds) {
  auto patches = embed_patches(x);
  const int64_t b = patches.size(0), leads = patches.size(1), n = patches.size(2);
  auto h = encode(add_sep_and_leads(patches), seeds);
  // Mean over the patch tokens of all leads (SEP tokens removed), then the final LayerNorm.
  h = h.view({b, leads, n + 2, config_.width}).slice(2, 1, n + 1).mean(std::vector<int64_t>{1, 2});
  return norm_(h);
}

torch::Tensor StMemImpl::forward(const torch::Tensor& x, const torch::Tensor& seeds) {
  return linear_in(head_, forward_features(x, seeds), compute_dtype(precision_)).to(torch::kFloat);
}

void StMemImpl::set_precision(Precision precision) {
  precision_ = precision;
  for (auto& block : blocks_) block->set_compute_dtype(compute_dtype(precision));
}

void StMemImpl::reset_head(int64_t num_classes) {
  ECG_CHECK(num_classes > 0, "reset_head: num_classes must be positive (got {})", num_classes);
  auto fresh = make_linear(config_.width, num_classes);
  {
    torch::NoGradGuard no_grad;
    trunc_normal_(fresh->weight, 0.02);
    fresh->bias.zero_();
  }
  // Keep the device/dtype of the rest of the model.
  fresh->to(pos_embedding_.device(), pos_embedding_.scalar_type());
  head_ = replace_module("head", fresh);
  config_.num_classes = num_classes;
}

void StMemImpl::set_drop_path(double rate) {
  ECG_CHECK(rate >= 0.0 && rate < 1.0, "drop_path must be in [0, 1) (got {})", rate);
  config_.drop_path = rate;
  const auto rates = linear_drop_path_rates(config_.depth, rate);
  for (size_t i = 0; i < blocks_.size(); ++i) blocks_[i]->drop_path_rate = rates[i];
}

std::vector<double> StMemImpl::drop_path_rates() const {
  std::vector<double> out;
  for (const auto& block : blocks_) out.push_back(block->drop_path_rate);
  return out;
}

torch::OrderedDict<std::string, torch::Tensor> StMemImpl::encoder_parameters() const {
  torch::OrderedDict<std::string, torch::Tensor> out;
  for (const auto& item : named_parameters()) {
    if (item.key().rfind("head.", 0) != 0) out.insert(item.key(), item.value());
  }
  return out;
}

torch::OrderedDict<std::string, torch::Tensor> StMemImpl::head_parameters() const {
  torch::OrderedDict<std::string, torch::Tensor> out;
  for (const auto& item : head_->named_parameters()) out.insert("head." + item.key(), item.value());
  return out;
}

}  // namespace ecg::model
