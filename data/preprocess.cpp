#include "data/preprocess.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "common/atomic_file.h"
#include "common/error.h"
#include "common/log.h"
#include "data/hdf5_writer.h"
#include "data/formats/labels.h"
#include "data/formats/ptbxl_database.h"
#include "data/signal/resample.h"
#include "data/formats/scp_statements.h"

namespace ecg::data {
namespace {

int samples_for(double duration_s, int rate, const char* what) {
  const double n = duration_s * rate;
  ECG_CHECK(std::abs(n - std::round(n)) < 1e-9 && n >= 1,
            "duration {} s is not a whole number of samples at the {} rate {} Hz", duration_s, what,
            rate);
  return static_cast<int>(std::lround(n));
}

// One processed record on its way from a worker to the writer.
struct Slot {
  bool ok = false;
  std::string error;
  std::vector<float> signal;
};

}  // namespace

Manifest manifest_for(const PreprocessOptions& o) {
  Manifest m;
  m.source_rate = o.sampling_rate;
  m.target_rate = o.target_rate;
  m.filter = o.filter;
  if (!o.filter) m.filter_method = "none";
  m.normalization = o.normalize;
  m.leads.assign(layout::kLeadOrder.begin(), layout::kLeadOrder.end());
  m.duration_s = o.duration_s;
  m.n_samples = samples_for(o.duration_s, o.target_rate, "target");
  m.crop = fmt::format("first {} s of each record", o.duration_s);
  if (o.sampling_rate == o.target_rate) m.resampler = "none (source rate = target rate)";
  return m;
}

std::array<int, layout::kNumLeads> standard_lead_permutation(const WfdbHeader& header,
                                                             const std::string& file) {
  std::array<int, layout::kNumLeads> perm;
  perm.fill(-1);
  std::vector<std::string> names;
  for (const auto& s : header.signals) names.push_back(s.description);
  auto describe = [&] {
    std::string s;
    for (const auto& n : names) s += (s.empty() ? "" : ",") + n;
    return s;
  };
  ECG_CHECK(
      header.n_signals == layout::kNumLeads,
      "{}: {} signals [{}], expected the 12 standard leads (I, II, III, aVR, aVL, aVF, V1-V6)",
      file, header.n_signals, describe());
  for (int s = 0; s < header.n_signals; ++s) {
    const int k = lead_index(names[static_cast<size_t>(s)]);
    ECG_CHECK(k >= 0 && perm[static_cast<size_t>(k)] < 0,
              "{}: lead names [{}] are not the 12 standard leads (I, II, III, aVR, aVL, aVF, "
              "V1-V6): '{}' is {}",
              file, describe(), names[static_cast<size_t>(s)], k < 0 ? "unknown" : "repeated");
    perm[static_cast<size_t>(k)] = s;
  }
  return perm;
}

void normalize_record(std::vector<float>& values) {
  if (values.empty()) return;
  double sum = 0;
  for (float v : values) sum += v;
  const double mean = sum / static_cast<double>(values.size());
  double ss = 0;
  for (float v : values) ss += (v - mean) * (v - mean);
  const double sd = std::sqrt(ss / static_cast<double>(values.size()));
  // Constant (e.g. flat-line) record: no scale to normalise by; centre it and leave zeros.
  const double scale = sd > 1e-6 ? 1.0 / sd : 0.0;
  for (auto& v : values) v = static_cast<float>((v - mean) * scale);
}

struct RecordProcessor::Impl {
  std::unique_ptr<BandpassFilter> filter;
  std::unique_ptr<Resampler> resampler;
};

RecordProcessor::RecordProcessor(const PreprocessOptions& options)
    : options_(options),
      n_in_(samples_for(options.duration_s, options.sampling_rate, "source")),
      n_out_(samples_for(options.duration_s, options.target_rate, "target")),
      impl_(std::make_unique<Impl>()) {
  if (options.filter) {
    impl_->filter = std::make_unique<BandpassFilter>(BandpassSpec{}, options.sampling_rate,
                                                     static_cast<size_t>(n_in_));
  }
  if (options.sampling_rate != options.target_rate) {
    impl_->resampler =
        std::make_unique<Resampler>(options.sampling_rate, options.target_rate, layout::kNumLeads);
  }
}

RecordProcessor::~RecordProcessor() = default;

std::vector<float> RecordProcessor::process(const std::string& record_path) {
  WfdbRecord rec = read_wfdb_record(record_path);
  const std::string hea = record_path + ".hea";
  ECG_CHECK(std::abs(rec.header.sampling_rate - options_.sampling_rate) < 1e-9,
            "{}: sampling frequency {} Hz, but --sampling-rate is {}", hea,
            rec.header.sampling_rate, options_.sampling_rate);
  ECG_CHECK(rec.header.n_samples >= n_in_, "{}: {} samples, shorter than {} s at {} Hz", hea,
            rec.header.n_samples, options_.duration_s, options_.sampling_rate);
  const auto perm = standard_lead_permutation(rec.header, hea);

  std::vector<std::vector<float>> leads(layout::kNumLeads);
  for (int k = 0; k < layout::kNumLeads; ++k) {
    auto& src = rec.samples[static_cast<size_t>(perm[static_cast<size_t>(k)])];
    src.resize(static_cast<size_t>(n_in_));  // crop to the first duration_s seconds
    leads[static_cast<size_t>(k)] = std::move(src);
    if (impl_->filter) impl_->filter->apply(leads[static_cast<size_t>(k)].data());
  }
  if (impl_->resampler) leads = impl_->resampler->process(leads);

  std::vector<float> out;
  out.reserve(static_cast<size_t>(layout::kNumLeads) * static_cast<size_t>(n_out_));
  for (const auto& lead : leads) {
    ECG_CHECK(static_cast<int>(lead.size()) == n_out_, "{}: resampled to {} samples, expected {}",
              hea, lead.size(), n_out_);
    out.insert(out.end(), lead.begin(), lead.end());
  }
  if (options_.normalize == "record") normalize_record(out);
  for (size_t i = 0; i < out.size(); ++i) {
    ECG_CHECK(std::isfinite(out[i]),
              "{}: non-finite value after preprocessing (lead {}, sample {})", hea,
              layout::kLeadOrder[i / static_cast<size_t>(n_out_)], i % static_cast<size_t>(n_out_));
  }
  return out;
}

PreprocessSummary preprocess_ptbxl(const PreprocessOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  ECG_CHECK(o.sampling_rate == 100 || o.sampling_rate == 500,
            "--sampling-rate must be 100 or 500, got {}", o.sampling_rate);
  ECG_CHECK(o.target_rate >= 50 && o.target_rate <= 2000,
            "--target-rate must be within 50..2000 Hz, got {}", o.target_rate);
  ECG_CHECK(o.normalize == "record" || o.normalize == "none",
            "--normalize must be 'record' or 'none', got '{}'", o.normalize);
  ECG_CHECK(std::filesystem::is_directory(o.ptbxl_dir), "--ptbxl {}: not a directory", o.ptbxl_dir);
  const Manifest manifest = manifest_for(o);
  const std::filesystem::path dir(o.ptbxl_dir);
  const std::string db_path = (dir / "ptbxl_database.csv").string();

  const auto database = read_ptbxl_database(db_path);
  const ScpTable table(read_scp_statements((dir / "scp_statements.csv").string()));
  PreprocessSummary summary;
  summary.records_in_database = static_cast<int64_t>(database.size());

  auto skip_or_throw = [&](const std::string& message) {
    if (!o.skip_bad_records) ECG_FAIL("{}", message);
    log::warn("skipping bad record: {}", message);
    summary.skipped.push_back(message);
  };

  // Metadata checks first (cheap, and they decide which records are decoded at all).
  std::vector<const PtbxlRecord*> todo;
  for (const auto& rec : database) {
    const auto unknown = unknown_codes(rec.scp_codes, table);
    const std::string file = o.sampling_rate == 100 ? rec.filename_lr : rec.filename_hr;
    if (!unknown.empty()) {
      skip_or_throw(fmt::format("{} (ecg_id {}): unknown SCP code '{}' (not in scp_statements.csv)",
                                db_path, rec.ecg_id, unknown.front()));
    } else if (file.empty()) {
      skip_or_throw(fmt::format("{} (ecg_id {}): empty {}", db_path, rec.ecg_id,
                                o.sampling_rate == 100 ? "filename_lr" : "filename_hr"));
    } else {
      todo.push_back(&rec);
    }
  }

  const int threads = o.threads > 0
                          ? o.threads
                          : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  const size_t n = todo.size();
  // Bounded reorder window: workers run at most this far ahead of the writer (memory bound).
  const size_t window = static_cast<size_t>(threads) * 4 + 8;
  std::vector<std::optional<Slot>> slots(n);
  std::mutex mu;
  std::condition_variable ready_cv, space_cv;
  std::atomic<size_t> next{0};
  size_t written_upto = 0;  // guarded by mu
  bool abort = false;       // guarded by mu

  auto worker = [&] {
    std::optional<RecordProcessor> proc;
    std::string init_error;
    try {
      proc.emplace(o);
    } catch (const Error& e) {
      init_error = e.message();
    }
    for (;;) {
      const size_t i = next.fetch_add(1);
      if (i >= n) return;
      {
        std::unique_lock<std::mutex> lock(mu);
        space_cv.wait(lock, [&] { return abort || i < written_upto + window; });
        if (abort) return;
      }
      Slot slot;
      const std::string path =
          (dir / (o.sampling_rate == 100 ? todo[i]->filename_lr : todo[i]->filename_hr)).string();
      try {
        ECG_CHECK(proc.has_value(), "{}", init_error);
        slot.signal = proc->process(path);
        slot.ok = true;
      } catch (const Error& e) {
        slot.error = e.message();
      } catch (const std::exception& e) {
        slot.error = fmt::format("{}: {}", path, e.what());
      }
      {
        std::lock_guard<std::mutex> lock(mu);
        slots[i] = std::move(slot);
      }
      ready_cv.notify_all();
    }
  };

  std::vector<std::thread> pool;
  // Stops and joins the workers on every exit path (a bad record throws out of the write loop).
  struct Joiner {
    std::vector<std::thread>& pool;
    std::mutex& mu;
    bool& abort;
    std::condition_variable& cv;
    ~Joiner() {
      {
        std::lock_guard<std::mutex> lock(mu);
        abort = true;
      }
      cv.notify_all();
      for (auto& t : pool) t.join();
    }
  } joiner{pool, mu, abort, space_cv};
  for (int t = 0; t < std::min<int>(threads, static_cast<int>(std::max<size_t>(n, 1))); ++t) {
    pool.emplace_back(worker);
  }

  log::info("preprocess: {} records at {} Hz -> {} Hz, {} threads, filter {}, normalize {}", n,
            o.sampling_rate, o.target_rate, threads, o.filter ? "0.67-40 Hz" : "off", o.normalize);
  std::vector<size_t> kept;  // indices into todo
  kept.reserve(n);
  write_atomically(o.out_path, [&](const std::string& tmp) {
    PreprocessedH5Writer writer(tmp, n, manifest.n_samples, o.out_path);
    size_t next_progress = n / 10;
    for (size_t i = 0; i < n; ++i) {
      Slot slot;
      {
        std::unique_lock<std::mutex> lock(mu);
        ready_cv.wait(lock, [&] { return slots[i].has_value(); });
        slot = std::move(*slots[i]);
        slots[i].reset();
        written_upto = i + 1;
      }
      space_cv.notify_all();
      if (!slot.ok) {
        skip_or_throw(slot.error);
        continue;
      }
      writer.write_signal(kept.size(), slot.signal);
      kept.push_back(i);
      if (i + 1 >= next_progress && n >= 100) {
        log::info("preprocess: {}/{} records", i + 1, n);
        next_progress += n / 10;
      }
    }
    ECG_CHECK(!kept.empty(), "{}: no records to write ({} in {}, {} skipped)", o.out_path,
              database.size(), db_path, summary.skipped.size());

    std::vector<int64_t> ecg_id, patient_id;
    std::vector<int8_t> fold;
    std::vector<const std::map<std::string, double>*> codes;
    std::map<int64_t, std::set<int>> patient_folds;
    for (size_t i : kept) {
      const PtbxlRecord& r = *todo[i];
      ecg_id.push_back(r.ecg_id);
      patient_id.push_back(r.patient_id);
      fold.push_back(static_cast<int8_t>(r.fold));
      codes.push_back(&r.scp_codes);
      patient_folds[r.patient_id].insert(r.fold);
    }
    for (const auto& [patient, folds] : patient_folds) {
      if (folds.size() > 1) {
        std::string list;
        for (int f : folds) list += (list.empty() ? "" : ",") + std::to_string(f);
        log::warn("{}: patient {} has records in several folds ({}): the split leaks a patient",
                  db_path, patient, list);
      }
    }
    std::vector<TaskLabels> labels;
    for (const auto& task : layout::kTasks)
      labels.push_back(derive_task_labels(codes, table, task));
    writer.finish(kept.size(), ecg_id, patient_id, fold, labels, o.target_rate, o.ptbxl_dir,
                  manifest);
  }, "HDF5 file");

  summary.records_written = static_cast<int64_t>(kept.size());
  summary.records_skipped = static_cast<int64_t>(summary.skipped.size());
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return summary;
}

}  // namespace ecg::data
