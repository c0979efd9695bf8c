// ST-MEM's self-supervised objective (Na et al., ICLR 2024; github.com/bakqui/ST-MEM
// models/st_mem.py): spatio-temporal masked ECG modelling.
//   - every lead's patches are masked independently (75 % by default): the encoder sees only the
//     kept patches of each lead, with their own positions, plus the SEP tokens and the lead
//     embedding of that lead;
//   - the encoder's position embedding is the fixed 1-D sin-cos table (not trained);
//   - a light decoder (to_decoder_embedding, a learned mask_embedding in place of every removed
//     patch, a fixed sin-cos decoder_pos_embed, decoder_blocks, decoder_norm, decoder_head)
//     reconstructs each lead on its own (attention stays within one lead, as published);
//   - loss = mean squared error over the masked patches only, of per-patch normalised targets
//     (norm_pix_loss).
// Parameter names equal the published ST_MEM module's, so "encoder.*" is exactly the encoder
// that fine-tuning (`train --init`) loads.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "model/st_mem.h"
#include "model/st_mem_config.h"

namespace ecg::model {

struct PretrainConfig {
  StMemConfig encoder = StMemConfig::preset("base");
  int64_t decoder_width = 256;  // ST-MEM: 256 wide, 4 blocks, 4 heads of 64, MLP 4x
  int64_t decoder_depth = 4;
  int64_t decoder_heads = 4;
  double mask_ratio = 0.75;
  bool norm_pix_loss = true;

  // base/small: the published dec256d4b decoder; tiny: 128 wide, 2 blocks, 2 heads (the decoder
  // must stay light next to a 192-wide encoder).
  static PretrainConfig preset(const std::string& size);
  // Throws an ecg::Error naming the first inconsistent field.
  void validate() const;
};

void to_json(nlohmann::json& j, const PretrainConfig& c);
void from_json(const nlohmann::json& j, PretrainConfig& c);

// Patches each lead keeps: int(n * (1 - ratio)) as ST-MEM computes it, at least 1.
int64_t kept_patches(int64_t num_patches, double mask_ratio);

// Per-lead random masks of a batch. Sample b's masks are a pure function of seeds[b] (a
// generator seeded with it draws the [L, n] noise), so neither resume nor the world size
// changes what a sample sees.
struct LeadMasks {
  torch::Tensor keep_ids;     // int64 [B, L, k]: kept patch indices, in noise order
  torch::Tensor restore_ids;  // int64 [B, L, n]: un-shuffles [kept..., removed...] to positions
  torch::Tensor mask;         // float [B, L, n]: 1 = removed (to reconstruct), 0 = kept
};
LeadMasks random_lead_masks(const std::vector<uint64_t>& seeds, int64_t leads, int64_t num_patches,
                            double mask_ratio);

struct PretrainOutput {
  torch::Tensor loss;  // scalar: mean over masked patches
  torch::Tensor pred;  // [B, L, n, P]
  torch::Tensor mask;  // [B, L, n]
};

class StMemPretrainImpl : public torch::nn::Module {
 public:
  explicit StMemPretrainImpl(PretrainConfig config);

  // x: [B, L, n * P] with L == the encoder's leads.
  PretrainOutput forward(const torch::Tensor& x, const LeadMasks& masks);
  // The per-patch reconstruction targets: x as [B, L, n, P], normalised per patch when
  // norm_pix_loss is set.
  torch::Tensor patch_targets(const torch::Tensor& x) const;

  const PretrainConfig& config() const { return config_; }
  StMem& encoder() { return encoder_; }
  // The encoder's and the decoder's matrix products in fp32 or bf16 (model/precision.h).
  void set_precision(Precision precision);

 private:
  void init_weights();

  PretrainConfig config_;
  StMem encoder_{nullptr};
  torch::nn::Linear to_decoder_embedding_{nullptr};
  torch::Tensor mask_embedding_, decoder_pos_embed_;
  torch::nn::ModuleList decoder_blocks_{nullptr};
  std::vector<TransformerBlock> blocks_;
  torch::nn::LayerNorm decoder_norm_{nullptr};
  torch::nn::Linear decoder_head_{nullptr};
};
TORCH_MODULE(StMemPretrain);

}  // namespace ecg::model
