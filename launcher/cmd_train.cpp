// `ecgdist train`: the two-stage post-training recipe (and its baselines/ablations), data-parallel
// over however many ranks mpirun/srun started.
#include <map>
#include <memory>

#include "data/hdf5_layout.h"
#include "launcher/command_registry.h"
#include "launcher/distributed_session.h"
#include "launcher/engine_cli.h"
#include "model/st_mem_config.h"
#include "monitoring/metrics_cli.h"
#include "trainer/finetune/finetune_task.h"
#include "trainer/finetune/profile_defaults.h"
#include "trainer/finetune/recipe.h"
#include "trainer/finetune/train_options.h"

namespace ecg::launcher {
namespace {

void add_train_options(CLI::App& sub, finetune::TrainOptions& o) {
  sub.add_option("--data", o.data, "preprocessed HDF5 file (ecgdist preprocess)")->required();
  sub.add_option("--profile", o.profile,
                 "input pipeline: default | st-mem (ST-MEM's per-crop filter, standardisation, RandAugment "
                 "and schedule defaults; needs a file from preprocess --target-rate 250 --no-filter "
                 "--normalize none; docs/training.md)")
      ->transform(CLI::CheckedTransformer(finetune::profiles_by_name()))
      ->default_str(finetune::profile_name(o.profile));
  sub.add_option("--task", o.task,
                 "a label set of --data: PTB-XL's all|diagnostic|subdiagnostic|superdiagnostic|form|"
                 "rhythm, a Challenge file's dx|scored, or a --snomed-task (`inspect` lists them)")
      ->check(task_name_check());
  sub.add_option("--recipe", o.recipe,
                 "post-train (LP init + fine-tune with stochastic depth) | fine-tune | linear-probe")
      ->transform(CLI::CheckedTransformer(finetune::recipes_by_name()))
      ->default_str(finetune::recipe_name(o.recipe));
  sub.add_option("--init", o.init, "encoder checkpoint: ecgdist's or ST-MEM's torch.save encoder.pth");
  sub.add_option("--init-head", o.init_head,
                 "the --init file's head: auto (kept when the file names the task's classes, else new) | keep "
                 "(a torch.save file's head whose outputs are the task's classes in order) | new")
      ->transform(CLI::CheckedTransformer(std::map<std::string, finetune::InitHead>{
          {"auto", finetune::InitHead::automatic}, {"keep", finetune::InitHead::keep},
          {"new", finetune::InitHead::replace}}))
      ->default_str("auto");
  sub.add_option("--model", o.model, "tiny|small|base")->check(CLI::IsMember(model::model_size_names()));
  sub.add_option("--leads", o.leads, "lead names to use, e.g. I,II,V1 (default: all 12)")->delimiter(',');
  sub.add_option("--train-fraction", o.train_fraction, "nested label-stratified fraction of folds 1-8");
  sub.add_option("--lp-epochs", o.lp_epochs, "stage 1 epochs (post-train); 0 = 'w/o LP' ablation");
  sub.add_option("--lp-lr", o.lp_lr, "stage 1 peak learning rate (absolute)");
  sub.add_option("--epochs", o.epochs, "stage 2 epochs at most (early stopping on val macro AUROC)");
  sub.add_option("--lr-horizon", o.lr_horizon,
                 "epochs over which the early-stopped stage's cosine decays to --min-lr (0 = --epochs)");
  sub.add_option("--patience", o.patience, "epochs without val AUROC improvement before stopping");
  sub.add_flag("--record-after-stop", o.record_after_stop,
               "after early stopping, keep training and recording validation up to --epochs; the "
               "early-stopped (best) model is still the one tested");
  sub.add_option("--lr", o.lr, "stage 2 peak learning rate (absolute)");
  sub.add_option("--min-lr", o.min_lr, "cosine schedule floor");
  sub.add_option("--warmup-fraction", o.warmup_fraction, "linear warmup, fraction of a stage's steps");
  sub.add_option("--weight-decay", o.weight_decay, "AdamW weight decay (not on norms/biases/embeddings)");
  sub.add_option("--layer-decay", o.layer_decay, "layer-wise lr decay factor (1 = off)");
  sub.add_option("--drop-path", o.drop_path,
                 "stochastic depth rate of the last block (<0: 0.1 for post-train, 0 otherwise)");
  sub.add_option("--dropout", o.dropout, "dropout in the encoder");
  sub.add_option("--batch-size", o.batch_size, "GLOBAL batch size (split across ranks)");
  sub.add_option("--eval-crops", o.eval_crops, "equally spaced windows averaged at evaluation");
  sub.add_option("--crop-length", o.crop_length,
                 "window in samples for training (random) and evaluation (multiple of 75, <= 2250)");
  sub.add_option("--bootstrap", o.bootstrap, "bootstrap resamples for test CIs (0 = no CIs: null in results.json, n/a in text)");
  sub.add_option("--seed", o.seed, "seed of permutations, crops, drop-path and head init");
}

const RegisterCommand kRegisterTrain{CommandSpec{
    "train", "post-train / fine-tune / linear-probe an ST-MEM model on one task", 40,
    [](CLI::App& sub) -> std::function<int()> {
      auto options = std::make_shared<finetune::TrainOptions>();
      auto metrics = std::make_shared<monitoring::MetricsOptions>();
      add_train_options(sub, *options);
      add_engine_options(sub, *options);
      monitoring::add_metrics_options(sub, *metrics);
      return [options, metrics, &sub]() {
        // Flags given explicitly always win over the profile's defaults.
        options->from_profile = finetune::apply_profile_defaults(
            *options, [&sub](const std::string& flag) { return sub.count(flag) > 0; });
        check_backend_device(*options);
        DistributedSession session(options->backend, options->timeout);
        return finetune::run_training(session.comm(), *options, *metrics);
      };
    }}};

}  // namespace
}  // namespace ecg::launcher
