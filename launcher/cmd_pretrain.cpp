// `ecgdist pretrain`: ST-MEM masked pretraining of a foundation model on unlabelled records,
// data-parallel over however many ranks mpirun/srun started. The encoder it writes
// (RUN_DIR/encoder.ckpt) is what `train --init` and `export` take.
#include <memory>

#include "launcher/command_registry.h"
#include "launcher/distributed_session.h"
#include "launcher/engine_cli.h"
#include "model/st_mem_config.h"
#include "monitoring/metrics_cli.h"
#include "trainer/pretrain/pretrain_task.h"
#include "trainer/pretrain/pretrain_options.h"

namespace ecg::launcher {
namespace {

void add_pretrain_options(CLI::App& sub, pretrain::PretrainOptions& o) {
  sub.add_option("--data", o.data, "preprocessed HDF5 file (ecgdist preprocess); labels are not read")
      ->required();
  sub.add_option("--profile", o.profile,
                 "input pipeline: default (crops of the file's records) | st-mem (ST-MEM's pretraining input: "
                 "crops band-passed and standardised, no augmentation; needs a file from preprocess --target-rate 250 "
                 "--no-filter --normalize none; its encoder then fine-tunes with train --profile st-mem)")
      ->transform(CLI::CheckedTransformer(engine::profiles_by_name()))
      ->default_str(engine::profile_name(o.profile));
  sub.add_option("--folds", o.folds, "folds to pretrain on, e.g. 1,2,3 (default: every record)")
      ->delimiter(',');
  sub.add_option("--val-folds", o.val_folds,
                 "folds held out to report the masked reconstruction loss after each epoch")
      ->delimiter(',');
  sub.add_option("--model", o.model, "tiny|small|base (decoder: 128x2 for tiny, 256x4 otherwise)")
      ->check(CLI::IsMember(model::model_size_names()));
  sub.add_option("--mask-ratio", o.mask_ratio, "fraction of each lead's patches masked");
  sub.add_option("--norm-pix-loss", o.norm_pix_loss, "per-patch normalised targets (true|false)");
  sub.add_option("--epochs", o.epochs, "pretraining epochs");
  sub.add_option("--lr", o.lr, "peak learning rate (absolute; AdamW betas 0.9/0.95)");
  sub.add_option("--min-lr", o.min_lr, "cosine schedule floor");
  sub.add_option("--warmup-fraction", o.warmup_fraction, "linear warmup, fraction of all steps");
  sub.add_option("--weight-decay", o.weight_decay, "AdamW weight decay (not on norms/biases/embeddings)");
  sub.add_option("--batch-size", o.batch_size, "GLOBAL batch size (split across ranks)");
  sub.add_option("--crop-length", o.crop_length, "random window in samples (multiple of 75)");
  sub.add_option("--seed", o.seed, "seed of permutations, crops, masks and initialisation");
}

const RegisterCommand kRegisterPretrain{CommandSpec{
    "pretrain", "ST-MEM masked pretraining of an encoder on unlabelled records", 35,
    [](CLI::App& sub) -> std::function<int()> {
      auto options = std::make_shared<pretrain::PretrainOptions>();
      auto metrics = std::make_shared<monitoring::MetricsOptions>();
      add_pretrain_options(sub, *options);
      add_engine_options(sub, *options);
      monitoring::add_metrics_options(sub, *metrics);
      return [options, metrics]() {
        check_backend_device(*options);
        DistributedSession session(options->backend, options->timeout);
        return pretrain::run_pretraining(session.comm(), *options, *metrics);
      };
    }}};

}  // namespace
}  // namespace ecg::launcher
