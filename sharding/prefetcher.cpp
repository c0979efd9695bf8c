#include "sharding/prefetcher.h"

#include <algorithm>
#include <atomic>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>

#include "common/error.h"
#include "data/hdf5_layout.h"

namespace ecg::sharding {
namespace {

constexpr uint64_t kCropSalt = 0x43524F50ULL;  // "CROP": crop draws differ from drop-path draws

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// The message of the exception being handled. Captured on the background thread as a string
// (next() rethrows it as an ecg::Error anyway): sharing the exception object itself across threads
// via exception_ptr works, but its refcount lives in uninstrumented libstdc++ and trips TSan.
std::string current_message() {
  try {
    throw;
  } catch (const ecg::Error& err) {
    return err.message();
  } catch (const std::exception& err) {
    return err.what();
  } catch (...) {
    return "unknown exception";
  }
}

}  // namespace

int64_t random_crop_offset(uint64_t sample_seed, int64_t in_samples, int64_t crop) {
  if (crop >= in_samples) return 0;
  // Modulo bias is < (T - crop + 1) / 2^64: negligible, and the draw stays a pure function of the
  // seed on every platform.
  const auto choices = static_cast<uint64_t>(in_samples - crop + 1);
  return static_cast<int64_t>(splitmix64(sample_seed ^ kCropSalt) % choices);
}

namespace {
SampleTransform crop_transform(bool random) {
  return [random](const SampleItem& item, const float* in, int leads, int64_t in_samples,
                  float* out, int64_t out_samples) {
    ECG_CHECK(out_samples <= in_samples, "crop length {} exceeds the record length {}", out_samples,
              in_samples);
    const int64_t offset = random ? random_crop_offset(item.seed, in_samples, out_samples)
                                  : (in_samples - out_samples) / 2;
    for (int l = 0; l < leads; ++l) {
      std::memcpy(out + l * out_samples, in + l * in_samples + offset,
                  static_cast<size_t>(out_samples) * sizeof(float));
    }
  };
}
}  // namespace

SampleTransform random_crop_transform() {
  return crop_transform(true);
}
SampleTransform center_crop_transform() {
  return crop_transform(false);
}

std::vector<int> lead_indices_from_names(const std::vector<std::string>& names) {
  std::vector<int> out;
  for (const auto& name : names) {
    const int found = data::lead_index(name);
    ECG_CHECK(found >= 0, "--leads: unknown lead '{}' (known: I, II, III, aVR, aVL, aVF, V1-V6)",
              name);
    ECG_CHECK(std::find(out.begin(), out.end(), found) == out.end(),
              "--leads: lead '{}' given twice", name);
    out.push_back(found);
  }
  return out;
}

struct Prefetcher::State {
  struct Slot {
    Batch batch;
    std::vector<float> raw;       // unique sorted records, [u, 12, T]
    std::vector<size_t> raw_row;  // batch row k -> row in raw
    std::atomic<int> pending{0};  // transform chunks still running
    std::string error;            // first failure's message (guarded by State::mu)
    bool ready = false;           // guarded by State::mu
    std::chrono::steady_clock::time_point scheduled = std::chrono::steady_clock::now();
    std::atomic<int64_t> transform_ns{0};  // summed over chunks (atomic: chunks run concurrently)
  };

  std::string path;
  std::vector<std::vector<SampleItem>> plan;
  data::LabelMatrix labels;
  PrefetchConfig config;

  std::unique_ptr<Hdf5RecordReader> reader;  // touched on the I/O thread only

  std::mutex mu;
  std::condition_variable cv;
  std::map<int64_t, std::unique_ptr<Slot>> slots;  // scheduled, not yet consumed
  int64_t next_to_schedule = 0;
  int64_t next_to_consume = 0;
  double total_wait = 0.0;
  // Reusable buffers (guarded by mu): raw reads return here when a batch is ready, output
  // buffers when the consumer calls recycle(). At most `depth` of each are ever in use.
  std::vector<std::vector<float>> raw_pool;
  std::vector<std::vector<float>> out_pool;
  std::atomic<bool> stopping{false};

  // Declared last: destroyed (after an explicit stop + join in ~Prefetcher) before the rest.
  boost::asio::thread_pool io{1};
  boost::asio::thread_pool workers;

  State(std::string p, std::vector<std::vector<SampleItem>> pl, data::LabelMatrix lab, PrefetchConfig cfg)
      : path(std::move(p)),
        plan(std::move(pl)),
        labels(std::move(lab)),
        config(std::move(cfg)),
        workers(static_cast<size_t>(std::max(1, config.worker_threads))) {}

  void finish(Slot* slot, std::string error = {}) {
    std::lock_guard<std::mutex> lock(mu);
    if (!error.empty() && slot->error.empty()) slot->error = std::move(error);
    slot->ready = true;
    slot->batch.transform_seconds = static_cast<double>(slot->transform_ns.load()) * 1e-9;
    slot->batch.ready_after_seconds = seconds_since(slot->scheduled);
    if (raw_pool.size() < static_cast<size_t>(config.depth))
      raw_pool.push_back(std::move(slot->raw));
    slot->raw = {};
    cv.notify_all();
  }

  void fail_chunk(Slot* slot, std::string error) {
    std::lock_guard<std::mutex> lock(mu);
    if (slot->error.empty()) slot->error = std::move(error);
  }

  void take_buffers(Slot* slot) {
    std::lock_guard<std::mutex> lock(mu);
    if (!raw_pool.empty()) {
      slot->raw = std::move(raw_pool.back());
      raw_pool.pop_back();
    }
    if (!out_pool.empty()) {
      slot->batch.signals = std::move(out_pool.back());
      out_pool.pop_back();
    }
  }

  // Called with mu held.
  void schedule_locked() {
    const auto n = static_cast<int64_t>(plan.size());
    while (next_to_schedule < n && next_to_schedule < next_to_consume + config.depth) {
      const int64_t step = next_to_schedule++;
      auto slot = std::make_unique<Slot>();
      Slot* raw_slot = slot.get();
      slots.emplace(step, std::move(slot));
      boost::asio::post(io, [this, step, raw_slot] { read_stage(step, raw_slot); });
    }
  }

  // I/O thread: open (once), read the batch's records, copy labels, fan out the transforms.
  void read_stage(int64_t step, Slot* slot) {
    if (stopping.load()) return finish(slot);
    try {
      const auto t0 = std::chrono::steady_clock::now();
      if (!reader) reader = std::make_unique<Hdf5RecordReader>(path);
      const auto& items = plan[static_cast<size_t>(step)];
      Batch& b = slot->batch;
      b.step = step;
      b.size = static_cast<int64_t>(items.size());
      b.items = items;
      b.leads = config.leads.empty() ? reader->num_leads() : static_cast<int>(config.leads.size());
      for (int l : config.leads) {
        ECG_CHECK(l >= 0 && l < reader->num_leads(), "lead index {} outside the {} leads", l,
                  reader->num_leads());
      }
      const int64_t T = reader->num_samples();
      b.samples = config.crop_samples > 0 ? config.crop_samples : T;
      ECG_CHECK(b.samples <= T, "crop length {} exceeds the record length {}", b.samples, T);

      // Unique sorted records for the read; each batch row remembers its source row.
      std::vector<int64_t> sorted;
      sorted.reserve(items.size());
      for (const auto& it : items) sorted.push_back(it.record);
      std::sort(sorted.begin(), sorted.end());
      sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
      slot->raw_row.resize(items.size());
      for (size_t k = 0; k < items.size(); ++k) {
        slot->raw_row[k] = static_cast<size_t>(
            std::lower_bound(sorted.begin(), sorted.end(), items[k].record) - sorted.begin());
      }
      take_buffers(slot);
      slot->raw.resize(sorted.size() * static_cast<size_t>(reader->record_size()));
      reader->read_signals(sorted, slot->raw.data());
      b.read_seconds = seconds_since(t0);

      if (labels.n_records > 0) {
        b.num_classes = labels.num_classes();
        b.labels.resize(items.size() * static_cast<size_t>(b.num_classes));
        for (size_t k = 0; k < items.size(); ++k) {
          ECG_CHECK(items[k].record < labels.n_records,
                    "record {} outside the {} label rows of task '{}'", items[k].record,
                    labels.n_records, labels.task);
          std::memcpy(b.labels.data() + k * static_cast<size_t>(b.num_classes),
                      labels.values.data() + items[k].record * b.num_classes,
                      static_cast<size_t>(b.num_classes));
        }
      }
      b.signals.resize(items.size() * static_cast<size_t>(b.leads * b.samples));
    } catch (...) {
      return finish(slot, current_message());
    }
    if (slot->batch.size == 0) return finish(slot);

    // Chunks of consecutive samples, about two per worker so a slow chunk does not idle the rest.
    const int64_t b = slot->batch.size;
    const int64_t chunks = std::min<int64_t>(b, 2 * std::max(1, config.worker_threads));
    const int64_t per_chunk = (b + chunks - 1) / chunks;
    const int64_t used = (b + per_chunk - 1) / per_chunk;
    slot->pending.store(static_cast<int>(used));
    const int64_t T = reader->num_samples();
    const int full_leads = reader->num_leads();
    for (int64_t c = 0; c < used; ++c) {
      const int64_t begin = c * per_chunk;
      const int64_t end = std::min(b, begin + per_chunk);
      boost::asio::post(workers, [this, slot, begin, end, T, full_leads] {
        transform_chunk(slot, begin, end, T, full_leads);
      });
    }
  }

  // Worker thread: lead selection + the caller's transform for samples [begin, end).
  void transform_chunk(Slot* slot, int64_t begin, int64_t end, int64_t T, int full_leads) {
    const auto t0 = std::chrono::steady_clock::now();
    try {
      Batch& b = slot->batch;
      const SampleTransform& transform = config.transform;
      std::vector<float> selected;
      for (int64_t k = begin; k < end && !stopping.load(); ++k) {
        const float* record =
            slot->raw.data() + slot->raw_row[static_cast<size_t>(k)] * full_leads * T;
        const float* in = record;
        if (!config.leads.empty()) {
          selected.resize(static_cast<size_t>(b.leads * T));
          for (int l = 0; l < b.leads; ++l) {
            std::memcpy(selected.data() + l * T, record + config.leads[static_cast<size_t>(l)] * T,
                        static_cast<size_t>(T) * sizeof(float));
          }
          in = selected.data();
        }
        transform(b.items[static_cast<size_t>(k)], in, b.leads, T,
                  b.signals.data() + k * b.leads * b.samples, b.samples);
      }
    } catch (...) {
      fail_chunk(slot, current_message());
    }
    slot->transform_ns.fetch_add(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0)
            .count());
    if (slot->pending.fetch_sub(1) == 1) finish(slot);
  }
};

Prefetcher::Prefetcher(std::string path, std::vector<std::vector<SampleItem>> plan,
                       data::LabelMatrix labels, PrefetchConfig config) {
  ECG_CHECK(config.depth >= 1, "prefetch depth must be at least 1 (got {})", config.depth);
  ECG_CHECK(config.worker_threads >= 1, "prefetch worker threads must be at least 1 (got {})",
            config.worker_threads);
  ECG_CHECK(config.crop_samples >= 0, "crop length must not be negative (got {})",
            config.crop_samples);
  ECG_CHECK(labels.values.size() == static_cast<size_t>(labels.n_records * labels.num_classes()),
            "label matrix of task '{}' has {} values, expected {} x {}", labels.task,
            labels.values.size(), labels.n_records, labels.num_classes());
  if (!config.transform) config.transform = random_crop_transform();
  state_ = std::make_unique<State>(std::move(path), std::move(plan), std::move(labels),
                                   std::move(config));
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->schedule_locked();
}

Prefetcher::~Prefetcher() {
  // Queued handlers are dropped by stop(); running ones see `stopping` and return early. Slots
  // are owned by the state, so nothing a handler touches is freed before join() returns.
  state_->stopping.store(true);
  state_->io.stop();
  state_->workers.stop();
  state_->io.join();
  state_->workers.join();
}

int64_t Prefetcher::num_batches() const {
  return static_cast<int64_t>(state_->plan.size());
}

int64_t Prefetcher::position() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->next_to_consume;
}

void Prefetcher::recycle(Batch&& batch) {
  std::vector<float> buffer = std::move(batch.signals);
  batch = Batch{};
  std::lock_guard<std::mutex> lock(state_->mu);
  if (state_->out_pool.size() < static_cast<size_t>(state_->config.depth)) {
    state_->out_pool.push_back(std::move(buffer));
  }
}

double Prefetcher::total_wait_seconds() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->total_wait;
}

Batch Prefetcher::next(int64_t expected_step) {
  const int64_t pos = position();
  ECG_CHECK(pos == expected_step, "prefetcher: trainer asks for step {} but the next batch is {}",
            expected_step, pos);
  return next();
}

Batch Prefetcher::next() {
  State& s = *state_;
  std::unique_lock<std::mutex> lock(s.mu);
  const int64_t step = s.next_to_consume;
  ECG_CHECK(step < static_cast<int64_t>(s.plan.size()), "prefetcher: all {} batches were consumed",
            s.plan.size());
  auto it = s.slots.find(step);
  ECG_CHECK(it != s.slots.end(), "prefetcher: batch {} was never scheduled", step);
  const auto start = std::chrono::steady_clock::now();
  State::Slot* slot = it->second.get();
  s.cv.wait(lock, [slot] { return slot->ready; });
  const double waited =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  s.total_wait += waited;

  std::unique_ptr<State::Slot> owned = std::move(it->second);
  s.slots.erase(it);
  s.next_to_consume = step + 1;
  s.schedule_locked();
  lock.unlock();

  if (!owned->error.empty()) {
    // Name the file once: reader errors already start with it, transform errors do not.
    std::string msg = owned->error;
    if (msg.rfind(s.path, 0) != 0) msg = s.path + ": " + msg;
    ECG_FAIL("{} (prefetching batch {})", msg, step);
  }
  owned->batch.wait_seconds = waited;
  return std::move(owned->batch);
}

}  // namespace ecg::sharding
