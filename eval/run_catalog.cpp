#include "eval/run_catalog.h"

#include <algorithm>
#include <filesystem>
#include <optional>
#include <set>
#include <tuple>

#include "common/error.h"
#include "common/json_integer.h"
#include "eval/run_files.h"

namespace ecg::eval {
namespace {

namespace fs = std::filesystem;

struct VariantNames {
  Variant variant;
  const char* name;
  const char* title;
};
constexpr VariantNames kVariants[] = {
    {Variant::fine_tune, "fine-tune", "fine-tune"},
    {Variant::post_train, "post-train", "post-train"},
    {Variant::wo_sd, "wo-sd", "w/o SD"},
    {Variant::wo_lp, "wo-lp", "w/o LP"},
    {Variant::linear_probe, "linear-probe", "linear probe"},
};

const VariantNames& names_of(Variant variant) {
  for (const auto& v : kVariants)
    if (v.variant == variant) return v;
  ECG_FAIL("unknown variant {}", static_cast<int>(variant));
}

// settings[field] as a number; a missing or non-numeric field is an error naming the file.
double number_field(const nlohmann::json& settings, const char* field, const std::string& file) {
  ECG_CHECK(settings.contains(field) && settings.at(field).is_number(),
            "{}: settings.{} missing or not a number (needed to place the run in the report's grid)", file, field);
  return settings.at(field).get<double>();
}

// A results.json that is not a fine-tuning run's (pretrain's `kind: pretraining`) sits in the
// same trees; it belongs to no cell of the grid.
bool is_train_results(const nlohmann::json& results) {
  return !(results.contains("kind") && results.at("kind") == "pretraining");
}

std::optional<CatalogRun> read_catalog_run(const fs::path& dir) {
  const std::string results_path = (dir / "results.json").string();
  CatalogRun run;
  run.dir = dir.string();
  run.results = read_run_json(run.dir, RunFile::results_json);
  ECG_CHECK(run.results.is_object(), "{}: expected a JSON object", results_path);
  if (!is_train_results(run.results)) return std::nullopt;
  ECG_CHECK(run.results.contains("task") && run.results.at("task").is_string(), "{}: no 'task' string",
            results_path);
  ECG_CHECK(run.results.contains("settings") && run.results.at("settings").is_object(), "{}: no 'settings' object",
            results_path);
  run.task = run.results.at("task").get<std::string>();
  const nlohmann::json& settings = run.results.at("settings");
  run.fraction = number_field(settings, "train_fraction", results_path);
  const std::optional<int64_t> seed =
      settings.contains("seed") ? json_integer_in(settings.at("seed"), 0, kMaxExactJsonInteger) : std::nullopt;
  ECG_CHECK(seed.has_value(), "{}: settings.seed must be an integer in [0, {}]", results_path, kMaxExactJsonInteger);
  run.seed = static_cast<uint64_t>(*seed);

  const fs::path cell = dir / "sweep_cell.json";
  if (fs::exists(cell)) {
    // The sweep knows what it asked for: "fine-tune" with drop_path > 0 could be w/o LP or a
    // mistake, so its own record of the cell wins over the settings' reading.
    const nlohmann::json c = read_run_json(run.dir, RunFile::sweep_cell_json);
    ECG_CHECK(c.is_object() && c.contains("variant") && c.at("variant").is_string(),
              "{}: no 'variant' string", cell.string());
    run.variant = parse_variant(c.at("variant").get<std::string>(), cell.string() + ": variant");
  } else {
    run.variant = classify_variant(settings, results_path);
  }
  return run;
}

}  // namespace

const char* variant_name(Variant variant) { return names_of(variant).name; }
const char* variant_title(Variant variant) { return names_of(variant).title; }

Variant parse_variant(const std::string& name, const std::string& field) {
  for (const auto& v : kVariants)
    if (name == v.name) return v.variant;
  ECG_FAIL("{}: unknown variant '{}' (expected fine-tune, post-train, wo-sd, wo-lp or linear-probe)", field, name);
}

Variant classify_variant(const nlohmann::json& settings, const std::string& file) {
  ECG_CHECK(settings.is_object(), "{}: settings must be an object", file);
  ECG_CHECK(settings.contains("recipe") && settings.at("recipe").is_string(), "{}: settings.recipe missing", file);
  const std::string recipe = settings.at("recipe").get<std::string>();
  if (recipe == "linear-probe") return Variant::linear_probe;
  ECG_CHECK(recipe == "fine-tune" || recipe == "post-train",
            "{}: settings.recipe '{}' is none of post-train, fine-tune, linear-probe", file, recipe);
  double drop_path = number_field(settings, "drop_path", file);
  // A negative drop_path is the CLI's "recipe default" (0.1 for post-train, 0 otherwise); results
  // store the resolved value, but an older or hand-made file may not.
  if (drop_path < 0) drop_path = recipe == "post-train" ? 0.1 : 0.0;
  if (recipe == "fine-tune") return drop_path > 0 ? Variant::wo_lp : Variant::fine_tune;
  if (number_field(settings, "lp_epochs", file) == 0) return Variant::wo_lp;
  if (drop_path == 0) return Variant::wo_sd;
  return Variant::post_train;
}

std::vector<CatalogRun> find_runs(const std::vector<std::string>& roots) {
  std::vector<CatalogRun> runs;
  std::set<std::string> seen;
  for (const std::string& root : roots) {
    std::error_code ec;
    ECG_CHECK(fs::is_directory(root, ec), "{}: no such folder", root);
    std::vector<fs::path> dirs{fs::path(root)};
    // Not following directory links: a link back up the tree would loop forever.
    for (fs::recursive_directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec))
      if (it->is_directory(ec)) dirs.push_back(it->path());
    ECG_CHECK(!ec, "{}: cannot list ({})", root, ec.message());
    for (const fs::path& dir : dirs) {
      if (!fs::is_regular_file(dir / "results.json")) continue;
      // The same folder reached twice (a run and the sweep holding it both given) is one run.
      if (!seen.insert(fs::weakly_canonical(dir).string()).second) continue;
      if (auto run = read_catalog_run(dir)) runs.push_back(std::move(*run));
    }
  }
  std::sort(runs.begin(), runs.end(), [](const CatalogRun& a, const CatalogRun& b) {
    return std::tie(a.task, a.variant, a.fraction, a.seed, a.dir) < std::tie(b.task, b.variant, b.fraction, b.seed, b.dir);
  });
  return runs;
}

}  // namespace ecg::eval
