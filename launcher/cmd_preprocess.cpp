// `ecgdist preprocess`: a PTB-XL release or PhysioNet/CinC Challenge folders -> one HDF5 file (see
// data/preprocess.h, docs/datasets.md and docs/hdf5-layout.md).
#include <map>
#include <thread>

#include "common/error.h"

#include "common/log.h"
#include "data/preprocess.h"
#include "launcher/command_registry.h"

namespace ecg::launcher {
namespace {

const RegisterCommand kRegisterPreprocess{CommandSpec{
    "preprocess",
    "Read a PTB-XL release, PhysioNet/CinC Challenge folders, CODE-15% or any WFDB folder (or "
    "several merged) and write one HDF5 file: filtered, resampled, normalised 12-lead signals, "
    "ids, folds, task labels",
    20, [](CLI::App& sub) -> std::function<int()> {
      auto opts = std::make_shared<data::PreprocessOptions>();
      opts->threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
      const std::map<std::string, data::DataSource> sources = {
          {"ptbxl", data::DataSource::kPtbxl},
          {"challenge", data::DataSource::kChallenge},
          {"code15", data::DataSource::kCode15},
          {"wfdb", data::DataSource::kWfdb}};
      sub.add_option("--source", opts->source,
                     "ptbxl: a PTB-XL release; challenge: PhysioNet/CinC Challenge 2020/2021 "
                     "folders (WFDB headers with #Dx, .mat signals); code15: CODE-15% "
                     "(exams_part*.hdf5 + exams.csv); wfdb: any WFDB folder (RECORDS or a "
                     "recursive scan), unlabelled or with --labels (default: ptbxl; docs/datasets.md)")
          ->transform(CLI::CheckedTransformer(sources));
      auto merge = std::make_shared<std::vector<std::string>>();
      auto* merge_opt = sub.add_option(
          "--merge", *merge,
          "SOURCE=DIR, repeated: several sources into one pretraining file (records keep their "
          "origin; no tasks)");
      sub.add_option("--labels", opts->labels_csv,
                     "wfdb: CSV of record,labels[,patient][,fold] (labels ';'-separated) naming the "
                     "records to read and their classes");
      sub.add_option("--labels-task", opts->labels_task,
                     "wfdb: the task name the --labels classes are stored as (default: labels)");
      auto* input = sub.add_option("--input", opts->input_dir, "the source's directory");
      auto* ptbxl = sub.add_option("--ptbxl", opts->input_dir,
                                   "PTB-XL directory (holds ptbxl_database.csv); the same as "
                                   "--source ptbxl --input DIR");
      input->excludes(ptbxl);
      merge_opt->excludes(input)->excludes(ptbxl);
      sub.add_option("--snomed-task", opts->snomed_tasks,
                     "challenge: one more task over SNOMED CT codes, NAME=CODE[|CODE],CODE... "
                     "('|' joins codes counted as one class); repeatable")
          ->take_all();
      sub.add_option("--out", opts->out_path, "output HDF5 file (written atomically)")->required();
      sub.add_option("--sampling-rate", opts->sampling_rate,
                     "records to read: 100 (filename_lr) or 500 (filename_hr)")
          ->check(CLI::IsMember({100, 500}));
      sub.add_option("--target-rate", opts->target_rate, "sampling rate stored in the file (Hz)")
          ->check(CLI::Range(50, 2000));
      sub.add_option("--duration", opts->duration_s,
                     "seconds kept from the start of each record; shorter records are refused "
                     "(default: 10; CODE-15%'s 7 s exams need --duration 7)")
          ->check(CLI::Range(1.0, 600.0));
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
      return [opts, input, ptbxl, merge, sources] {
        for (const auto& spec : *merge) {
          const auto eq = spec.find('=');
          const auto kind = eq == std::string::npos ? sources.end() : sources.find(spec.substr(0, eq));
          ECG_CHECK(kind != sources.end() && eq + 1 < spec.size(),
                    "--merge '{}': expected SOURCE=DIR with SOURCE one of ptbxl, challenge, code15, wfdb",
                    spec);
          opts->merge.push_back({kind->second, spec.substr(eq + 1)});
        }
        ECG_CHECK(opts->merge.empty() || opts->merge.size() >= 2,
                  "--merge needs two or more sources (for one, use --source and --input)");
        ECG_CHECK(*input || *ptbxl || !opts->merge.empty(),
                  "preprocess: give --input DIR (or --ptbxl DIR, or --merge SOURCE=DIR ...)");
        ECG_CHECK(opts->labels_csv.empty() || opts->source == data::DataSource::kWfdb,
                  "preprocess: --labels needs --source wfdb");
        ECG_CHECK(!*ptbxl || opts->source == data::DataSource::kPtbxl,
                  "preprocess: --ptbxl reads a PTB-XL release; use --input with --source {}",
                  data::source_name(opts->source));
        ECG_CHECK(opts->snomed_tasks.empty() || opts->source == data::DataSource::kChallenge,
                  "preprocess: --snomed-task needs --source challenge");
        ECG_CHECK(opts->merge.empty() || (opts->labels_csv.empty() && opts->snomed_tasks.empty()),
                  "preprocess: --merge writes pretraining data without tasks; --labels and "
                  "--snomed-task do not apply");
        const auto summary = data::preprocess(*opts);
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
