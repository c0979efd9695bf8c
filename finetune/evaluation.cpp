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
      auto x = torch::from_blob(batch.signals.data(), {batch.size, batch.leads, batch.samples},
                                torch::kFloat32)
                   .to(device);
      auto offsets = eval_crop_offsets(batch.samples, settings.crop, settings.crops);
      torch::Tensor probs = torch::zeros({batch.size, num_classes}, torch::TensorOptions().device(device));
      for (int64_t off : offsets) probs += torch::sigmoid(model->forward(x.narrow(2, off, settings.crop)));
      probs /= static_cast<double>(offsets.size());
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
