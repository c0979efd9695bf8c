#include "trainer/engine/eval_pass.h"

#include <algorithm>

#include "comm/watchdog.h"
#include "common/error.h"
#include "sharding/epoch_sampler.h"

namespace ecg::engine {

EvalShare run_eval_pass(torch::nn::Module& model, torch::Device device, comm::Communicator& comm,
                        comm::Watchdog* watchdog, const EvalPass& pass,
                        const std::function<void(const DeviceBatch&)>& on_batch) {
  const auto shard = sharding::eval_partition(pass.records, comm.size(), comm.rank());
  EvalShare share;
  share.count = static_cast<int64_t>(shard.records.size());
  const auto counts = sharding::eval_partition_counts(static_cast<int64_t>(pass.records.size()), comm.size());
  for (int r = 0; r < comm.rank(); ++r) share.first += counts[static_cast<size_t>(r)];

  comm::WatchdogScope guard(watchdog, pass.phase, 0, pass.timeout);
  const bool was_training = model.is_training();
  model.eval();
  torch::NoGradGuard no_grad;
  sharding::PrefetchConfig config;
  config.leads = pass.lead_rows;
  config.crop_samples = pass.crop_samples;
  config.transform = pass.transform;
  // Evaluation reads each record once: a short queue and one transform thread keep its memory
  // small beside training's prefetcher.
  config.depth = 2;
  config.worker_threads = 1;
  sharding::Prefetcher prefetcher(pass.path, sharding::eval_batches(shard.records, pass.batch, pass.seed, pass.seed_epoch),
                                  data::LabelMatrix{}, config);
  BatchStager stager(device);
  while (!prefetcher.done()) {
    sharding::Batch batch = prefetcher.next();
    DeviceBatch staged;
    if (pass.stage_on_device) {
      staged = stager.stage(batch);
    } else {
      staged.host = &batch;
    }
    on_batch(staged);
  }
  if (was_training) model.train();
  return share;
}

std::vector<float> gather_eval_rows(comm::Communicator& comm, const std::vector<float>& local, int64_t num_records,
                                    int64_t width, const std::string& phase) {
  const int world = comm.size();
  const auto counts = sharding::eval_partition_counts(num_records, world);
  const int64_t max_count = *std::max_element(counts.begin(), counts.end());
  ECG_CHECK(static_cast<int64_t>(local.size()) == counts[static_cast<size_t>(comm.rank())] * width,
            "{}: rank {} holds {} values for {} records of width {}", phase, comm.rank(), local.size(),
            counts[static_cast<size_t>(comm.rank())], width);
  std::vector<float> padded(static_cast<size_t>(max_count * width), 0.f);
  std::copy(local.begin(), local.end(), padded.begin());
  std::vector<float> all(padded.size() * static_cast<size_t>(world));
  comm.all_gather_host(padded.data(), all.data(), padded.size() * sizeof(float), phase + " gather");
  std::vector<float> out;
  out.reserve(static_cast<size_t>(num_records * width));
  for (int r = 0; r < world; ++r) {
    auto begin = all.begin() + static_cast<int64_t>(r) * max_count * width;
    out.insert(out.end(), begin, begin + counts[static_cast<size_t>(r)] * width);
  }
  return out;
}

}  // namespace ecg::engine
