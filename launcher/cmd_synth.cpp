// `ecgdist synth`: write a synthetic PTB-XL directory (see data/synth/synth.h) for demos, tests and
// benchmarks without the real data set.
#include <algorithm>
#include <memory>
#include <string>
#include <thread>

#include "common/error.h"
#include "common/log.h"
#include "data/synth/synth.h"
#include "launcher/command_registry.h"

namespace ecg::launcher {
namespace {

struct SynthCli {
  data::synth::SynthOptions options;
  std::string rates = "both";
  bool no_cover = false;
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
