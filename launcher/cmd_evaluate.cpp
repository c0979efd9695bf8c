// `ecgdist evaluate`: score a split of a preprocessed file with an existing checkpoint.
#include <memory>

#include "data/hdf5_layout.h"
#include "launcher/command_registry.h"
#include "launcher/distributed_session.h"
#include "launcher/engine_cli.h"
#include "trainer/finetune/inference.h"

namespace ecg::launcher {
namespace {

const RegisterCommand kRegisterEvaluate{CommandSpec{
    "evaluate", "score the test (or val) fold with a checkpoint: predictions CSV + metrics with CIs", 50,
    [](CLI::App& sub) -> std::function<int()> {
      auto o = std::make_shared<finetune::EvaluateOptions>();
      sub.add_option("--data", o->data, "preprocessed HDF5 file")->required();
      sub.add_option("--task", o->task, "task whose labels to score against (a /labels/<task> of --data)")
          ->check(task_name_check());
      sub.add_option("--checkpoint", o->checkpoint, "ecgdist checkpoint or export, or a torch.save file with a head (ST-MEM's: give --profile)")
          ->required();
      sub.add_option("--out", o->out, "output directory")->required();
      sub.add_option("--split", o->split, "test (fold 10) or val (fold 9)")->check(CLI::IsMember({"test", "val"}));
      sub.add_option("--eval-crops", o->eval_crops, "equally spaced windows averaged per record");
      sub.add_option("--batch-size", o->batch_size, "global batch size");
      sub.add_option("--bootstrap", o->bootstrap, "bootstrap resamples for the CIs (0 = no CIs: null in JSON, n/a in text)");
      sub.add_option("--seed", o->seed, "bootstrap seed");
      sub.add_option("--threads", o->threads, "intra-op threads per rank (0 = cores / ranks per node)");
      sub.add_flag("--trust-data-preprocessing", o->trust_data_preprocessing,
                   "the checkpoint records no preprocessing (a foreign torch.save file); state that --data was "
                   "preprocessed like its training data (default: refused; see docs/outputs.md)");
      add_inference_profile_option(sub, o->profile);
      add_device_option(sub, o->device);
      sub.add_option("--timeout", o->timeout, "seconds before a stuck collective is fatal");
      return [o]() {
        DistributedSession session("mpi", o->timeout);
        return finetune::run_evaluate(session.comm(), *o);
      };
    }}};

}  // namespace
}  // namespace ecg::launcher
