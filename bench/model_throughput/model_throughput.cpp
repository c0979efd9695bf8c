// Training-step throughput of our LibTorch ST-MEM against the published PyTorch model, both
// measured in this run on this machine with the same batch, thread count and step. Objectives:
//   classify  the ViT: forward, BCE-with-logits, backward, AdamW (fine-tuning's step)
//   pretrain  ST-MEM's masked model (75 % of each lead masked, decoder, norm-pix MSE), AdamW
// Prints samples/s of both and ours / PyTorch per size.
//
//   build/bench/model_throughput --sizes tiny,small,base --batch 16 --steps 3 [--objective pretrain]
#include <torch/torch.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <sstream>

#include "common/error.h"
#include "model/st_mem.h"
#include "model/st_mem_pretrain.h"

namespace {

struct Options {
  std::vector<std::string> sizes = ecg::model::model_size_names();
  int64_t batch = 16;
  int steps = 3;
  int warmup = 1;
  int threads = 1;
  int64_t classes = 5;
  std::string objective = "classify";
};

// o.warmup untimed calls of `step`, then samples/s over o.steps timed ones.
double samples_per_second(const std::function<void()>& step, const Options& o) {
  for (int i = 0; i < o.warmup; ++i) step();
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < o.steps; ++i) step();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return static_cast<double>(o.batch * o.steps) / s;
}

double ours_pretrain(const std::string& size, const Options& o) {
  torch::manual_seed(0);
  ecg::model::StMemPretrain model(ecg::model::PretrainConfig::preset(size));
  model->train();
  std::vector<torch::Tensor> params;
  for (auto& p : model->parameters()) {
    if (p.requires_grad()) params.push_back(p);
  }
  torch::optim::AdamW opt(params, torch::optim::AdamWOptions(1e-4).betas({0.9, 0.95}).weight_decay(0.05));
  auto x = torch::randn({o.batch, 12, 2250});
  std::vector<uint64_t> seeds;
  uint64_t next = 1;
  auto step = [&] {
    seeds.clear();
    for (int64_t i = 0; i < o.batch; ++i) seeds.push_back(next++);
    opt.zero_grad();
    auto loss = model->forward(x, ecg::model::random_lead_masks(seeds, 12, 30, 0.75)).loss;
    loss.backward();
    opt.step();
  };
  return samples_per_second(step, o);
}

double ours(const std::string& size, const Options& o) {
  if (o.objective == "pretrain") return ours_pretrain(size, o);
  torch::manual_seed(0);
  auto config = ecg::model::StMemConfig::preset(size);
  config.num_classes = o.classes;
  config.drop_path = 0.1;
  ecg::model::StMem model(config);
  model->train();
  torch::optim::AdamW opt(model->parameters(), torch::optim::AdamWOptions(1e-4).weight_decay(0.05));
  auto x = torch::randn({o.batch, 12, 2250});
  auto y = (torch::rand({o.batch, o.classes}) < 0.3).to(torch::kFloat);
  auto step = [&] {
    opt.zero_grad();
    auto loss = torch::binary_cross_entropy_with_logits(model->forward(x), y);
    loss.backward();
    opt.step();
  };
  return samples_per_second(step, o);
}

double pytorch(const std::string& size, const Options& o) {
  std::ostringstream cmd;
  cmd << "OPENBLAS_NUM_THREADS=" << o.threads << " OMP_NUM_THREADS=" << o.threads << " "
      << ECG_PYTHON << " " << ECG_BENCH_DIR << "/reference.py --size " << size << " --batch "
      << o.batch << " --steps " << o.steps << " --warmup " << o.warmup << " --threads " << o.threads
      << " --classes " << o.classes << " --objective " << o.objective << " 2>&1";
  FILE* pipe = ::popen(cmd.str().c_str(), "r");
  ECG_CHECK(pipe != nullptr, "cannot run {}", cmd.str());
  std::string out;
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) out.append(buf.data(), n);
  const int rc = ::pclose(pipe);
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
      ->capture_default_str();
  app.add_option("--batch", o.batch, "batch size")->capture_default_str();
  app.add_option("--steps", o.steps, "timed steps per size and side")->capture_default_str();
  app.add_option("--warmup", o.warmup, "untimed steps first")->capture_default_str();
  app.add_option("--threads", o.threads, "intra-op threads (both sides)")->capture_default_str();
  app.add_option("--objective", o.objective, "classify (fine-tuning step) or pretrain (masked modelling)")
      ->check(CLI::IsMember({"classify", "pretrain"}))
      ->capture_default_str();
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

  try {
    std::printf("objective %s\n%-6s %6s %14s %14s %8s\n", o.objective.c_str(), "size", "batch",
                "ours samp/s", "torch samp/s", "ratio");
    for (const auto& size : o.sizes) {
      const double a = ours(size, o);
      const double b = pytorch(size, o);
      std::printf("%-6s %6lld %14.3f %14.3f %8.3f\n", size.c_str(), static_cast<long long>(o.batch),
                  a, b, a / b);
      std::fflush(stdout);
    }
  } catch (const ecg::Error& e) {
    std::fprintf(stderr, "model_throughput: %s\n", e.message().c_str());
    return 1;
  }
  return 0;
}
