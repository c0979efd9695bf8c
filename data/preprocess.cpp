#include "data/preprocess.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "common/atomic_file.h"
#include "common/error.h"
#include "common/log.h"
#include "data/hdf5_writer.h"
#include "data/record_source.h"
#include "data/stratified_folds.h"
#include "data/signal/resample.h"

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

RawRecord read_standard_wfdb(const std::string& record_path, int required_rate) {
  WfdbRecord rec = read_wfdb_record(record_path);
  const std::string hea = record_path + ".hea";
  const double fs = rec.header.sampling_rate;
  if (required_rate > 0) {
    ECG_CHECK(std::abs(fs - required_rate) < 1e-9,
              "{}: sampling frequency {} Hz, but --sampling-rate is {}", hea, fs, required_rate);
  } else {
    ECG_CHECK(fs == std::floor(fs) && fs >= 50 && fs <= 20000,
              "{}: sampling frequency {} Hz is not a whole number within 50..20000 Hz", hea, fs);
  }
  const auto perm = standard_lead_permutation(rec.header, hea);
  RawRecord raw;
  raw.sampling_rate = static_cast<int>(std::lround(fs));
  raw.name = hea;
  raw.leads.resize(layout::kNumLeads);
  for (int k = 0; k < layout::kNumLeads; ++k)
    raw.leads[static_cast<size_t>(k)] =
        std::move(rec.samples[static_cast<size_t>(perm[static_cast<size_t>(k)])]);
  return raw;
}

std::vector<float> RecordProcessor::process(const std::string& record_path) {
  return process(read_standard_wfdb(record_path, options_.sampling_rate));
}

std::vector<float> RecordProcessor::process(RawRecord record) {
  const std::string& hea = record.name;
  ECG_CHECK(record.sampling_rate == options_.sampling_rate,
            "{}: at {} Hz, this pipeline is planned for {} Hz", hea, record.sampling_rate,
            options_.sampling_rate);
  ECG_CHECK(record.leads.size() == static_cast<size_t>(layout::kNumLeads), "{}: {} leads, expected 12",
            hea, record.leads.size());
  const auto n_have = static_cast<int64_t>(record.leads[0].size());
  ECG_CHECK(n_have >= n_in_, "{}: {} samples, shorter than {} s at {} Hz", hea, n_have,
            options_.duration_s, options_.sampling_rate);

  std::vector<std::vector<float>> leads = std::move(record.leads);
  for (auto& lead : leads) {
    lead.resize(static_cast<size_t>(n_in_));  // crop to the first duration_s seconds
    if (impl_->filter) impl_->filter->apply(lead.data());
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

namespace {

using RecordLoader = std::function<RawRecord(size_t index)>;

// The one signal pipeline: --threads workers load and process records (any order), this thread
// writes them in order; a bounded window between them bounds memory. Returns the indices written.
std::vector<size_t> write_record_signals(const PreprocessOptions& o, size_t n,
                                         const RecordLoader& load, const std::string& rates,
                                         PreprocessedH5Writer& writer, const SkipRecord& skip) {
  const int threads = o.threads > 0
                          ? o.threads
                          : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  // Bounded reorder window: workers run at most this far ahead of the writer (memory bound).
  const size_t window = static_cast<size_t>(threads) * 4 + 8;
  std::vector<std::optional<Slot>> slots(n);
  std::mutex mu;
  std::condition_variable ready_cv, space_cv;
  std::atomic<size_t> next{0};
  size_t written_upto = 0;  // guarded by mu
  bool abort = false;       // guarded by mu

  auto worker = [&] {
    // One processor per source rate met (filters and resamplers are planned per rate).
    std::map<int, std::unique_ptr<RecordProcessor>> processors;
    auto processor_for = [&](int rate) -> RecordProcessor& {
      auto& p = processors[rate];
      if (!p) {
        PreprocessOptions at_rate = o;
        at_rate.sampling_rate = rate;
        p = std::make_unique<RecordProcessor>(at_rate);
      }
      return *p;
    };
    for (;;) {
      const size_t i = next.fetch_add(1);
      if (i >= n) return;
      {
        std::unique_lock<std::mutex> lock(mu);
        space_cv.wait(lock, [&] { return abort || i < written_upto + window; });
        if (abort) return;
      }
      Slot slot;
      try {
        RawRecord raw = load(i);
        RecordProcessor* processor = nullptr;
        try {
          processor = &processor_for(raw.sampling_rate);
        } catch (const Error& e) {  // e.g. --duration is no whole number of samples at its rate
          ECG_FAIL("{}: {}", raw.name, e.message());
        }
        slot.signal = processor->process(std::move(raw));
        slot.ok = true;
      } catch (const Error& e) {
        slot.error = e.message();
      } catch (const std::exception& e) {
        slot.error = fmt::format("record {}: {}", i + 1, e.what());
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

  log::info("preprocess: {} records at {} -> {} Hz, {} threads, filter {}, normalize {}", n,
            rates, o.target_rate, threads, o.filter ? "0.67-40 Hz" : "off", o.normalize);
  std::vector<size_t> kept;
  kept.reserve(n);
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
      skip(slot.error);
      continue;
    }
    writer.write_signal(kept.size(), slot.signal);
    kept.push_back(i);
    if (i + 1 >= next_progress && n >= 100) {
      log::info("preprocess: {}/{} records", i + 1, n);
      next_progress += n / 10;
    }
  }
  return kept;
}

}  // namespace

const char* source_name(DataSource source) {
  switch (source) {
    case DataSource::kPtbxl:
      return "ptbxl";
    case DataSource::kChallenge:
      return "challenge";
    case DataSource::kCode15:
      return "code15";
    case DataSource::kWfdb:
      return "wfdb";
  }
  return "?";
}

std::string RecordSource::crop_rule(double duration_s) const {
  return fmt::format("first {} s of each record; shorter records refused", duration_s);
}

TaskLabels labels_of_kept(const TaskLabels& all, const std::vector<size_t>& kept) {
  TaskLabels out = all;
  const size_t c = all.classes.size();
  out.matrix.assign(kept.size() * c, 0);
  out.records_without_label = 0;
  for (size_t r = 0; r < kept.size(); ++r) {
    bool any = false;
    for (size_t k = 0; k < c; ++k) {
      out.matrix[r * c + k] = all.matrix[kept[r] * c + k];
      any = any || out.matrix[r * c + k];
    }
    if (!any) ++out.records_without_label;
  }
  return out;
}

PreprocessSummary preprocess(const PreprocessOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  ECG_CHECK(o.target_rate >= 50 && o.target_rate <= 2000,
            "--target-rate must be within 50..2000 Hz, got {}", o.target_rate);
  ECG_CHECK(o.normalize == "record" || o.normalize == "none",
            "--normalize must be 'record' or 'none', got '{}'", o.normalize);
  std::vector<SourceSpec> specs = o.merge;
  if (specs.empty()) specs.push_back({o.source, o.input_dir});
  const bool merged = specs.size() > 1;

  PreprocessSummary summary;
  const SkipRecord skip = [&](const std::string& message) {
    if (!o.skip_bad_records) ECG_FAIL("{}", message);
    log::warn("skipping bad record: {}", message);
    summary.skipped.push_back(message);
  };
  std::vector<std::unique_ptr<RecordSource>> sources;
  for (const auto& spec : specs) {
    ECG_CHECK(std::filesystem::is_directory(spec.dir), "--input {}: not a directory", spec.dir);
    switch (spec.kind) {
      case DataSource::kPtbxl:
        sources.push_back(list_ptbxl(o, spec.dir, skip));
        break;
      case DataSource::kChallenge:
        sources.push_back(list_challenge(o, spec.dir, skip));
        break;
      case DataSource::kCode15:
        sources.push_back(list_code15(o, spec.dir, skip));
        break;
      case DataSource::kWfdb:
        sources.push_back(list_wfdb_folder(o, spec.dir, skip));
        break;
    }
  }

  // One index over all sources' records: (source, record in it).
  std::vector<std::pair<size_t, size_t>> at;
  for (size_t s = 0; s < sources.size(); ++s)
    for (size_t i = 0; i < sources[s]->records().size(); ++i) at.emplace_back(s, i);
  summary.records_in_database =
      static_cast<int64_t>(at.size()) + static_cast<int64_t>(summary.skipped.size());

  Manifest manifest = manifest_for(o);
  manifest.source_rate = sources[0]->source_rate();
  for (const auto& src : sources)
    if (src->source_rate() != manifest.source_rate) manifest.source_rate = 0;
  manifest.resampler = manifest.source_rate == o.target_rate ? "none (source rate = target rate)"
                                                             : Manifest{}.resampler;
  manifest.crop = sources[0]->crop_rule(o.duration_s);
  std::string rates = sources[0]->rates();
  for (const auto& src : sources)
    if (src->rates() != rates) rates = "their own rates";
  std::string origins;
  for (const auto& src : sources) origins += (origins.empty() ? "" : ", ") + src->origin();

  std::vector<size_t> kept;
  write_atomically(o.out_path, [&](const std::string& tmp) {
    PreprocessedH5Writer writer(tmp, at.size(), manifest.n_samples, o.out_path);
    kept = write_record_signals(
        o, at.size(),
        [&](size_t k) { return sources[at[k].first]->load(at[k].second); }, rates, writer, skip);
    ECG_CHECK(!kept.empty(), "{}: no records to write ({} listed in {}, {} skipped)", o.out_path,
              summary.records_in_database, origins, summary.skipped.size());

    std::vector<int64_t> ecg_id, patient_id;
    std::vector<int8_t> fold;
    std::vector<std::string> names, origin;
    std::vector<TaskLabels> labels;
    bool assign_folds = false;
    if (!merged) {
      const RecordSource& src = *sources[0];
      for (size_t k : kept) {
        const ListedRecord& r = src.records()[k];
        ecg_id.push_back(r.id);
        patient_id.push_back(r.patient);
        fold.push_back(static_cast<int8_t>(r.fold));
        names.push_back(r.name);
        assign_folds = assign_folds || r.fold == 0;
      }
      if (std::all_of(names.begin(), names.end(), [](const auto& n) { return n.empty(); }))
        names.clear();
      labels = src.labels(kept);
    } else {
      // Merged: ids are positions in the merged listing; a patient of one source is never the
      // same person as a patient of another with the same number.
      std::map<std::pair<size_t, int64_t>, int64_t> patient_of;
      for (size_t k : kept) {
        const auto [s, i] = at[k];
        const ListedRecord& r = sources[s]->records()[i];
        ecg_id.push_back(static_cast<int64_t>(k) + 1);
        const auto p = patient_of.emplace(std::pair{s, r.patient}, patient_of.size() + 1);
        patient_id.push_back(p.first->second);
        names.push_back(r.name.empty() ? std::to_string(r.id) : r.name);
        origin.push_back(sources[s]->origin());
      }
      fold.assign(kept.size(), 0);
      assign_folds = true;
      log::info("preprocess: merged {} sources ({}); the file holds no tasks: pretraining data",
                sources.size(), origins);
    }
    if (assign_folds) {
      const int task = merged ? -1 : sources[0]->stratify_task();
      const TaskLabels none{};
      const TaskLabels& by = task >= 0 ? labels[static_cast<size_t>(task)] : none;
      fold = stratified_patient_folds(patient_id, by.matrix, by.classes.size());
    }
    std::map<int64_t, std::set<int>> patient_folds;
    for (size_t r = 0; r < kept.size(); ++r) patient_folds[patient_id[r]].insert(fold[r]);
    for (const auto& [patient, folds] : patient_folds) {
      if (folds.size() > 1) {
        std::string list;
        for (int f : folds) list += (list.empty() ? "" : ",") + std::to_string(f);
        log::warn("{}: patient {} has records in several folds ({}): the split leaks a patient",
                  origins, patient, list);
      }
    }
    writer.finish(kept.size(), ecg_id, patient_id, fold, labels, o.target_rate,
                  merged ? origins : specs[0].dir, manifest, names, origin);
  }, "HDF5 file");

  summary.records_written = static_cast<int64_t>(kept.size());
  summary.records_skipped = static_cast<int64_t>(summary.skipped.size());
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return summary;
}

}  // namespace ecg::data
