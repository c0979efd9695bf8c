#include "experiments/sweep/sweep_grid.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "common/error.h"
#include "common/json_integer.h"
#include "data/formats/csv_table.h"
#include "data/dataset_info.h"
#include "data/hdf5_layout.h"

namespace fs = std::filesystem;

namespace ecg::sweep {
namespace {

using nlohmann::json;

const std::set<std::string> kFields = {"data",  "tasks", "variants", "fractions",  "seeds",
                                       "model", "init",  "ranks",    "threads", "train_args",
                                       "drop_path", "lp_epochs"};

// The launcher owns these (each cell's folder, threads, resumption); a grid that sets them would
// make cells overwrite each other or fight over cores.
const std::set<std::string> kLauncherFlags = {"--out", "--resume", "--threads", "--data", "--task",
                                              "--recipe", "--train-fraction", "--seed", "--model", "--init",
                                              "--drop-path", "--lp-epochs"};

// A path in the grid is relative to the grid file's folder (the same file then works from any
// working directory, and on every node of a cluster).
std::string resolve(const std::string& grid_file, const std::string& path) {
  if (path.empty() || fs::path(path).is_absolute()) return path;
  const fs::path folder = fs::absolute(fs::path(grid_file)).parent_path();
  return (folder / path).lexically_normal().string();
}

template <typename T>
std::vector<T> list_field(const json& j, const std::string& file, const char* field, std::vector<T> fallback) {
  if (!j.contains(field)) return fallback;
  const json& v = j.at(field);
  ECG_CHECK(v.is_array() && !v.empty(), "{}: field {} must be a non-empty list", file, field);
  std::vector<T> out;
  for (const json& item : v) {
    try {
      out.push_back(item.get<T>());
    } catch (const json::exception&) {
      ECG_FAIL("{}: field {} has an entry of the wrong type: {}", file, field, item.dump());
    }
  }
  return out;
}

// An integer field in [lo, hi]. nlohmann's get<int>() would wrap 4294967297 to 1 and get<uint64_t>()
// -1 to 18446744073709551615, so the range is checked on the JSON number itself.
int64_t integer_in(const json& v, int64_t lo, int64_t hi, const std::string& file, const std::string& field) {
  const std::optional<int64_t> value = json_integer_in(v, lo, hi);
  ECG_CHECK(value.has_value(), "{}: field {}: {} is not an integer in [{}, {}]", file, field, v.dump(), lo, hi);
  return *value;
}

std::vector<double> default_fractions() {
  std::vector<double> f;
  for (int i = 1; i <= 10; ++i) f.push_back(i / 10.0);
  return f;
}

// The recipe and flags that make a variant (eval::Variant's meaning; docs/training.md).
void variant_recipe(eval::Variant v, std::string* recipe, std::vector<std::string>* flags) {
  switch (v) {
    case eval::Variant::fine_tune: *recipe = "fine-tune"; break;
    case eval::Variant::post_train: *recipe = "post-train"; break;
    case eval::Variant::wo_sd: *recipe = "post-train", *flags = {"--drop-path", "0"}; break;
    case eval::Variant::wo_lp: *recipe = "post-train", *flags = {"--lp-epochs", "0"}; break;
    case eval::Variant::linear_probe: *recipe = "linear-probe"; break;
  }
}

}  // namespace

std::string fraction_text(double fraction) { return fmt::format("{:g}", fraction); }

SweepGrid parse_grid(const std::string& path, const std::string& text, size_t max_cells) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    ECG_FAIL("{}: not JSON ({})", path, e.what());
  }
  ECG_CHECK(j.is_object(), "{}: a sweep grid is a JSON object", path);
  for (const auto& item : j.items()) {
    ECG_CHECK(kFields.count(item.key()), "{}: unknown field {} (known: data, tasks, variants, fractions, seeds, "
              "model, init, drop_path, lp_epochs, ranks, threads, train_args)", path, item.key());
  }
  SweepGrid g;
  g.file = path;
  ECG_CHECK(j.contains("data") && j["data"].is_string() && !j["data"].get<std::string>().empty(),
            "{}: field data (the preprocessed HDF5 file) is required", path);
  g.data = resolve(path, j["data"].get<std::string>());

  ECG_CHECK(j.contains("tasks"), "{}: field tasks is required", path);
  g.tasks = list_field<std::string>(j, path, "tasks", {});
  // A task is a label set stored in the data file (PTB-XL's six, a Challenge file's dx/scored, a
  // user's): names other than PTB-XL's must be in the file when it can be read now (a grid may
  // be written before its data exists, then `train` checks each cell).
  std::vector<std::string> in_file;
  for (const std::string& t : g.tasks) {
    if (std::find(data::layout::kTasks.begin(), data::layout::kTasks.end(), t) != data::layout::kTasks.end())
      continue;
    if (in_file.empty() && std::filesystem::exists(g.data)) in_file = data::read_dataset_info(g.data).tasks;
    std::string present;
    for (const auto& f : in_file) present += (present.empty() ? "" : "|") + f;
    ECG_CHECK(std::find(in_file.begin(), in_file.end(), t) != in_file.end(),
              "{}: field tasks: unknown task {} (PTB-XL: all|diagnostic|subdiagnostic|superdiagnostic|form|rhythm; "
              "{}: {})",
              path, t, g.data, present.empty() ? "not readable now" : present);
  }
  for (const std::string& v : list_field<std::string>(j, path, "variants",
                                                      {"fine-tune", "post-train", "wo-sd", "wo-lp"})) {
    g.variants.push_back(eval::parse_variant(v, path + ": field variants"));
  }
  g.fractions = list_field<double>(j, path, "fractions", default_fractions());
  for (double f : g.fractions) {
    ECG_CHECK(f > 0 && f <= 1, "{}: field fractions: {} is not in (0, 1]", path, f);
  }
  if (j.contains("seeds")) {
    ECG_CHECK(j["seeds"].is_array() && !j["seeds"].empty(), "{}: field seeds must be a non-empty list", path);
    for (const json& s : j["seeds"]) g.seeds.push_back(static_cast<uint64_t>(integer_in(s, 0, kMaxSeed, path, "seeds")));
  } else {
    g.seeds = {0};
  }
  // The product is checked before any cell exists: a grid of a million cells would otherwise
  // take a gigabyte and write a hundred thousand folders before anyone is told.
  const double cells = static_cast<double>(g.tasks.size()) * static_cast<double>(g.variants.size()) *
                       static_cast<double>(g.fractions.size()) * static_cast<double>(g.seeds.size());
  ECG_CHECK(cells <= static_cast<double>(max_cells),
            "{}: the grid has {:.0f} cells (tasks x variants x fractions x seeds), more than the limit of {}; "
            "pass --max-cells N to allow more", path, cells, max_cells);
  const auto check_unique = [&](auto values, const char* field) {
    std::sort(values.begin(), values.end());
    ECG_CHECK(std::adjacent_find(values.begin(), values.end()) == values.end(),
              "{}: field {} lists a value twice (two cells would share a folder)", path, field);
  };
  check_unique(g.tasks, "tasks");
  // Fractions are compared as their folder names (frac-<f>, 6 significant digits): 0.1 and
  // 0.1000001 would otherwise be two cells training into one folder.
  std::vector<std::string> fraction_names;
  for (double f : g.fractions) fraction_names.push_back(fraction_text(f));
  check_unique(fraction_names, "fractions (compared as the folder names frac-<f>, 6 significant digits)");
  check_unique(g.seeds, "seeds");
  std::vector<int> variant_ids;
  for (auto v : g.variants) variant_ids.push_back(static_cast<int>(v));
  check_unique(variant_ids, "variants");

  const auto string_field = [&](const char* field) -> std::string {
    if (!j.contains(field)) return "";
    ECG_CHECK(j[field].is_string(), "{}: field {} must be a string", path, field);
    return j[field].get<std::string>();
  };
  g.model = string_field("model");
  g.init = resolve(path, string_field("init"));
  const auto count_field = [&](const char* field) -> int {
    if (!j.contains(field)) return 1;
    return static_cast<int>(integer_in(j[field], 1, 4096, path, field));
  };
  if (j.contains("drop_path")) {
    ECG_CHECK(j["drop_path"].is_number() && j["drop_path"].get<double>() > 0 && j["drop_path"].get<double>() < 1,
              "{}: field drop_path must be in (0, 1) (the w/o SD variant is the one without)", path);
    g.drop_path = j["drop_path"].get<double>();
  }
  if (j.contains("lp_epochs")) {
    // 1..1000: the w/o LP variant is the one without; no schedule runs a thousand probing epochs.
    g.lp_epochs = static_cast<int>(integer_in(j["lp_epochs"], 1, 1000, path, "lp_epochs"));
  }
  g.ranks = count_field("ranks");
  g.threads = count_field("threads");
  g.train_args = list_field<std::string>(j, path, "train_args", {});
  for (const std::string& a : g.train_args) {
    const std::string flag = a.substr(0, a.find('='));
    ECG_CHECK(!kLauncherFlags.count(flag), "{}: field train_args: {} belongs to the sweep (use the grid's fields "
              "data, tasks, fractions, seeds, model, init, drop_path, lp_epochs; the sweep sets --out, --resume, "
              "--threads)", path, flag);
  }
  return g;
}

SweepGrid read_grid(const std::string& path, size_t max_cells) {
  return parse_grid(path, data::read_text_file_bounded(path, kMaxGridBytes, "sweep grid"), max_cells);
}

std::vector<SweepCell> grid_cells(const SweepGrid& grid, const std::string& root) {
  std::vector<SweepCell> cells;
  cells.reserve(grid.tasks.size() * grid.variants.size() * grid.fractions.size() * grid.seeds.size());
  for (const std::string& task : grid.tasks) {
    for (eval::Variant variant : grid.variants) {
      for (double fraction : grid.fractions) {
        for (uint64_t seed : grid.seeds) {
          SweepCell c;
          c.index = cells.size();
          c.task = task;
          c.variant = variant;
          c.fraction = fraction;
          c.seed = seed;
          variant_recipe(variant, &c.recipe, &c.variant_flags);
          c.dir = (fs::path(root) / task / eval::variant_name(variant) /
                   ("frac-" + fraction_text(fraction)) / ("seed-" + std::to_string(seed)))
                      .string();
          c.train_args = {"--data", grid.data, "--task", task, "--recipe", c.recipe};
          c.train_args.insert(c.train_args.end(), c.variant_flags.begin(), c.variant_flags.end());
          c.train_args.insert(c.train_args.end(), {"--train-fraction", fraction_text(fraction), "--seed",
                                                   std::to_string(seed)});
          const bool has_sd = variant == eval::Variant::post_train || variant == eval::Variant::wo_lp;
          const bool has_lp = variant == eval::Variant::post_train || variant == eval::Variant::wo_sd;
          if (has_sd && grid.drop_path > 0) {
            c.train_args.insert(c.train_args.end(), {"--drop-path", fmt::format("{:g}", grid.drop_path)});
          }
          if (has_lp && grid.lp_epochs > 0) {
            c.train_args.insert(c.train_args.end(), {"--lp-epochs", std::to_string(grid.lp_epochs)});
          }
          if (!grid.model.empty()) c.train_args.insert(c.train_args.end(), {"--model", grid.model});
          if (!grid.init.empty()) c.train_args.insert(c.train_args.end(), {"--init", grid.init});
          c.train_args.insert(c.train_args.end(), grid.train_args.begin(), grid.train_args.end());
          cells.push_back(std::move(c));
        }
      }
    }
  }
  return cells;
}

}  // namespace ecg::sweep
