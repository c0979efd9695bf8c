#include "model/st_mem_pretrain.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <set>

#include "common/error.h"

namespace ecg::model {
namespace {

// splitmix64: decorrelates the mask stream from the other per-sample draws (crop offset,
// drop-path) that start from the same sample seed.
uint64_t mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}
constexpr uint64_t kMaskStream = 0x6d61736b73ULL;  // "masks"

}  // namespace

PretrainConfig PretrainConfig::preset(const std::string& size) {
  PretrainConfig c;
  c.encoder = StMemConfig::preset(size);
  if (size == "tiny") {
    c.decoder_width = 128;
    c.decoder_depth = 2;
    c.decoder_heads = 2;
  }
  return c;
}

void PretrainConfig::validate() const {
  encoder.validate();
  ECG_CHECK(decoder_width > 0 && decoder_width % 2 == 0,
            "pretrain config: decoder_width must be positive and even (got {})", decoder_width);
  ECG_CHECK(decoder_depth > 0, "pretrain config: decoder_depth must be positive (got {})",
            decoder_depth);
  ECG_CHECK(decoder_heads > 0, "pretrain config: decoder_heads must be positive (got {})",
            decoder_heads);
  ECG_CHECK(mask_ratio > 0.0 && mask_ratio < 1.0,
            "pretrain config: mask_ratio must be in (0, 1) (got {})", mask_ratio);
}

void to_json(nlohmann::json& j, const PretrainConfig& c) {
  j = nlohmann::json{{"encoder", c.encoder},
                     {"decoder_width", c.decoder_width},
                     {"decoder_depth", c.decoder_depth},
                     {"decoder_heads", c.decoder_heads},
                     {"mask_ratio", c.mask_ratio},
                     {"norm_pix_loss", c.norm_pix_loss}};
}

void from_json(const nlohmann::json& j, PretrainConfig& c) {
  ECG_CHECK(j.is_object() && j.contains("encoder"),
            "pretrain config: expected an object with an 'encoder' field");
  static const std::set<std::string> known = {"encoder",       "decoder_width", "decoder_depth",
                                              "decoder_heads", "mask_ratio",    "norm_pix_loss"};
  for (const auto& item : j.items()) {
    ECG_CHECK(known.count(item.key()) == 1, "pretrain config: unknown field '{}'", item.key());
  }
  PretrainConfig out;
  out.encoder = j.at("encoder").get<StMemConfig>();
  out.decoder_width = j.value("decoder_width", out.decoder_width);
  out.decoder_depth = j.value("decoder_depth", out.decoder_depth);
  out.decoder_heads = j.value("decoder_heads", out.decoder_heads);
  out.mask_ratio = j.value("mask_ratio", out.mask_ratio);
  out.norm_pix_loss = j.value("norm_pix_loss", out.norm_pix_loss);
  out.validate();
  c = std::move(out);
}

int64_t kept_patches(int64_t num_patches, double mask_ratio) {
  const auto keep = static_cast<int64_t>(static_cast<double>(num_patches) * (1.0 - mask_ratio));
  return std::max<int64_t>(1, keep);
}

LeadMasks random_lead_masks(const std::vector<uint64_t>& seeds, int64_t leads, int64_t n,
                            double mask_ratio) {
  ECG_CHECK(!seeds.empty() && leads > 0 && n > 1, "masking: empty batch or fewer than 2 patches");
  const int64_t keep = kept_patches(n, mask_ratio);
  std::vector<torch::Tensor> noise;
  noise.reserve(seeds.size());
  for (uint64_t seed : seeds) {
    auto gen = at::detail::createCPUGenerator(mix(seed ^ kMaskStream));
    noise.push_back(torch::rand({leads, n}, gen));
  }
  // As ST-MEM's random_masking: the smallest noise values are kept; argsort of the shuffle
  // un-shuffles. Each lead has its own noise row, hence its own mask.
  auto ids_shuffle = torch::stack(noise).argsort(/*dim=*/int64_t{2}, /*descending=*/false);
  LeadMasks out;
  out.restore_ids = ids_shuffle.argsort(int64_t{2}, false);
  out.keep_ids = ids_shuffle.slice(2, 0, keep).contiguous();
  auto mask = torch::ones({static_cast<int64_t>(seeds.size()), leads, n});
  mask.slice(2, 0, keep).zero_();
  out.mask = mask.gather(2, out.restore_ids);
  return out;
}

StMemPretrainImpl::StMemPretrainImpl(PretrainConfig config) : config_(std::move(config)) {
  config_.validate();
  StMemConfig enc = config_.encoder;
  enc.num_classes = 1;  // the ViT always has a head; pretraining never uses it (frozen, unsaved)
  enc.drop_path = 0.0;
  encoder_ = register_module("encoder", StMem(enc));

  const int64_t dd = config_.decoder_width;
  to_decoder_embedding_ = register_module("to_decoder_embedding", torch::nn::Linear(enc.width, dd));
  mask_embedding_ = register_parameter("mask_embedding", torch::zeros({1, 1, dd}));
  // Fixed, as published (a requires_grad=False Parameter there; a buffer here: same state key).
  decoder_pos_embed_ = register_buffer("decoder_pos_embed", sincos_pos_embedding(dd, enc.num_patches));

  StMemConfig block_config = enc;
  block_config.width = dd;
  block_config.heads = config_.decoder_heads;
  block_config.dim_head = 64;
  block_config.mlp_dim = 4 * dd;
  block_config.dropout = 0.0;
  decoder_blocks_ = register_module("decoder_blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < config_.decoder_depth; ++i) {
    blocks_.push_back(TransformerBlock(block_config, i, 0.0));
    decoder_blocks_->push_back(blocks_.back());
  }
  // eps 1e-6: the published dec256d4b models pass partial(nn.LayerNorm, eps=1e-6) as norm_layer.
  decoder_norm_ = register_module(
      "decoder_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dd}).eps(1e-6)));
  decoder_head_ = register_module("decoder_head", torch::nn::Linear(dd, enc.patch_size));
  init_weights();
}

void StMemPretrainImpl::set_precision(Precision precision) {
  encoder_->set_precision(precision);
  for (auto& block : blocks_) block->set_compute_dtype(compute_dtype(precision));
}

void StMemPretrainImpl::init_weights() {
  // As ST-MEM's initialize_weights: fixed sin-cos positions (encoder and decoder), N(0, 0.02)
  // SEP, lead and mask embeddings, xavier-uniform Linear weights, zero biases, LayerNorm 1/0.
  torch::NoGradGuard no_grad;
  auto& pos = encoder_->pos_embedding();
  pos.copy_(sincos_pos_embedding(config_.encoder.width, config_.encoder.num_patches));
  pos.set_requires_grad(false);
  mask_embedding_.normal_(0.0, 0.02);
  for (auto& module : modules(/*include_self=*/false)) {
    if (auto* linear = module->as<torch::nn::Linear>()) {
      torch::nn::init::xavier_uniform_(linear->weight);
      if (linear->bias.defined()) linear->bias.zero_();
    } else if (auto* ln = module->as<torch::nn::LayerNorm>()) {
      ln->weight.fill_(1.0);
      ln->bias.zero_();
    }
  }
  // SEP and lead embeddings keep the N(0, 0.02) draw of the encoder's own initialisation.
  for (auto& p : encoder_->head()->parameters()) p.set_requires_grad(false);
}

torch::Tensor StMemPretrainImpl::patch_targets(const torch::Tensor& x) const {
  const int64_t p = config_.encoder.patch_size;
  auto target = x.reshape({x.size(0), x.size(1), x.size(2) / p, p});
  if (!config_.norm_pix_loss) return target;
  auto mean = target.mean(-1, /*keepdim=*/true);
  auto var = target.var(-1, /*unbiased=*/true, /*keepdim=*/true);
  return (target - mean) / (var + 1e-6).sqrt();
}

PretrainOutput StMemPretrainImpl::forward(const torch::Tensor& x, const LeadMasks& masks) {
  // Encoder on the kept patches only.
  auto patches = encoder_->embed_patches(x);  // [B, L, n, D]
  const int64_t b = patches.size(0), leads = patches.size(1), n = patches.size(2);
  const int64_t d = patches.size(3), k = masks.keep_ids.size(2);
  ECG_CHECK(masks.restore_ids.size(0) == b && masks.restore_ids.size(1) == leads &&
                masks.restore_ids.size(2) == n,
            "masking: masks are for [{}, {}, {}] patches, the batch has [{}, {}, {}]",
            masks.restore_ids.size(0), masks.restore_ids.size(1), masks.restore_ids.size(2), b,
            leads, n);
  auto kept = patches.gather(2, masks.keep_ids.unsqueeze(-1).expand({b, leads, k, d}));
  auto latent = encoder_->final_norm()(encoder_->encode(encoder_->add_sep_and_leads(kept)));

  // Decoder: mask tokens in the removed slots, back in position order, per lead.
  const int64_t dd = config_.decoder_width, slots = config_.encoder.num_patches;
  const auto compute = compute_dtype(encoder_->precision());
  auto h = linear_in(to_decoder_embedding_, latent, compute).to(torch::kFloat).view({b, leads, k + 2, dd});
  auto removed = mask_embedding_.view({1, 1, 1, dd}).expand({b, leads, n - k, dd});
  auto body = torch::cat({h.slice(2, 1, k + 1), removed}, 2)
                  .gather(2, masks.restore_ids.unsqueeze(-1).expand({b, leads, n, dd}));
  body = body + decoder_pos_embed_.slice(1, 1, n + 1).unsqueeze(1);
  auto left = h.slice(2, 0, 1) + decoder_pos_embed_.slice(1, 0, 1).unsqueeze(1);
  auto right = h.slice(2, k + 1, k + 2) + decoder_pos_embed_.slice(1, slots + 1, slots + 2).unsqueeze(1);
  // Leads decoded independently: folding them into the batch dimension is the published
  // per-lead loop in one pass.
  auto tokens = torch::cat({left, body, right}, 2).reshape({b * leads, n + 2, dd});
  for (auto& block : blocks_) tokens = block->forward(tokens, {});
  auto pred = linear_in(decoder_head_, decoder_norm_(tokens), compute)
                  .to(torch::kFloat)
                  .view({b, leads, n + 2, -1})
                  .slice(2, 1, n + 1);

  auto per_patch = (pred - patch_targets(x)).pow(2).mean(-1);  // [B, L, n]
  PretrainOutput out;
  out.loss = (per_patch * masks.mask).sum() / masks.mask.sum();
  out.pred = pred;
  out.mask = masks.mask;
  return out;
}

}  // namespace ecg::model
