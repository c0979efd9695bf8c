// `ecgdist synth`: write a synthetic PTB-XL directory (see data/synth/synth.h) for demos, tests and
// benchmarks without the real data set.
#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "common/error.h"
#include "common/log.h"
#include "data/synth/synth.h"
#include "data/synth/synth_challenge.h"
#include "data/synth/synth_code15.h"
#include "data/synth/synth_wfdb_folder.h"
#include "data/code15_parts.h"
#include "launcher/command_registry.h"

namespace ecg::launcher {
namespace {

struct SynthCli {
  data::synth::SynthOptions options;
  std::string rates = "both";
  bool no_cover = false;
  std::string format = "ptbxl";
};

const RegisterCommand kRegisterSynth{CommandSpec{
    "synth",
    "Write a synthetic PTB-XL directory (ptbxl_database.csv, scp_statements.csv, WFDB records) "
    "whose ECG signals depend on their SCP labels",
    10, [](CLI::App& sub) -> std::function<int()> {
      auto cli = std::make_shared<SynthCli>();
      cli->options.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
      sub.add_option("--out", cli->options.out_dir, "output directory (created if missing)")
          ->required();
      sub.add_option("--records", cli->options.records, "number of records (ecg_id 1..N)");
      sub.add_option("--format", cli->format,
                     "ptbxl: a PTB-XL release (default); challenge: PhysioNet/CinC Challenge "
                     "2020/2021 folders (cpsc_2018/, ningbo/, incart/: WFDB headers with "
                     "#Age/#Sex/#Dx and .mat signals at 500 and 257 Hz); code15: CODE-15% "
                     "(exams_part*.hdf5 of 7 s and 10 s exams at 400 Hz + exams.csv); wfdb: a WFDB "
                     "folder (ward*/, RECORDS, labels.csv) (docs/datasets.md)");
      sub.add_option("--sampling-rate", cli->rates,
                     "records to write: 100 (records100), 500 (records500) or both");
      sub.add_option("--seed", cli->options.seed,
                     "random seed; output is a function of seed, records and rates only");
      sub.add_option(
          "--threads", cli->options.threads,
          "generator threads (default: hardware threads; changes speed, never the output)");
      sub.add_flag("--no-cover-all-codes", cli->no_cover,
                   "do not force the round-robin codes that make >= 497 records hold all 71 "
                   "SCP statements");
      return [cli] {
        auto& o = cli->options;
        // Checked here (not by CLI11 validators) so that the error is one ecg::Error line.
        ECG_CHECK(cli->rates == "100" || cli->rates == "500" || cli->rates == "both",
                  "--sampling-rate must be 100, 500 or both, got '{}'", cli->rates);
        ECG_CHECK(o.records > 0, "--records must be > 0, got {}", o.records);
        ECG_CHECK(o.threads >= 1, "--threads must be >= 1, got {}", o.threads);
        ECG_CHECK(cli->format == "ptbxl" || cli->format == "challenge" ||
                      cli->format == "code15" || cli->format == "wfdb",
                  "--format must be ptbxl, challenge, code15 or wfdb, got '{}'", cli->format);
        if (cli->format != "ptbxl") {
          const auto t0 = std::chrono::steady_clock::now();
          if (cli->format == "challenge") {
            data::synth::write_synthetic_challenge(o);
          } else if (cli->format == "wfdb") {
            data::synth::write_synthetic_wfdb_folder(o);
          } else {
            // 25 exams a part: small parts, so that tests cross part boundaries.
            const auto rows = data::synth::plan_database(o);
            data::write_code15_files(o.out_dir, rows.size(), 25, [&](size_t i) {
              return data::synth::synth_code15_exam(o, rows[i], static_cast<int>(i));
            });
          }
          ecg::log::info("synth: wrote {} records in the {} layout to {} in {:.2f} s", o.records,
                         cli->format, o.out_dir,
                         std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
          return 0;
        }
        o.write_100hz = cli->rates != "500";
        o.write_500hz = cli->rates != "100";
        o.cover_all_codes = !cli->no_cover;
        const auto summary = data::synth::write_synthetic_ptbxl(o);
        ecg::log::info(
            "synth: wrote {} records of {} patients ({} Hz) to {} in {:.2f} s ({:.0f} "
            "records/s)",
            summary.records, summary.patients, cli->rates, o.out_dir, summary.seconds,
            summary.records / std::max(summary.seconds, 1e-9));
        return 0;
      };
    }}};

}  // namespace
}  // namespace ecg::launcher
