// Training-step throughput of our LibTorch ST-MEM against the published PyTorch model, both
// measured in this run on this machine with the same batch, thread count, precision and step.
// Objectives:
//   classify  the ViT: forward, BCE-with-logits, backward, AdamW (fine-tuning's step)
//   pretrain  ST-MEM's masked model (75 % of each lead masked, decoder, norm-pix MSE), AdamW
// Both sides run on ecgdist's heap policy (common/allocator.h: freed memory is kept, which makes
// PyTorch faster too). Prints samples/s of both, ours / PyTorch, and each side's model FLOP
// utilisation against the matrix-product rate of the same thread(s) in the same precision,
// measured first. --profile-ops adds where our step's time goes, op by op.
//
//   build/bench/model_throughput --sizes tiny,small --batch 16 --steps 3 [--objective pretrain]
//       [--precision bf16] [--profile-ops 15]
//       [--python bench/anchor/trixie_python.sh --reference-flag=--compile --reference-flag=--sdpa]
#include <spawn.h>
#include <sys/wait.h>
#include <torch/torch.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>

#include "common/allocator.h"
#include "common/error.h"
#include "model/precision.h"
#include "model/st_mem.h"
#include "model/st_mem_pretrain.h"
#include "model_flops.h"
#include "op_profile.h"

extern char** environ;

namespace {

struct Options {
  std::vector<std::string> sizes = ecg::model::model_size_names();
  int64_t batch = 16;
  int steps = 3;
  int warmup = 1;
  int threads = 1;
  int64_t classes = 5;
  std::string objective = "classify";
  ecg::model::Precision precision = ecg::model::Precision::fp32;
  int profile_ops = 0;
  std::string python = "/usr/bin/python3";
  std::vector<std::string> reference_flags;
};

// o.warmup untimed calls of `step`, then samples/s over o.steps timed ones.
double samples_per_second(const std::function<void()>& step, const Options& o) {
  for (int i = 0; i < o.warmup; ++i) step();
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < o.steps; ++i) step();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return static_cast<double>(o.batch * o.steps) / s;
}

// The best of three square matrix products of the size the model's largest products reach, in
// the step's precision: the rate the MFU is measured against.
double matmul_gflops(const Options& o) {
  const int64_t n = 1536;
  const auto dtype = ecg::model::compute_dtype(o.precision);
  auto a = torch::randn({n, n}).to(dtype), b = torch::randn({n, n}).to(dtype);
  torch::matmul(a, b);
  double best = 0;
  for (int i = 0; i < 3; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    auto c = torch::matmul(a, b);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, 2.0 * n * n * n / s / 1e9);
  }
  return best;
}

// Our step for one size and objective, with its model's training FLOPs per sample.
struct OurStep {
  std::function<void()> run;
  double flops_per_sample;
};

OurStep ours_pretrain(const std::string& size, const Options& o) {
  torch::manual_seed(0);
  const auto config = ecg::model::PretrainConfig::preset(size);
  ecg::model::StMemPretrain model(config);
  model->set_precision(o.precision);
  model->train();
  std::vector<torch::Tensor> params;
  for (auto& p : model->parameters()) {
    if (p.requires_grad()) params.push_back(p);
  }
  auto opt = std::make_shared<torch::optim::AdamW>(
      params, torch::optim::AdamWOptions(1e-4).betas({0.9, 0.95}).weight_decay(0.05));
  auto x = torch::randn({o.batch, 12, 2250});
  auto next = std::make_shared<uint64_t>(1);
  const int64_t batch = o.batch;
  auto run = [=]() mutable {
    std::vector<uint64_t> seeds;
    for (int64_t i = 0; i < batch; ++i) seeds.push_back((*next)++);
    auto masks = ecg::model::random_lead_masks(seeds, 12, 30, 0.75);
    opt->zero_grad();
    torch::Tensor loss;
    {
      RECORD_USER_SCOPE("phase: forward");
      loss = model->forward(x, masks).loss;
    }
    {
      RECORD_USER_SCOPE("phase: backward");
      loss.backward();
    }
    RECORD_USER_SCOPE("phase: optimizer");
    opt->step();
  };
  return {run, ecg::bench::pretrain_train_flops(config)};
}

OurStep ours_classify(const std::string& size, const Options& o) {
  torch::manual_seed(0);
  auto config = ecg::model::StMemConfig::preset(size);
  config.num_classes = o.classes;
  config.drop_path = 0.1;
  ecg::model::StMem model(config);
  model->set_precision(o.precision);
  model->train();
  auto opt = std::make_shared<torch::optim::AdamW>(model->parameters(),
                                                   torch::optim::AdamWOptions(1e-4).weight_decay(0.05));
  auto x = torch::randn({o.batch, 12, 2250});
  auto y = (torch::rand({o.batch, o.classes}) < 0.3).to(torch::kFloat);
  auto run = [=]() mutable {
    opt->zero_grad();
    torch::Tensor loss;
    {
      RECORD_USER_SCOPE("phase: forward");
      loss = torch::binary_cross_entropy_with_logits(model->forward(x).to(torch::kFloat), y);
    }
    {
      RECORD_USER_SCOPE("phase: backward");
      loss.backward();
    }
    RECORD_USER_SCOPE("phase: optimizer");
    opt->step();
  };
  return {run, ecg::bench::classify_train_flops(config)};
}

// Runs argv without a shell and returns what it printed (stdout and stderr) and its exit status.
std::pair<std::string, int> run_captured(const std::vector<std::string>& argv) {
  int fds[2];
  ECG_CHECK(::pipe(fds) == 0, "pipe failed");
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDERR_FILENO);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  ECG_CHECK(rc == 0, "cannot start {}: {}", argv[0], std::strerror(rc));
  std::string out;
  std::array<char, 4096> buf{};
  ssize_t n;
  while ((n = ::read(fds[0], buf.data(), buf.size())) > 0) out.append(buf.data(), static_cast<size_t>(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return {out, WIFEXITED(status) ? WEXITSTATUS(status) : 128};
}

double pytorch(const std::string& size, const Options& o) {
  std::vector<std::string> argv = {o.python,
                                   std::string(ECG_BENCH_DIR) + "/reference.py",
                                   "--size", size,
                                   "--batch", std::to_string(o.batch),
                                   "--steps", std::to_string(o.steps),
                                   "--warmup", std::to_string(o.warmup),
                                   "--threads", std::to_string(o.threads),
                                   "--classes", std::to_string(o.classes),
                                   "--objective", o.objective,
                                   "--dtype", ecg::model::precision_name(o.precision)};
  argv.insert(argv.end(), o.reference_flags.begin(), o.reference_flags.end());
  const auto [out, rc] = run_captured(argv);
  const auto at = out.rfind("samples_per_s=");
  ECG_CHECK(rc == 0 && at != std::string::npos, "PyTorch reference failed: {}", out);
  return std::stod(out.substr(at + 14));
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"ST-MEM training-step throughput: LibTorch (ours) vs PyTorch, same run"};
  app.add_option("--sizes", o.sizes, "model sizes (tiny, small, base)")
      ->delimiter(',')
      ->check(CLI::IsMember(ecg::model::model_size_names()))
      ->capture_default_str();
  app.add_option("--batch", o.batch, "batch size")->capture_default_str();
  app.add_option("--steps", o.steps, "timed steps per size and side")->capture_default_str();
  app.add_option("--warmup", o.warmup, "untimed steps first")->capture_default_str();
  app.add_option("--threads", o.threads, "intra-op threads (both sides)")->capture_default_str();
  app.add_option("--objective", o.objective, "classify (fine-tuning step) or pretrain (masked modelling)")
      ->check(CLI::IsMember({"classify", "pretrain"}))
      ->capture_default_str();
  app.add_option("--precision", o.precision, "fp32, or bf16 on both sides (ours: bf16 products, fp32 "
                                             "master weights; PyTorch: the model cast to bf16)")
      ->transform(CLI::CheckedTransformer(std::map<std::string, ecg::model::Precision>{
          {"fp32", ecg::model::Precision::fp32}, {"bf16", ecg::model::Precision::bf16}}))
      ->capture_default_str();
  app.add_option("--profile-ops", o.profile_ops,
                 "after timing, profile that many of our steps and print the largest ops (0: off)")
      ->capture_default_str();
  app.add_option("--python", o.python,
                 "interpreter of the PyTorch side (bench/anchor/trixie_python.sh: PyTorch 2.6 of the "
                 "Debian 13 root)")
      ->capture_default_str();
  app.add_option("--reference-flag", o.reference_flags,
                 "passed to reference.py, e.g. --reference-flag=--compile --reference-flag=--sdpa");
  CLI11_PARSE(app, argc, argv);

  // OpenBLAS reads its thread count when the library loads, before main(): re-exec once with
  // the variable set so that both sides really run on the same number of threads.
  const std::string want = std::to_string(o.threads);
  const char* have = std::getenv("OPENBLAS_NUM_THREADS");
  if (have == nullptr || want != have) {
    ::setenv("OPENBLAS_NUM_THREADS", want.c_str(), 1);
    ::setenv("OMP_NUM_THREADS", want.c_str(), 1);
    ::execv("/proc/self/exe", argv);
  }
  torch::set_num_threads(o.threads);
  // Ours runs on ecgdist's heap policy; the PyTorch side gets the same through its environment.
  ecg::retain_freed_memory();
  ::setenv("GLIBC_TUNABLES", ecg::kRetainFreedMemoryTunables, 1);

  try {
    const double peak = matmul_gflops(o);
    std::printf("objective %s, %s, %d thread(s): %s matrix product %.1f GFLOP/s (1536^3, best of 3)\n",
                o.objective.c_str(), ecg::model::precision_name(o.precision), o.threads,
                ecg::model::precision_name(o.precision), peak);
    std::printf("%-6s %6s %12s %12s %7s %9s %9s\n", "size", "batch", "ours samp/s", "torch samp/s",
                "ratio", "ours MFU", "torch MFU");
    for (const auto& size : o.sizes) {
      const auto step = o.objective == "pretrain" ? ours_pretrain(size, o) : ours_classify(size, o);
      const double a = samples_per_second(step.run, o);
      const double b = pytorch(size, o);
      const double gflops_per_sample = step.flops_per_sample / 1e9;
      std::printf("%-6s %6lld %12.3f %12.3f %7.3f %8.1f%% %8.1f%%   (%.2f GFLOP/sample)\n", size.c_str(),
                  static_cast<long long>(o.batch), a, b, a / b, 100.0 * a * gflops_per_sample / peak,
                  100.0 * b * gflops_per_sample / peak, gflops_per_sample);
      std::fflush(stdout);
      if (o.profile_ops > 0) {
        const auto profile = ecg::bench::profile_ops(step.run, o.steps);
        ecg::bench::print_phases(profile);
        ecg::bench::print_op_profile(profile, o.profile_ops);
        std::fflush(stdout);
      }
    }
  } catch (const ecg::Error& e) {
    std::fprintf(stderr, "model_throughput: %s\n", e.message().c_str());
    return 1;
  }
  return 0;
}
