#include "trainer/finetune/input_profile.h"

#include <fmt/format.h>

#include "common/error.h"
#include "trainer/finetune/train_options.h"

namespace ecg::finetune {

const char* profile_name(InputProfile profile) {
  switch (profile) {
    case InputProfile::standard: return "default";
    case InputProfile::st_mem: return "st-mem";
  }
  return "?";
}

const std::map<std::string, InputProfile>& profiles_by_name() {
  static const std::map<std::string, InputProfile> names = {{"default", InputProfile::standard},
                                                            {"st-mem", InputProfile::st_mem}};
  return names;
}

InputProfile profile_from_options(const nlohmann::json& options, const std::string& path) {
  if (!options.is_object() || !options.contains("profile")) return InputProfile::standard;
  const auto& value = options.at("profile");
  ECG_CHECK(value.is_string() && profiles_by_name().count(value.get<std::string>()),
            "{}: options.profile must be \"default\" or \"st-mem\" (got {})", path, value.dump());
  return profiles_by_name().at(value.get<std::string>());
}

void check_profile_data(InputProfile profile, const data::Manifest& manifest, const std::string& path) {
  if (profile != InputProfile::st_mem) return;
  const data::StMemInputSpec spec;
  // Filtering twice or standardising a z-scored record would not be ST-MEM's input; another rate
  // would change what the fixed 0.67/40 Hz filters and the 2,250-sample crop mean.
  std::string wrong;
  auto add = [&wrong](const std::string& field) { wrong += (wrong.empty() ? "" : ", ") + field; };
  if (manifest.target_rate != static_cast<int>(spec.sampling_rate_hz)) {
    add(fmt::format("target_rate: {}", manifest.target_rate));
  }
  if (manifest.filter) add("filter: true");
  if (manifest.normalization != "none") add(fmt::format("normalization: {}", manifest.normalization));
  ECG_CHECK(wrong.empty(),
            "{}: --profile st-mem needs a 250 Hz file without band-pass or normalisation (`ecgdist "
            "preprocess ... --target-rate 250 --no-filter --normalize none`) (manifest says {})",
            path, wrong);
  ECG_CHECK(manifest.n_samples >= spec.crop_samples,
            "{}: --profile st-mem needs records of at least {} samples (manifest says n_samples: {})", path,
            spec.crop_samples, manifest.n_samples);
}

std::shared_ptr<const data::StMemInput> make_stmem_input(int leads, int eval_crops) {
  data::StMemInputSpec spec;
  spec.leads = leads;
  spec.eval_crops = eval_crops;
  return std::make_shared<const data::StMemInput>(spec);
}

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
