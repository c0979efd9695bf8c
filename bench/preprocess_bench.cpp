// bench_preprocess: how fast `ecgdist preprocess` turns 500 Hz PTB-XL-shaped records into the
// 250 Hz HDF5 file, against references measured in the same run on the same records:
//   read-only  : read_wfdb_record (+ verification) alone, one thread: the decoding floor
//   write-only : the single HDF5 writer thread storing finished records: the writer's ceiling
//   compute    : RecordProcessor::process (read + filter + resample + normalise), one thread
//   preprocess : the whole command (CSV, labels, workers, writer) with 1 and with N threads
// and the extrapolated time for PTB-XL's 21,799 records.
//   build-x/bench/bench_preprocess [records=300] [threads=hardware]
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>
#include <thread>

#include "common/atomic_file.h"
#include "common/log.h"
#include "data/hdf5_writer.h"
#include "data/preprocess.h"
#include "data/formats/scp_statements.h"
#include "data/formats/wfdb.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::string record_path(int id) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "records500/%05d/%05d_hr", id / 1000 * 1000, id);
  return buf;
}

void make_dataset(const std::string& dir, int n) {
  fs::create_directories(dir);
  ecg::write_file_atomically(dir + "/scp_statements.csv", ecg::data::embedded_scp_statements_csv());
  std::string csv = "ecg_id,patient_id,scp_codes,strat_fold,filename_lr,filename_hr\n";
  const std::vector<std::string> leads = {"I",  "II", "III", "AVR", "AVL", "AVF",
                                          "V1", "V2", "V3",  "V4",  "V5",  "V6"};
  const char* codes[] = {"{'NORM': 100.0, 'SR': 0.0}", "{'IMI': 50.0, 'SR': 0.0}",
                         "{'AFIB': 100.0}", "{'LVH': 100.0, 'SR': 0.0}"};
  std::mt19937 rng(7);
  std::normal_distribution<double> noise(0.0, 20.0);
  for (int id = 1; id <= n; ++id) {
    std::vector<std::vector<int16_t>> adc(12, std::vector<int16_t>(5000));
    for (int s = 0; s < 12; ++s) {
      for (int t = 0; t < 5000; ++t) {
        const double x = t / 500.0;
        const double beat = std::fmod(x * 1.2, 1.0);
        const double v = 900 * std::exp(-0.5 * std::pow((beat - 0.4) / 0.01, 2)) * (s % 3 - 1) +
                         150 * std::exp(-0.5 * std::pow((beat - 0.7) / 0.05, 2)) +
                         100 * std::sin(2 * M_PI * 0.2 * x) + noise(rng);
        adc[static_cast<size_t>(s)][static_cast<size_t>(t)] = static_cast<int16_t>(std::lround(v));
      }
    }
    const std::string rel = record_path(id);
    fs::create_directories(fs::path(dir + "/" + rel).parent_path());
    ecg::data::write_wfdb_record(dir + "/" + rel, 500.0, leads, adc);
    csv += fmt::format("{},{},\"{}\",{},{},{}\n", id, id, codes[id % 4], id % 10 + 1,
                       "records100/x/none_lr", rel);
  }
  ecg::write_file_atomically(dir + "/ptbxl_database.csv", csv);
}

}  // namespace

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 300;
  const int threads = argc > 2
                          ? std::atoi(argv[2])
                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const std::string dir =
      (fs::temp_directory_path() / fs::path("ecg_bench_preprocess_" + std::to_string(::getpid())))
          .string();
  ecg::log::set_level(ecg::log::Level::warn);
  std::printf("bench_preprocess: %d records, 12 leads x 10 s at 500 Hz -> 250 Hz, %d threads\n", n,
              threads);
  make_dataset(dir, n);

  // Reference: decoding + verification only (page cache warm after generation).
  auto t0 = Clock::now();
  for (int id = 1; id <= n; ++id) ecg::data::read_wfdb_record(dir + "/" + record_path(id));
  const double read_rps = n / seconds_since(t0);

  // Reference: the HDF5 writer thread alone.
  std::vector<float> fake(12 * 2500, 0.5f);
  t0 = Clock::now();
  {
    ecg::data::PreprocessedH5Writer w(dir + "/write_only.h5", static_cast<size_t>(n), 2500);
    for (int i = 0; i < n; ++i) w.write_signal(static_cast<size_t>(i), fake);
  }
  const double write_rps = n / seconds_since(t0);

  ecg::data::PreprocessOptions o;
  o.input_dir = dir;
  o.sampling_rate = 500;
  o.target_rate = 250;
  {
    ecg::data::RecordProcessor proc(o);
    t0 = Clock::now();
    for (int id = 1; id <= n; ++id) proc.process(dir + "/" + record_path(id));
  }
  const double compute_rps = n / seconds_since(t0);

  o.out_path = dir + "/out1.h5";
  o.threads = 1;
  const auto s1 = ecg::data::preprocess(o);
  o.out_path = dir + "/outN.h5";
  o.threads = threads;
  const auto sn = ecg::data::preprocess(o);
  const double rps1 = s1.records_written / s1.seconds, rpsn = sn.records_written / sn.seconds;

  std::printf("  read-only (1 thread)          : %8.0f records/s  (reference)\n", read_rps);
  std::printf("  HDF5 write-only (1 thread)    : %8.0f records/s  (writer ceiling)\n", write_rps);
  std::printf("  compute per record (1 thread) : %8.0f records/s  = %.2f x read-only\n",
              compute_rps, compute_rps / read_rps);
  std::printf("  preprocess --threads 1        : %8.0f records/s  = %.2f x read-only\n", rps1,
              rps1 / read_rps);
  std::printf("  preprocess --threads %-2d       : %8.0f records/s  = %.2f x --threads 1\n",
              threads, rpsn, rpsn / rps1);
  std::printf("  full PTB-XL (21799 records) at --threads %d: ~%.0f s\n", threads, 21799 / rpsn);
  std::error_code ignored;
  fs::remove_all(dir, ignored);
  return 0;
}
