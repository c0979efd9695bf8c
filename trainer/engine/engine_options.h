// The settings of the data-parallel engine that `train` and `pretrain` share: run directory and
// resume, threads, gradient communication, timeouts, prefetch, checkpoints, preemption. Each
// command's options derive from this struct and serialise its fields flat, by name.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "model/precision.h"

namespace ecg::engine {

// --device: auto = cuda:<local rank> when LibTorch sees a GPU, else the CPU (trainer/engine/device.h).
enum class DeviceChoice { auto_select, cpu, cuda };
NLOHMANN_JSON_SERIALIZE_ENUM(DeviceChoice, {{DeviceChoice::auto_select, "auto"},
                                            {DeviceChoice::cpu, "cpu"},
                                            {DeviceChoice::cuda, "cuda"}})

// --grad-dtype: the type gradients travel in between ranks. bf16 halves the bytes: each bucket is
// divided by the world size in fp32, rounded to bf16, summed (every partial sum formed in fp32
// and rounded to bf16, as NCCL's bf16 all-reduce and PyTorch DDP's bf16_compress_hook do), and
// widened back to fp32 for the optimiser, whose weights and state stay fp32.
enum class GradDType { fp32, bf16 };
NLOHMANN_JSON_SERIALIZE_ENUM(GradDType, {{GradDType::fp32, "fp32"}, {GradDType::bf16, "bf16"}})

struct EngineOptions {
  std::string out;                   // RUN_DIR
  std::string resume;                // "" | auto | path to a checkpoint
  int threads = 0;                   // intra-op threads per rank (0 = cores / local ranks)
  std::string backend = "auto";      // auto | mpi | nccl
  DeviceChoice device = DeviceChoice::auto_select;
  model::Precision precision = model::Precision::fp32;  // bf16: bf16 matrix products, fp32 master weights
  double bucket_mb = 25.0;
  GradDType grad_dtype = GradDType::fp32;
  double timeout = 300.0;            // seconds for a collective / data wait / eval / ckpt write
  int prefetch_depth = 3;
  int checkpoint_every_steps = 0;    // 0 = at epoch ends only
  int checksum_every_steps = 100;    // cross-rank parameter checksum
  std::string stop_signal = "USR1";  // USR1 | TERM | USR2 | INT: checkpoint and exit
  bool skip_nonfinite = false;
  int max_steps = 0;                 // testing aid: stop (as if preempted) after this many steps
  bool quiet = false;
};

// The engine's fields by name, the one list both tasks' JSON (checkpoints, results.json settings,
// rank 0's resolved options) is written and read with; each task adds its own fields.
#define ECG_ENGINE_FIELDS(X)                                                                          \
  X(out) X(resume) X(threads) X(backend) X(device) X(precision) X(bucket_mb) X(grad_dtype) X(timeout) \
  X(prefetch_depth) X(checkpoint_every_steps) X(checksum_every_steps) X(stop_signal) X(skip_nonfinite) \
  X(max_steps) X(quiet)
void engine_fields_to_json(nlohmann::json& j, const EngineOptions& o);    // adds them to the object j
void engine_fields_from_json(const nlohmann::json& j, EngineOptions& o);  // those present in j

// Throws ecg::Error naming the flag when a value is out of range.
void validate_engine(const EngineOptions& o);

// The optimiser and schedule settings every task has (AdamW, linear warmup, cosine to min_lr),
// each task with its own defaults; one validation, so `train` and `pretrain` refuse the same
// values with the same message.
struct ScheduleSettings {
  double lr;               // peak
  double min_lr;           // the cosine's floor
  double warmup_fraction;  // of the stage's steps
  double weight_decay;
  int batch_size;          // global
};
void validate_schedule(const ScheduleSettings& s);

}  // namespace ecg::engine
