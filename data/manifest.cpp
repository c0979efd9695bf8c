#include "data/manifest.h"

#include <cmath>

#include "common/error.h"
#include "data/h5.h"
#include "data/hdf5_layout.h"

namespace ecg::data {
namespace {

template <typename T>
void get_field(const nlohmann::json& j, const char* name, T& out, const std::string& source) {
  ECG_CHECK(j.contains(name), "{}: preprocessing manifest lacks field '{}'", source, name);
  try {
    out = j.at(name).get<T>();
  } catch (const nlohmann::json::exception& e) {
    ECG_FAIL("{}: preprocessing manifest field '{}': {}", source, name, e.what());
  }
}

std::string filter_text(const Manifest& m) {
  if (!m.filter) return "none";
  return fmt::format("{}-{} Hz ({})", m.filter_low_hz, m.filter_high_hz, m.filter_method);
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ",") + x;
  return s;
}

}  // namespace

nlohmann::json to_json(const Manifest& m) {
  nlohmann::json j;
  to_json(j, m);
  return j;
}

void to_json(nlohmann::json& j, const Manifest& m) {
  j = nlohmann::json{{"format_version", m.format_version},
                     {"source_rate", m.source_rate},
                     {"target_rate", m.target_rate},
                     {"resampler", m.resampler},
                     {"filter", m.filter},
                     {"filter_low_hz", m.filter_low_hz},
                     {"filter_high_hz", m.filter_high_hz},
                     {"filter_method", m.filter_method},
                     {"normalization", m.normalization},
                     {"leads", m.leads},
                     {"duration_s", m.duration_s},
                     {"n_samples", m.n_samples},
                     {"crop", m.crop},
                     {"order", m.order}};
}

Manifest manifest_from_json(const nlohmann::json& j, const std::string& source) {
  ECG_CHECK(j.is_object(), "{}: preprocessing manifest is not a JSON object", source);
  Manifest m;
  get_field(j, "format_version", m.format_version, source);
  get_field(j, "source_rate", m.source_rate, source);
  get_field(j, "target_rate", m.target_rate, source);
  get_field(j, "resampler", m.resampler, source);
  get_field(j, "filter", m.filter, source);
  get_field(j, "filter_low_hz", m.filter_low_hz, source);
  get_field(j, "filter_high_hz", m.filter_high_hz, source);
  get_field(j, "filter_method", m.filter_method, source);
  get_field(j, "normalization", m.normalization, source);
  get_field(j, "leads", m.leads, source);
  get_field(j, "duration_s", m.duration_s, source);
  get_field(j, "n_samples", m.n_samples, source);
  get_field(j, "crop", m.crop, source);
  get_field(j, "order", m.order, source);
  return m;
}

void from_json(const nlohmann::json& j, Manifest& m) {
  m = manifest_from_json(j, "manifest");
}

Manifest read_manifest(const std::string& h5_path) {
  H5Handle file = h5_open_file_readonly(h5_path);
  const std::string text = h5_read_attribute_string(file, layout::kManifestAttr, h5_path);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    ECG_FAIL("{}: attribute '{}' is not valid JSON: {}", h5_path, layout::kManifestAttr, e.what());
  }
  return manifest_from_json(j, h5_path);
}

std::string describe_mismatch(const Manifest& a, const Manifest& b) {
  std::vector<std::string> diffs;
  if (a.target_rate != b.target_rate || a.source_rate != b.source_rate) {
    diffs.push_back(fmt::format("rate {} Hz (from {} Hz) vs {} Hz (from {} Hz)", a.target_rate,
                                a.source_rate, b.target_rate, b.source_rate));
  }
  if (a.leads != b.leads) {
    diffs.push_back(fmt::format("leads [{}] vs [{}]", join(a.leads), join(b.leads)));
  }
  const bool filter_differs =
      a.filter != b.filter || (a.filter && (std::abs(a.filter_low_hz - b.filter_low_hz) > 1e-9 ||
                                            std::abs(a.filter_high_hz - b.filter_high_hz) > 1e-9 ||
                                            a.filter_method != b.filter_method));
  if (filter_differs)
    diffs.push_back(fmt::format("filter {} vs {}", filter_text(a), filter_text(b)));
  if (a.normalization != b.normalization) {
    diffs.push_back(fmt::format("normalisation {} vs {}", a.normalization, b.normalization));
  }
  if (a.n_samples != b.n_samples || std::abs(a.duration_s - b.duration_s) > 1e-9) {
    diffs.push_back(fmt::format("duration {} s ({} samples) vs {} s ({} samples)", a.duration_s,
                                a.n_samples, b.duration_s, b.n_samples));
  }
  std::string out;
  for (const auto& d : diffs) out += (out.empty() ? "" : "; ") + d;
  return out;
}

void check_same_preprocessing(const nlohmann::json& checkpoint_manifest, const Manifest& data_manifest,
                              const std::string& checkpoint_path, const std::string& data_path) {
  if (checkpoint_manifest.is_null()) return;
  const std::string why =
      describe_mismatch(manifest_from_json(checkpoint_manifest, checkpoint_path), data_manifest);
  ECG_CHECK(why.empty(), "{} was trained on data prepared differently from {}: {}", checkpoint_path, data_path,
            why);
}

}  // namespace ecg::data
