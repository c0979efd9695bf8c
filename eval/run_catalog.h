// The finished runs under some folders, each placed in the paper's grid: task, variant (the
// recipes and the paper's ablations), training fraction and seed. `ecgdist sweep` collects its
// cells with it and `ecgdist report` draws its figures from it, so a sweep's folder and a handful
// of hand-made run folders are read the same way.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace ecg::eval {

// The paper's recipes and ablations (Zhou et al. 2025, Figure 5):
//   fine_tune     baseline: `--recipe fine-tune`, no stochastic depth
//   post_train    linear probing, then fine-tuning with stochastic depth
//   wo_sd         post-train without stochastic depth (`--drop-path 0`)
//   wo_lp         post-train without linear probing (`--lp-epochs 0`, or fine-tune with drop-path > 0)
//   linear_probe  head only
enum class Variant { fine_tune, post_train, wo_sd, wo_lp, linear_probe };

// "fine-tune", "post-train", "wo-sd", "wo-lp", "linear-probe" (sweep files, folder names, CSV).
const char* variant_name(Variant variant);
// Throws (one line naming `field`) on an unknown name.
Variant parse_variant(const std::string& name, const std::string& field);
// The name the figures and tables show: "fine-tune", "post-train", "w/o SD", "w/o LP", "linear probe".
const char* variant_title(Variant variant);

// The variant a run's results.json settings describe (recipe, lp_epochs, drop_path). Throws,
// naming the file, when the settings lack a field.
Variant classify_variant(const nlohmann::json& settings, const std::string& file);

// One finished run (a folder holding results.json).
struct CatalogRun {
  std::string dir;
  std::string task;
  Variant variant = Variant::fine_tune;
  double fraction = 1.0;  // settings.train_fraction
  uint64_t seed = 0;      // settings.seed
  nlohmann::json results;
};

// Every folder at or under each of `roots` that holds a results.json, sorted by (task, variant,
// fraction, seed, dir). A folder with sweep_cell.json takes its variant from there (the sweep
// knows what it asked for); others are classified from results.json. Unreadable JSON throws,
// naming the file; a missing root throws naming it.
std::vector<CatalogRun> find_runs(const std::vector<std::string>& roots);

}  // namespace ecg::eval
