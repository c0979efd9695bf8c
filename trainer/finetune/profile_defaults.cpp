#include "trainer/finetune/profile_defaults.h"

#include <fmt/format.h>

#include "trainer/finetune/train_options.h"

namespace ecg::finetune {

std::vector<std::string> apply_profile_defaults(TrainOptions& o,
                                                const std::function<bool(const std::string&)>& given) {
  std::vector<std::string> set;
  if (o.profile != InputProfile::st_mem) return set;
  // bakqui/ST-MEM configs/downstream/st_mem.yaml (train: and dataloader:), main_downstream.py and
  // util/lr_sched.py. Our schedule (trainer/engine/schedule.cpp) is per optimiser step: linear warmup over
  // warmup_fraction of the stage's steps, then half-cycle cosine to min_lr at the stage's last
  // step, which with 0.3 x 10 epochs is ST-MEM's per-iteration 3 warmup epochs and cosine to 0 at
  // the end of epoch 10. Differences that remain: our stage 2 may stop early (--patience, on
  // validation macro AUROC; ST-MEM runs all epochs and tests its best-validation-LOSS
  // checkpoint), and our AdamW does not decay norms, biases and embeddings (ST-MEM decays all).
  auto maybe = [&](const char* flag, const char* field, auto& value, auto profile_value) {
    if (given(flag)) return;
    value = profile_value;
    set.push_back(fmt::format("{}={}", field, profile_value));
  };
  maybe("--batch-size", "batch_size", o.batch_size, 16);
  maybe("--epochs", "epochs", o.epochs, 10);
  maybe("--warmup-fraction", "warmup_fraction", o.warmup_fraction, 0.3);  // warmup_epochs 3 of 10
  maybe("--min-lr", "min_lr", o.min_lr, 0.0);
  maybe("--weight-decay", "weight_decay", o.weight_decay, 0.05);
  // lr = blr x effective batch / 256 with blr 1e-3 (main_downstream.py), from the resolved global
  // batch (ours is global already; ST-MEM's accum_iter is 1).
  maybe("--lr", "lr", o.lr, 1e-3 * o.batch_size / 256.0);
  return set;
}

}  // namespace ecg::finetune
