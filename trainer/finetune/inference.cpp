#include "trainer/finetune/inference.h"

#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <regex>

#include <fmt/ranges.h>

#include "common/atomic_file.h"
#include "common/error.h"
#include "common/log.h"
#include "data/manifest.h"
#include "data/preprocess.h"
#include "data/formats/wfdb.h"
#include "data/dataset_info.h"
#include "trainer/engine/device.h"
#include "trainer/engine/runtime.h"
#include "eval/metrics.h"
#include "eval/run_outputs.h"
#include "trainer/finetune/evaluation.h"
#include "trainer/finetune/model_init.h"
#include "trainer/finetune/split_scores.h"
#include "trainer/finetune/task_data.h"
#include "model/checkpoint.h"
#include "model/state_dict.h"
#include "sharding/prefetcher.h"

namespace fs = std::filesystem;

namespace ecg::finetune {

InferenceModel load_inference_model(const std::string& path) {
  model::LoadedCheckpoint ck = model::load_any_checkpoint(path);
  InferenceModel out;
  model::StMemConfig config;
  const bool ours = !ck.meta.is_null() && ck.meta.contains("model_config");
  if (ours) out.kind = ck.meta.value("kind", ck.meta.value("source_kind", ""));
  // A pretraining checkpoint is an encoder (plus, for the full one, ST-MEM's decoder): scoring
  // needs a head trained for a task, which only `train` makes.
  ECG_CHECK(ck.state.count("head.weight"),
            "--checkpoint {} is an encoder without a classification head{}, but scoring needs a classifier (an "
            "encoder with a task's head); train one from it with `ecgdist train --init {}`",
            path, out.kind.empty() ? std::string() : fmt::format(" (checkpoint kind '{}')", out.kind), path);
  if (ours) {
    config = ck.meta.at("model_config").get<model::StMemConfig>();
    out.classes = ck.meta.value("classes", std::vector<std::string>{});
    out.classes_recorded = !out.classes.empty();
    out.manifest = ck.meta.value("preprocessing", nlohmann::json());
    out.task = ck.meta.value("task", "");
  } else {
    config = model::infer_config(ck.state, path);
  }
  if (!out.classes_recorded) {
    out.classes.clear();
    for (int64_t k = 0; k < config.num_classes; ++k) out.classes.push_back(fmt::format("class_{}", k));
  }
  config.drop_path = 0;
  out.crop = config.seq_len();
  if (ours && ck.meta.contains("options") && ck.meta.at("options").contains("crop_length")) {
    const auto& length = ck.meta.at("options").at("crop_length");
    ECG_CHECK(length.is_number_integer() && length.get<int64_t>() > 0 && length.get<int64_t>() <= config.seq_len() &&
                  length.get<int64_t>() % model::kPatchSamples == 0,
              "{}: options.crop_length must be a multiple of {} in (0, {}]", path, model::kPatchSamples,
              config.seq_len());
    out.crop = length.get<int64_t>();
  }
  // Ours always says how it was fed: options.profile, or nothing for runs from before profiles
  // existed, which all used the default pipeline.
  out.profile_recorded = ours;
  if (ours && ck.meta.contains("options")) out.profile = profile_from_options(ck.meta.at("options"), path);
  out.model = model::StMem(config);
  load_model_state(out.model, ck.state, path);
  out.model->eval();
  return out;
}

void resolve_profile(InferenceModel& im, const std::optional<InputProfile>& requested, const std::string& checkpoint) {
  if (im.profile_recorded) {
    ECG_CHECK(!requested || *requested == im.profile,
              "--profile {}, but --checkpoint {} was trained with --profile {} (its options); leave --profile out",
              profile_name(*requested), checkpoint, profile_name(im.profile));
    return;
  }
  ECG_CHECK(requested.has_value(),
            "--checkpoint {} is a torch.save file that does not say which input pipeline its model was trained with; "
            "choose one with --profile: 'st-mem' (ST-MEM's own: a 250 Hz file neither band-passed nor normalised, "
            "`ecgdist preprocess --target-rate 250 --no-filter --normalize none`; each crop is filtered 0.67-40 Hz and "
            "standardised as ST-MEM's code does) or 'default' (records fed as the file stores them, for a model "
            "trained on data preprocessed exactly like it; also needs --trust-data-preprocessing)",
            checkpoint);
  im.profile = *requested;
  log::info("--checkpoint {}: fed with --profile {} (the file records no pipeline of its own)", checkpoint,
            profile_name(im.profile));
}

void settle_classes(InferenceModel& im, const std::vector<std::string>& classes, const std::string& source,
                    const std::string& checkpoint) {
  if (im.classes_recorded) {
    ECG_CHECK(classes == im.classes, "{} names classes [{}], but --checkpoint {} was trained for classes [{}]",
              source, fmt::join(classes, ","), checkpoint, fmt::join(im.classes, ","));
    return;
  }
  ECG_CHECK(classes.size() == im.classes.size(), "{} names {} classes [{}], but --checkpoint {} has {} outputs",
            source, classes.size(), fmt::join(classes, ","), checkpoint, im.classes.size());
  im.classes = classes;
  im.classes_recorded = true;
}

void check_unrecorded_preprocessing(const InferenceModel& im, const std::string& checkpoint, const std::string& data,
                                    bool trusted) {
  // st-mem states what the file must be (check_profile_data checks its manifest against that).
  if (!im.manifest.is_null() || im.profile == InputProfile::st_mem) return;
  // Nothing can compare the file with the model's training data: scores on a file preprocessed
  // otherwise (another filter, rate or normalisation) would look as valid as any. Only the user
  // can vouch for it, and must say so.
  ECG_CHECK(trusted,
            "--checkpoint {} records no preprocessing manifest (a torch.save file without ecgdist's metadata), so "
            "nothing checks that {} was preprocessed like its training data; pass --trust-data-preprocessing to "
            "state that it was", checkpoint, data);
  log::warn("--checkpoint {} records no preprocessing; scoring {} as preprocessed like its training data "
            "(--trust-data-preprocessing)", checkpoint, data);
}

int run_evaluate(comm::Communicator& comm, const EvaluateOptions& o) {
  engine::configure_threads(o.threads, comm.local_size());
  ECG_CHECK(o.split == "test" || o.split == "val", "--split must be test or val (got '{}')", o.split);
  InferenceModel im = load_inference_model(o.checkpoint);
  resolve_profile(im, o.profile, o.checkpoint);
  im.model->to(engine::resolve_device(o.device, comm.local_rank()));
  TrainOptions topts;
  topts.data = o.data;
  topts.task = o.task;
  TaskData data = load_task_data(topts);
  model::check_model_input(data.file.path, data.file.sampling_rate, data.file.leads);
  check_unrecorded_preprocessing(im, o.checkpoint, o.data, o.trust_data_preprocessing);
  if (!im.manifest.is_null()) data::check_same_preprocessing(im.manifest, data.file.manifest, o.checkpoint, o.data);
  if (!im.task.empty()) {
    ECG_CHECK(im.task == o.task, "--checkpoint {} was trained for task '{}', not --task '{}'", o.checkpoint,
              im.task, o.task);
  }
  settle_classes(im, data.classes(), fmt::format("--task {} of {}", o.task, o.data), o.checkpoint);
  check_profile_data(im.profile, data.file.manifest, o.data);
  const auto& records = o.split == "test" ? data.test : data.val;
  EvalSettings settings{o.data, sharding::lead_indices_from_names(im.model->config().leads),
                        im.crop, o.eval_crops,
                        std::max(1, o.batch_size / comm.size()), o.timeout, nullptr};
  if (im.profile == InputProfile::st_mem) {
    settings.stmem = make_stmem_input(static_cast<int>(settings.lead_rows.size()), o.eval_crops);
  }
  auto probs = predict_records(im.model, comm, records, settings, nullptr, o.split + " evaluation");
  if (comm.rank() == 0) {
    fs::create_directories(o.out);
    const eval::MetricReport report = score_split(data, records, probs, o.bootstrap, o.seed,
                                                  (fs::path(o.out) / (o.split + "_predictions.csv")).string());
    nlohmann::json metrics = eval::to_json(report);
    metrics["split"] = o.split;
    metrics["task"] = o.task;
    metrics["checkpoint"] = o.checkpoint;
    metrics["data"] = data.summary();
    eval::write_json_file((fs::path(o.out) / (o.split + "_metrics.json")).string(), metrics);
    log::info("{} ({} records): macro AUROC {}  macro AUPRC {}", o.split, records.size(),
              eval::format_with_ci(report.macro_auroc, report.macro_auroc_ci),
              eval::format_with_ci(report.macro_auprc, report.macro_auprc_ci));
  }
  comm.barrier("evaluation written");
  return 0;
}

namespace {

// Probabilities for records given as [n, 12, T] floats.
std::vector<float> score_signals(InferenceModel& im, std::vector<float>& signals, int64_t n, int64_t total,
                                 int crops, int batch_size) {
  torch::NoGradGuard no_grad;
  const torch::Device device = im.model->pos_embedding().device();
  auto lead_rows = sharding::lead_indices_from_names(im.model->config().leads);
  auto index = torch::tensor(std::vector<int64_t>(lead_rows.begin(), lead_rows.end()), torch::kInt64);
  auto all = torch::from_blob(signals.data(), {n, 12, total}, torch::kFloat32).index_select(1, index);
  if (im.profile == InputProfile::st_mem) {
    // ST-MEM's eval crops, prepared on the CPU from the selected leads (as in training).
    auto input = make_stmem_input(static_cast<int>(lead_rows.size()), crops);
    all = all.contiguous();
    std::vector<float> out;
    for (int64_t b = 0; b < n; b += batch_size) {
      const int64_t size = std::min<int64_t>(batch_size, n - b);
      auto x = stmem_eval_crops(*input, all.data_ptr<float>() + b * all.size(1) * total, size, total).to(device);
      auto probs = mean_crop_probabilities(im.model, x).to(torch::kCPU).contiguous();
      out.insert(out.end(), probs.data_ptr<float>(), probs.data_ptr<float>() + probs.numel());
    }
    return out;
  }
  all = all.to(device);
  const int64_t crop = im.crop;
  auto offsets = eval_crop_offsets(total, crop, crops);
  std::vector<float> out;
  for (int64_t b = 0; b < n; b += batch_size) {
    auto x = all.narrow(0, b, std::min<int64_t>(batch_size, n - b));
    torch::Tensor probs = torch::zeros({x.size(0), im.model->config().num_classes}, torch::TensorOptions().device(device));
    for (int64_t off : offsets) probs += torch::sigmoid(im.model->forward(x.narrow(2, off, crop)));
    probs = (probs / static_cast<double>(offsets.size())).to(torch::kCPU).contiguous();
    out.insert(out.end(), probs.data_ptr<float>(), probs.data_ptr<float>() + probs.numel());
  }
  return out;
}

}  // namespace

namespace {

// --classes or --task (+ --data) name a foreign checkpoint's outputs, or must agree with ours.
void name_predicted_classes(InferenceModel& im, const PredictOptions& o, bool input_is_h5) {
  ECG_CHECK(o.classes.empty() || o.task.empty(), "--classes and --task both name the classes; give one of them");
  ECG_CHECK(o.classes_data.empty() || !o.task.empty(), "--data {} is where --task's classes are read; give --task too",
            o.classes_data);
  if (!o.classes.empty()) {
    settle_classes(im, o.classes, "--classes", o.checkpoint);
  } else if (!o.task.empty()) {
    const std::string file = !o.classes_data.empty() ? o.classes_data : input_is_h5 ? o.input : std::string();
    ECG_CHECK(!file.empty(), "--task {} takes its classes from an HDF5 file: with a record as --input, give --data "
              "FILE.h5 too", o.task);
    settle_classes(im, data::read_labels(file, o.task).classes, fmt::format("--task {} of {}", o.task, file),
                   o.checkpoint);
  }
  ECG_CHECK(im.classes_recorded,
            "--checkpoint {} does not name its {} outputs (a torch.save file); name them with --classes NAME,... or "
            "--task TASK (that task's classes in --input FILE.h5, or in --data FILE.h5)",
            o.checkpoint, im.classes.size());
}

// How a record is brought to a checkpoint that records no manifest: --profile st-mem says it
// (ST-MEM's downstream input is the record at 250 Hz, neither filtered nor normalised, before its
// per-crop filters and standardisation); the default profile has no pipeline to name.
data::Manifest stmem_record_manifest(const InferenceModel& im, const data::WfdbHeader& header,
                                     const std::string& checkpoint) {
  ECG_CHECK(im.profile == InputProfile::st_mem,
            "--checkpoint {} records no preprocessing manifest; with --profile default preprocess the recording "
            "with `ecgdist preprocess` as the model's training data was and pass the .h5 file with "
            "--trust-data-preprocessing instead", checkpoint);
  const data::StMemInputSpec spec;
  data::Manifest m;
  m.source_rate = static_cast<int>(std::lround(header.sampling_rate));
  m.target_rate = static_cast<int>(spec.sampling_rate_hz);
  m.filter = false;
  m.normalization = "none";
  // The whole record (whole seconds), as ST-MEM crops windows from all of it.
  m.duration_s = std::floor(static_cast<double>(header.n_samples) / header.sampling_rate);
  return m;
}

}  // namespace

int run_predict(comm::Communicator& comm, const PredictOptions& o) {
  engine::configure_threads(o.threads, comm.local_size());
  InferenceModel im = load_inference_model(o.checkpoint);
  resolve_profile(im, o.profile, o.checkpoint);
  im.model->to(engine::resolve_device(o.device, comm.local_rank()));
  ECG_CHECK(fs::exists(o.input), "--input {}: no such file", o.input);
  std::vector<std::string> ids;
  std::vector<float> probs;
  int64_t n = 0;
  const std::string ext = fs::path(o.input).extension().string();
  const bool input_is_h5 = ext == ".h5" || ext == ".hdf5";
  ECG_CHECK(input_is_h5 || ext == ".hea", "--input {}: expected a WFDB header (.hea) or a preprocessed .h5 file",
            o.input);
  name_predicted_classes(im, o, input_is_h5);
  if (input_is_h5) {
    const data::DatasetInfo data = data::read_dataset_info(o.input);
    check_unrecorded_preprocessing(im, o.checkpoint, o.input, o.trust_data_preprocessing);
    if (!im.manifest.is_null()) {
      data::Manifest prepared = data.manifest;
      const int trained_rate = data::manifest_from_json(im.manifest, o.checkpoint).source_rate;
      if (o.allow_rate_mismatch && prepared.source_rate != trained_rate) {
        log::warn("--input {}: prepared from {} Hz records, --checkpoint {} from {} Hz ones; scoring anyway "
                  "(--allow-rate-mismatch)", o.input, prepared.source_rate, o.checkpoint, trained_rate);
        prepared.source_rate = trained_rate;  // every other field must still match
      }
      data::check_same_preprocessing(im.manifest, prepared, o.checkpoint, o.input);
    }
    check_profile_data(im.profile, data.manifest, o.input);
    // Every record of the file through the engine's evaluation pass: each rank its block, batches
    // read and staged as in training, never the whole file in memory.
    n = static_cast<int64_t>(data.ecg_id.size());
    std::vector<int64_t> records(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) records[static_cast<size_t>(i)] = i;
    EvalSettings settings{o.input, sharding::lead_indices_from_names(im.model->config().leads), im.crop,
                          o.eval_crops, o.batch_size, o.timeout, nullptr};
    if (im.profile == InputProfile::st_mem) {
      settings.stmem = make_stmem_input(static_cast<int>(settings.lead_rows.size()), o.eval_crops);
    }
    probs = predict_records(im.model, comm, records, settings, nullptr, "prediction");
    for (int64_t id : data.ecg_id) ids.push_back(std::to_string(id));
  } else {
    ECG_CHECK(comm.size() == 1, "--input {}: one record is scored by one process (started with {} ranks)", o.input,
              comm.size());
    std::string record = (fs::path(o.input).parent_path() / fs::path(o.input).stem()).string();
    data::WfdbHeader header = data::read_wfdb_header(record);
    // Without a manifest only a named pipeline says how to prepare the record (--trust-data-
    // preprocessing vouches for an already preprocessed file, not for a raw recording).
    const data::Manifest m = im.manifest.is_null() ? stmem_record_manifest(im, header, o.checkpoint)
                                                   : data::manifest_from_json(im.manifest, o.checkpoint);
    // The record is band-passed at its own rate and resampled to the model's, as `preprocess` did
    // for the training data; but records recorded at another rate (e.g. PTB-XL's 500 Hz vs its
    // 100 Hz downsampled copies) carry other frequency content, and the model was never validated
    // on them. A clinician must not get such scores silently.
    if (!im.manifest.is_null() && std::abs(header.sampling_rate - m.source_rate) > 1e-9) {
      ECG_CHECK(o.allow_rate_mismatch,
                "--input {}: recorded at {} Hz, but --checkpoint {} was trained on {} Hz records (preprocessing "
                "manifest source_rate); pass --allow-rate-mismatch to score it anyway",
                o.input, header.sampling_rate, o.checkpoint, m.source_rate);
      log::warn("--input {}: recorded at {} Hz, --checkpoint {} was trained on {} Hz records; scoring it "
                "resampled to {} Hz (--allow-rate-mismatch)",
                o.input, header.sampling_rate, o.checkpoint, m.source_rate, m.target_rate);
    }
    // An st-mem checkpoint's manifest says 250 Hz, no filter, no normalisation: the record comes
    // out as ST-MEM's pipeline expects it, and score_signals applies the per-crop filters.
    data::PreprocessOptions popts;
    popts.sampling_rate = static_cast<int>(header.sampling_rate);
    popts.target_rate = m.target_rate;
    popts.filter = m.filter;
    popts.normalize = m.normalization;
    popts.duration_s = m.duration_s;
    popts.threads = 1;
    data::RecordProcessor processor(popts);
    if (im.profile == InputProfile::st_mem) {
      const data::StMemInputSpec spec;
      ECG_CHECK(processor.n_samples_out() >= spec.crop_samples,
                "--input {}: {} s at {} Hz is {} samples, shorter than ST-MEM's {}-sample window", o.input,
                m.duration_s, m.target_rate, processor.n_samples_out(), spec.crop_samples);
    }
    std::vector<float> signals = processor.process(record);
    n = 1;
    const int64_t total = processor.n_samples_out();
    ids.push_back(header.record_name);
    probs = score_signals(im, signals, n, total, o.eval_crops, o.batch_size);
  }
  if (comm.rank() != 0) return 0;
  std::string text = "record";
  for (const auto& c : im.classes) text += "," + c;
  text += "\n";
  for (int64_t i = 0; i < n; ++i) {
    text += ids[static_cast<size_t>(i)];
    for (size_t k = 0; k < im.classes.size(); ++k) text += fmt::format(",{:.6f}", probs[i * im.classes.size() + k]);
    text += "\n";
  }
  fs::path out(o.out);
  if (out.has_parent_path()) fs::create_directories(out.parent_path());
  write_file_atomically(o.out, text, "predictions CSV");
  log::info("wrote {} prediction(s) to {}", n, o.out);
  return 0;
}

}  // namespace ecg::finetune
