// `ecgdist predict`: probabilities for new recordings with a trained checkpoint.
#include <memory>

#include "launcher/command_registry.h"
#include "launcher/distributed_session.h"
#include "launcher/engine_cli.h"
#include "trainer/finetune/inference.h"

namespace ecg::launcher {
namespace {

const RegisterCommand kRegisterPredict{CommandSpec{
    "predict", "per-class probabilities for a WFDB record or a preprocessed HDF5 file", 60,
    [](CLI::App& sub) -> std::function<int()> {
      auto o = std::make_shared<finetune::PredictOptions>();
      sub.add_option("--checkpoint", o->checkpoint, "trained checkpoint (ecgdist train's best.ckpt, its `ecgdist export` .pt, or a torch.save file with a head: give --profile and --classes or --task)")->required();
      sub.add_option("--input", o->input, "RECORD.hea (preprocessed as the checkpoint's data was) or FILE.h5")
          ->required();
      sub.add_option("--out", o->out, "output CSV: record, one probability column per class")->required();
      sub.add_option("--eval-crops", o->eval_crops, "equally spaced windows averaged per record");
      sub.add_option("--batch-size", o->batch_size, "records per forward pass");
      sub.add_option("--threads", o->threads, "intra-op threads (0 = all cores)");
      sub.add_flag("--allow-rate-mismatch", o->allow_rate_mismatch,
                   "score a recording sampled at another rate than the checkpoint's training records "
                   "(default: refused; see docs/outputs.md)");
      sub.add_flag("--trust-data-preprocessing", o->trust_data_preprocessing,
                   "the checkpoint records no preprocessing (a foreign torch.save file); state that --input FILE.h5 was "
                   "preprocessed like its training data (default: refused; see docs/outputs.md)");
      add_inference_profile_option(sub, o->profile);
      sub.add_option("--classes", o->classes,
                     "the output columns' class names, in the head's order (a torch.save file names none; ours must "
                     "agree)")
          ->delimiter(',');
      sub.add_option("--task", o->task, "name the classes after this task's (of --data, else of an .h5 --input)")
          ->check(task_name_check());
      sub.add_option("--data", o->classes_data, "HDF5 file whose --task names the classes (a record as --input)")
          ->check(CLI::ExistingFile);
      add_device_option(sub, o->device);
      sub.add_option("--timeout", o->timeout, "seconds before a stuck collective or read is fatal (an .h5 input)");
      return [o]() {
        DistributedSession session("mpi", o->timeout);
        return finetune::run_predict(session.comm(), *o);
      };
    }}};

}  // namespace
}  // namespace ecg::launcher
