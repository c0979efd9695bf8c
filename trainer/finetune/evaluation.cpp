#include "trainer/finetune/evaluation.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "trainer/engine/eval_pass.h"

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
  engine::EvalPass pass;
  pass.path = settings.path;
  pass.records = records;
  pass.batch = settings.batch;
  pass.lead_rows = settings.lead_rows;
  pass.crop_samples = 0;  // whole records: the crops are cut below
  pass.phase = phase;
  pass.timeout = settings.timeout;
  // ST-MEM's crops are filtered and standardised each on its own, on the CPU (this thread; ~2 ms
  // a record), so its batches stay on the host until then.
  pass.stage_on_device = settings.stmem == nullptr;
  std::vector<float> local;
  engine::run_eval_pass(*model, device, comm, watchdog, pass, [&](const engine::DeviceBatch& staged) {
    const sharding::Batch& batch = *staged.host;
    torch::Tensor probs;
    if (settings.stmem) {
      ECG_CHECK(batch.leads == settings.stmem->spec().leads, "{}: {} leads fed, the st-mem pipeline expects {}",
                settings.path, batch.leads, settings.stmem->spec().leads);
      auto x = stmem_eval_crops(*settings.stmem, batch.signals.data(), batch.size, batch.samples).to(device);
      probs = mean_crop_probabilities(model, x);
    } else {
      const torch::Tensor& x = staged.signals;
      auto offsets = eval_crop_offsets(batch.samples, settings.crop, settings.crops);
      probs = torch::zeros({batch.size, num_classes}, torch::TensorOptions().device(device));
      for (int64_t off : offsets) probs += torch::sigmoid(model->forward(x.narrow(2, off, settings.crop)));
      probs /= static_cast<double>(offsets.size());
    }
    probs = probs.to(torch::kCPU).contiguous();  // gathered on the host
    local.insert(local.end(), probs.data_ptr<float>(), probs.data_ptr<float>() + probs.numel());
  });
  return engine::gather_eval_rows(comm, local, static_cast<int64_t>(records.size()), num_classes, phase);
}

}  // namespace ecg::finetune
