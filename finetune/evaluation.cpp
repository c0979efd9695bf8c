#include "finetune/evaluation.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "comm/watchdog.h"
#include "common/error.h"
#include "sharding/epoch_sampler.h"
#include "sharding/prefetcher.h"

namespace ecg::finetune {

std::vector<int64_t> eval_crop_offsets(int64_t total, int64_t crop, int crops) {
  ECG_CHECK(crop <= total, "crop length {} exceeds the record length {}", crop, total);
  std::vector<int64_t> offsets;
  if (crops <= 1) {
    offsets.push_back((total - crop) / 2);
    return offsets;
  }
  for (int k = 0; k < crops; ++k) {
    offsets.push_back(static_cast<int64_t>(std::llround(static_cast<double>(k) * (total - crop) / (crops - 1))));
  }
  return offsets;
}

std::vector<float> gather_targets(const std::vector<uint8_t>& labels, int64_t num_classes,
                                  const std::vector<int64_t>& records) {
  std::vector<float> out(records.size() * static_cast<size_t>(num_classes));
  for (size_t i = 0; i < records.size(); ++i) {
    const uint8_t* row = labels.data() + records[i] * num_classes;
    for (int64_t c = 0; c < num_classes; ++c) out[i * num_classes + c] = row[c] ? 1.f : 0.f;
  }
  return out;
}

torch::Tensor stmem_eval_crops(const data::StMemInput& input, const float* records, int64_t n, int64_t T) {
  const int64_t leads = input.spec().leads;
  const int64_t crops = input.eval_crop_count(T);
  const int64_t crop = input.spec().crop_samples;
  torch::Tensor out = torch::empty({n, crops, leads, crop}, torch::kFloat32);
  float* dst = out.data_ptr<float>();
  for (int64_t i = 0; i < n; ++i) {
    input.prepare_eval_crops(records + i * leads * T, T, dst + i * crops * leads * crop);
  }
  return out;
}

torch::Tensor mean_crop_probabilities(model::StMem& model, const torch::Tensor& x) {
  const int64_t crops = x.size(1);
  torch::Tensor probs = torch::zeros({x.size(0), model->config().num_classes}, x.options());
  for (int64_t k = 0; k < crops; ++k) probs += torch::sigmoid(model->forward(x.select(1, k).contiguous()));
  return probs / static_cast<double>(crops);
}

std::vector<float> predict_records(model::StMem& model, comm::Communicator& comm,
                                   const std::vector<int64_t>& records, const EvalSettings& settings,
                                   comm::Watchdog* watchdog, const std::string& phase) {
  const int64_t num_classes = model->config().num_classes;
  const torch::Device device = model->pos_embedding().device();  // scores where the model lives
  const int world = comm.size();
  auto shard = sharding::eval_partition(records, world, comm.rank());
  std::vector<float> local(shard.records.size() * static_cast<size_t>(num_classes), 0.f);
  {
    comm::WatchdogScope guard(watchdog, phase, 0, settings.timeout);
    const bool was_training = model->is_training();
    model->eval();
    torch::NoGradGuard no_grad;
    sharding::PrefetchConfig config;
    config.leads = settings.lead_rows;
    config.crop_samples = 0;  // whole records: the crops are cut below
    config.depth = 2;
    config.worker_threads = 1;
    sharding::Prefetcher prefetcher(settings.path, sharding::eval_batches(shard.records, settings.batch),
                                    data::LabelMatrix{}, config);
    int64_t row = 0;
    while (!prefetcher.done()) {
      sharding::Batch batch = prefetcher.next();
      torch::Tensor probs;
      if (settings.stmem) {
        // ST-MEM's crops are filtered and standardised each on its own, on the CPU (this thread;
        // ~2 ms a record).
        ECG_CHECK(batch.leads == settings.stmem->spec().leads, "{}: {} leads fed, the st-mem pipeline expects {}",
                  settings.path, batch.leads, settings.stmem->spec().leads);
        auto x = stmem_eval_crops(*settings.stmem, batch.signals.data(), batch.size, batch.samples).to(device);
        probs = mean_crop_probabilities(model, x);
      } else {
        auto x = torch::from_blob(batch.signals.data(), {batch.size, batch.leads, batch.samples},
                                  torch::kFloat32)
                     .to(device);
        auto offsets = eval_crop_offsets(batch.samples, settings.crop, settings.crops);
        probs = torch::zeros({batch.size, num_classes}, torch::TensorOptions().device(device));
        for (int64_t off : offsets) probs += torch::sigmoid(model->forward(x.narrow(2, off, settings.crop)));
        probs /= static_cast<double>(offsets.size());
      }
      probs = probs.to(torch::kCPU).contiguous();  // gathered on the host
      std::copy(probs.data_ptr<float>(), probs.data_ptr<float>() + probs.numel(),
                local.begin() + row * num_classes);
      row += batch.size;
    }
    if (was_training) model->train();
  }
  // Gather: blocks differ in size by at most one; pad to the largest block and drop the padding
  // rows on assembly, so that no record is counted twice.
  auto counts = sharding::eval_partition_counts(static_cast<int64_t>(records.size()), world);
  const int64_t max_count = *std::max_element(counts.begin(), counts.end());
  std::vector<float> padded(static_cast<size_t>(max_count * num_classes), 0.f);
  std::copy(local.begin(), local.end(), padded.begin());
  std::vector<float> all(padded.size() * world);
  comm.all_gather_host(padded.data(), all.data(), padded.size() * sizeof(float), phase + " gather");
  std::vector<float> out;
  out.reserve(records.size() * num_classes);
  for (int r = 0; r < world; ++r) {
    auto begin = all.begin() + static_cast<int64_t>(r) * max_count * num_classes;
    out.insert(out.end(), begin, begin + counts[r] * num_classes);
  }
  return out;
}

}  // namespace ecg::finetune
