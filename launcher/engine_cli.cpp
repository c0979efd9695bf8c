#include "launcher/engine_cli.h"

#include <algorithm>
#include <cctype>
#include <map>

#include "common/error.h"
#include "trainer/engine/stop_signal.h"

namespace ecg::launcher {

void add_device_option(CLI::App& sub, engine::DeviceChoice& device) {
  sub.add_option("--device", device, "auto (cuda:<local rank> if a GPU is visible, else cpu) | cpu | cuda")
      ->transform(CLI::CheckedTransformer(std::map<std::string, engine::DeviceChoice>{
          {"auto", engine::DeviceChoice::auto_select}, {"cpu", engine::DeviceChoice::cpu},
          {"cuda", engine::DeviceChoice::cuda}}))
      ->default_str("auto");
}

CLI::Validator task_name_check() {
  return CLI::Validator(
      [](std::string& name) -> std::string {
        const bool ok = !name.empty() && name.size() <= 64 &&
                        std::all_of(name.begin(), name.end(), [](unsigned char c) {
                          return std::isalnum(c) || c == '_' || c == '-';
                        });
        return ok ? std::string()
                  : "a task is a name of letters, digits, '_' and '-' (the file's /labels/<task>)";
      },
      "TASK");
}

void check_backend_device(const engine::EngineOptions& o) {
  ECG_CHECK(!(o.backend == "nccl" && o.device == engine::DeviceChoice::cpu),
            "--backend nccl needs --device cuda (or auto on GPU nodes): NCCL reduces GPU memory, and --device cpu "
            "keeps the model on the CPU; use --backend mpi (or auto) with --device cpu");
}

void add_engine_options(CLI::App& sub, engine::EngineOptions& o) {
  sub.add_option("--out", o.out, "run directory (results, history, checkpoints)")->required();
  sub.add_option("--resume", o.resume, "'auto' = newest checkpoint in --out, or a checkpoint path");
  sub.add_option("--threads", o.threads, "intra-op threads per rank (0 = cores / ranks per node)");
  sub.add_option("--backend", o.backend, "gradient all-reduce: auto|mpi|nccl")
      ->check(CLI::IsMember({"auto", "mpi", "nccl"}));
  add_device_option(sub, o.device);
  sub.add_option("--precision", o.precision,
                 "fp32 | bf16 (bf16 matrix products; fp32 weights, optimiser, norms, softmax, loss, gradients)")
      ->transform(CLI::CheckedTransformer(std::map<std::string, model::Precision>{
          {"fp32", model::Precision::fp32}, {"bf16", model::Precision::bf16}}))
      ->default_str("fp32");
  sub.add_option("--bucket-mb", o.bucket_mb, "gradient bucket size in MB");
  sub.add_option("--grad-dtype", o.grad_dtype,
                 "fp32 | bf16: the type gradients travel in between ranks (bf16: half the bytes; "
                 "averaged, then widened back to fp32 for the optimiser)")
      ->transform(CLI::CheckedTransformer(std::map<std::string, engine::GradDType>{
          {"fp32", engine::GradDType::fp32}, {"bf16", engine::GradDType::bf16}}))
      ->default_str("fp32");
  sub.add_option("--timeout", o.timeout, "seconds before a collective/data wait/eval/ckpt is fatal");
  sub.add_option("--prefetch", o.prefetch_depth, "batches prefetched per rank");
  sub.add_option("--checkpoint-every", o.checkpoint_every_steps,
                 "also checkpoint every N steps (0 = epoch ends)");
  sub.add_option("--checksum-every", o.checksum_every_steps,
                 "cross-rank parameter checksum every N steps");
  sub.add_option("--stop-signal", o.stop_signal, "signal that checkpoints and exits: USR1|USR2|TERM|INT")
      ->check(CLI::IsMember(engine::stop_signal_names()));
  sub.add_flag("--skip-nonfinite", o.skip_nonfinite,
               "skip (and count) steps with NaN/Inf loss instead of stopping");
  sub.add_option("--max-steps", o.max_steps, "stop like a preemption after N steps (testing aid; 0 = off)");
  sub.add_flag("--quiet", o.quiet, "no progress output");
}


void add_inference_profile_option(CLI::App& sub, std::optional<finetune::InputProfile>& profile) {
  std::vector<std::string> names;
  for (const auto& [name, value] : finetune::profiles_by_name()) names.push_back(name);
  sub.add_option_function<std::string>(
         "--profile", [&profile](const std::string& name) { profile = finetune::profiles_by_name().at(name); },
         "input pipeline the model is fed with: the checkpoint's own (a different one is refused); for a torch.save "
         "file that records none it must be given: st-mem (ST-MEM's: a 250 Hz file, no band-pass, no normalisation; "
         "per-crop filter + standardisation) or default (the file's records as stored; with "
         "--trust-data-preprocessing) (docs/outputs.md)")
      ->check(CLI::IsMember(names));
}

}  // namespace ecg::launcher
