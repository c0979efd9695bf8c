#include "model_flops.h"

namespace ecg::bench {

double block_flops(double tokens, double seq, double width, double inner, double mlp) {
  const double qkv = 2 * tokens * width * 3 * inner;
  const double out = 2 * tokens * inner * width;
  const double scores_and_values = 2 * 2 * tokens * seq * inner;  // q k^T and attn v
  const double mlp_products = 2 * 2 * tokens * width * mlp;
  return qkv + out + scores_and_values + mlp_products;
}

double classify_train_flops(const model::StMemConfig& c) {
  const double leads = static_cast<double>(c.lead_indices().size());
  const double patches = static_cast<double>(c.num_patches);
  const double tokens = leads * (patches + 2);  // two SEP tokens per lead
  const double inner = static_cast<double>(c.heads * c.dim_head);
  const double embed = 2 * leads * patches * static_cast<double>(c.patch_size * c.width);
  const double blocks = static_cast<double>(c.depth) *
                        block_flops(tokens, tokens, static_cast<double>(c.width), inner, static_cast<double>(c.mlp_dim));
  const double head = 2.0 * static_cast<double>(c.width * c.num_classes);
  return 2 * embed + 3 * (blocks + head);
}

double pretrain_train_flops(const model::PretrainConfig& c) {
  const auto& e = c.encoder;
  const double leads = static_cast<double>(e.lead_indices().size());
  const double patches = static_cast<double>(e.num_patches);
  const double kept = static_cast<double>(model::kept_patches(e.num_patches, c.mask_ratio));
  const double d = static_cast<double>(e.width), dd = static_cast<double>(c.decoder_width);
  // Every patch is embedded, then the masked ones are dropped.
  const double embed = 2 * leads * patches * static_cast<double>(e.patch_size) * d;
  const double enc_tokens = leads * (kept + 2);
  const double encoder = static_cast<double>(e.depth) *
                         block_flops(enc_tokens, enc_tokens, d, static_cast<double>(e.heads * e.dim_head),
                                     static_cast<double>(e.mlp_dim));
  const double to_decoder = 2 * enc_tokens * d * dd;
  const double lead_seq = patches + 2;  // the decoder attends within each lead
  const double decoder = static_cast<double>(c.decoder_depth) *
                         block_flops(leads * lead_seq, lead_seq, dd, static_cast<double>(c.decoder_heads * 64), 4 * dd);
  const double decoder_head = 2 * leads * lead_seq * dd * static_cast<double>(e.patch_size);
  return 2 * embed + 3 * (encoder + to_decoder + decoder + decoder_head);
}

}  // namespace ecg::bench
