// bench_prefetch: what the sharding data path costs and how much of it the prefetcher hides,
// against references measured in the same run on the same file:
//   per-record : one H5Dread per record in the sampler's (random) order -- the naive loader
//   batched    : Hdf5RecordReader::read_signals on each rank batch (sorted, runs merged)
//   sync loop  : per step, read + crop synchronously, then a simulated compute step
//   prefetched : the same loop with Prefetcher::next(); data-wait = time next() blocked
// The simulated compute sleeps (an accelerator step leaves the CPU free) for as long as one
// synchronous batch load took, so perfect overlap would make the prefetched loop ~2x faster.
// The file is written once into $TMPDIR (chunked one record per chunk, as `preprocess` writes it)
// and read warm (page cache): this measures the library, not the disk.
//   build-x/bench/bench_prefetch [records=512] [batch=32] [workers=2] [depth=3]
#include <hdf5.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <thread>

#include "data/h5.h"
#include "data/hdf5_layout.h"
#include "sharding/epoch_sampler.h"
#include "sharding/hdf5_record_reader.h"
#include "sharding/prefetcher.h"

namespace {

namespace fs = std::filesystem;
namespace layout = ecg::data::layout;
using Clock = std::chrono::steady_clock;
using ecg::data::H5Handle;

constexpr int64_t kSamples = 2500;  // 10 s at 250 Hz
constexpr int64_t kCrop = 2250;     // ST-MEM's 9 s crop

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

void write_file(const std::string& path, int64_t n) {
  H5Handle file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
  ECG_H5_CHECK(file.valid(), "cannot create {}", path);
  hsize_t dims[3] = {static_cast<hsize_t>(n), layout::kNumLeads, kSamples};
  hsize_t chunk[3] = {1, layout::kNumLeads, kSamples};
  H5Handle dcpl(H5Pcreate(H5P_DATASET_CREATE));
  H5Pset_chunk(dcpl, 3, chunk);
  H5Handle space(H5Screate_simple(3, dims, nullptr));
  H5Handle ds(
      H5Dcreate2(file, layout::kSignals, H5T_IEEE_F32LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT));
  std::mt19937 rng(1);
  std::normal_distribution<float> noise(0.0f, 1.0f);
  std::vector<float> record(layout::kNumLeads * kSamples);
  H5Handle mem(H5Screate_simple(3, chunk, nullptr));
  for (int64_t i = 0; i < n; ++i) {
    for (auto& v : record) v = noise(rng);
    hsize_t start[3] = {static_cast<hsize_t>(i), 0, 0};
    H5Sselect_hyperslab(space, H5S_SELECT_SET, start, nullptr, chunk, nullptr);
    ECG_H5_CHECK(H5Dwrite(ds, H5T_NATIVE_FLOAT, mem, space, H5P_DEFAULT, record.data()) >= 0,
                 "write record {}", i);
  }
  std::vector<int64_t> ids(static_cast<size_t>(n));
  std::vector<int8_t> folds(static_cast<size_t>(n), 1);
  hsize_t n1 = static_cast<hsize_t>(n);
  H5Handle s1(H5Screate_simple(1, &n1, nullptr));
  H5Handle id_ds(
      H5Dcreate2(file, layout::kEcgId, H5T_STD_I64LE, s1, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  H5Dwrite(id_ds, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, ids.data());
  H5Handle fold_ds(
      H5Dcreate2(file, layout::kFold, H5T_STD_I8LE, s1, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  H5Dwrite(fold_ds, H5T_NATIVE_INT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, folds.data());
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t n = argc > 1 ? std::atoll(argv[1]) : 512;
  const int64_t batch = argc > 2 ? std::atoll(argv[2]) : 32;
  const int workers = argc > 3 ? std::atoi(argv[3]) : 2;
  const int depth = argc > 4 ? std::atoi(argv[4]) : 3;
  using namespace ecg::sharding;
  try {
    const fs::path dir =
        fs::temp_directory_path() / ("ecg-bench-prefetch-" + std::to_string(getpid()));
    fs::create_directories(dir);
    const std::string path = (dir / "bench.h5").string();
    write_file(path, n);

    std::vector<int64_t> all(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) all[static_cast<size_t>(i)] = i;
    EpochSampler sampler(all, 42, batch, 1, 0);
    const int64_t steps = sampler.steps_per_epoch();
    const double mb = static_cast<double>(steps * batch * layout::kNumLeads * kSamples * 4) / 1e6;
    std::printf("file: %lld records x 12 x %lld float32, batch %lld, %lld steps, %.0f MB/epoch\n",
                static_cast<long long>(n), static_cast<long long>(kSamples),
                static_cast<long long>(batch), static_cast<long long>(steps), mb);

    Hdf5RecordReader reader(path);
    std::vector<float> buf(static_cast<size_t>(batch * reader.record_size()));
    // Warm the page cache, then the two read-only references.
    for (int64_t s = 0; s < steps; ++s) {
      auto items = sampler.batch(s);
      std::vector<int64_t> idx;
      for (auto& it : items) idx.push_back(it.record);
      std::sort(idx.begin(), idx.end());
      reader.read_signals(idx, buf.data());
    }
    auto t0 = Clock::now();
    for (int64_t s = 0; s < steps; ++s)
      for (auto& it : sampler.batch(s)) reader.read_signals({it.record}, buf.data());
    const double per_record = seconds_since(t0);
    t0 = Clock::now();
    for (int64_t s = 0; s < steps; ++s) {
      std::vector<int64_t> idx;
      for (auto& it : sampler.batch(s)) idx.push_back(it.record);
      std::sort(idx.begin(), idx.end());
      reader.read_signals(idx, buf.data());
    }
    const double batched = seconds_since(t0);
    std::printf("read per-record : %7.3f s  %8.0f records/s  %6.0f MB/s  (reference)\n", per_record,
                static_cast<double>(steps * batch) / per_record, mb / per_record);
    std::printf("read batched    : %7.3f s  %8.0f records/s  %6.0f MB/s  ratio %.2fx\n", batched,
                static_cast<double>(steps * batch) / batched, mb / batched, per_record / batched);

    // Synchronous loop: read + crop on the consumer thread, then the compute step.
    auto crop = random_crop_transform();
    std::vector<float> out(static_cast<size_t>(batch * layout::kNumLeads * kCrop));
    std::vector<float> one(static_cast<size_t>(reader.record_size()));
    double load_total = 0.0;
    auto sync_step = [&](int64_t s) {
      auto t = Clock::now();
      auto items = sampler.batch(s);
      std::vector<int64_t> idx;
      for (auto& it : items) idx.push_back(it.record);
      std::sort(idx.begin(), idx.end());
      reader.read_signals(idx, buf.data());
      for (size_t k = 0; k < items.size(); ++k) {
        auto pos = std::lower_bound(idx.begin(), idx.end(), items[k].record) - idx.begin();
        crop(items[k], buf.data() + pos * reader.record_size(), layout::kNumLeads, kSamples,
             out.data() + k * layout::kNumLeads * kCrop, kCrop);
      }
      return seconds_since(t);
    };
    for (int64_t s = 0; s < steps; ++s) load_total += sync_step(s);
    const double compute = load_total / static_cast<double>(steps);  // per-step "compute" time
    t0 = Clock::now();
    for (int64_t s = 0; s < steps; ++s) {
      sync_step(s);
      std::this_thread::sleep_for(std::chrono::duration<double>(compute));
    }
    const double sync_loop = seconds_since(t0);

    PrefetchConfig cfg;
    cfg.crop_samples = kCrop;
    cfg.worker_threads = workers;
    cfg.depth = depth;
    t0 = Clock::now();
    double waited = 0.0;
    {
      Prefetcher prefetcher(path, sampler.batches_from(0), ecg::data::LabelMatrix{}, cfg);
      for (int64_t s = 0; s < steps; ++s) {
        Batch b = prefetcher.next(s);
        std::this_thread::sleep_for(std::chrono::duration<double>(compute));
        prefetcher.recycle(std::move(b));
      }
      waited = prefetcher.total_wait_seconds();
    }
    const double prefetched = seconds_since(t0);
    const double ideal = compute * static_cast<double>(steps);
    std::printf("simulated compute per step: %.2f ms (= one synchronous batch load)\n",
                compute * 1e3);
    std::printf("sync loop       : %7.3f s  (reference; compute alone %.3f s)\n", sync_loop, ideal);
    std::printf(
        "prefetched      : %7.3f s  speed-up %.2fx (ideal %.2fx), data-wait %.3f s = %.1f%% "
        "of the loop (workers %d, depth %d)\n",
        prefetched, sync_loop / prefetched, sync_loop / ideal, waited, 100.0 * waited / prefetched,
        workers, depth);
    fs::remove_all(dir);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_prefetch: %s\n", e.what());
    return 1;
  }
  return 0;
}
