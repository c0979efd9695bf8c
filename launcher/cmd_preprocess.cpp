// `ecgdist preprocess`: PTB-XL directory -> one HDF5 file (see data/preprocess.h and
// docs/hdf5-layout.md).
#include <thread>

#include "common/log.h"
#include "data/preprocess.h"
#include "launcher/command_registry.h"

namespace ecg::launcher {
namespace {

const RegisterCommand kRegisterPreprocess{CommandSpec{
    "preprocess",
    "Read a PTB-XL directory (ptbxl_database.csv, scp_statements.csv, WFDB records) and write one "
    "HDF5 file: filtered, resampled, normalised 12-lead signals, ids, folds, task labels",
    20, [](CLI::App& sub) -> std::function<int()> {
      auto opts = std::make_shared<data::PreprocessOptions>();
      opts->threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
      sub.add_option("--ptbxl", opts->ptbxl_dir, "PTB-XL directory (holds ptbxl_database.csv)")
          ->required();
      sub.add_option("--out", opts->out_path, "output HDF5 file (written atomically)")->required();
      sub.add_option("--sampling-rate", opts->sampling_rate,
                     "records to read: 100 (filename_lr) or 500 (filename_hr)")
          ->check(CLI::IsMember({100, 500}));
      sub.add_option("--target-rate", opts->target_rate, "sampling rate stored in the file (Hz)")
          ->check(CLI::Range(50, 2000));
      sub.add_flag("--filter,!--no-filter", opts->filter,
                   "zero-phase 0.67-40 Hz band-pass at the source rate (default: --filter)");
      sub.add_option("--normalize", opts->normalize,
                     "record: z-score over all leads and samples of a record; none")
          ->check(CLI::IsMember({"record", "none"}));
      sub.add_option("--threads", opts->threads,
                     "decoding/filtering/resampling threads (default: hardware threads)")
          ->check(CLI::PositiveNumber);
      sub.add_flag("--skip-bad-records", opts->skip_bad_records,
                   "skip (and count) records that fail to read or verify instead of stopping "
                   "(default: off)");
      return [opts] {
        const auto summary = data::preprocess_ptbxl(*opts);
        log::info("preprocess: wrote {} records to {} in {:.1f} s ({:.0f} records/s); {} skipped",
                  summary.records_written, opts->out_path, summary.seconds,
                  summary.records_written / std::max(summary.seconds, 1e-9),
                  summary.records_skipped);
        for (const auto& line : summary.skipped) log::warn("skipped: {}", line);
        return 0;
      };
    }}};

}  // namespace
}  // namespace ecg::launcher
