// Prevalence weights are PTB-XL's statement counts (v1.0.3, 21,799 records; rounded), so that the
// synthetic class balance resembles the real one. Incompatible statements (e.g. AFIB with first
// degree AV block: no P waves to prolong) are never combined, so each label stays visible in the
// signal.
#include "data/synth/synth_labels.h"

#include <algorithm>
#include <map>
#include <set>

#include "common/error.h"

namespace ecg::data::synth {
namespace {

struct Weighted {
  const char* code;
  double weight;
};

const std::vector<Weighted> kMI = {{"IMI", 2685}, {"ASMI", 2363}, {"ILMI", 479}, {"AMI", 354},
                                   {"ALMI", 290}, {"INJAS", 215}, {"LMI", 201},  {"INJAL", 148},
                                   {"IPLMI", 51}, {"IPMI", 33},   {"INJIN", 18}, {"PMI", 17},
                                   {"INJIL", 15}, {"INJLA", 14}};
const std::vector<Weighted> kSTTC = {{"NDT", 1829},  {"ISC_", 1275}, {"NST_", 770},  {"ISCAL", 660},
                                     {"ISCIN", 219}, {"DIG", 181},   {"ISCIL", 179}, {"ISCAS", 170},
                                     {"ISCLA", 142}, {"LNGQT", 118}, {"ANEUR", 104}, {"EL", 97},
                                     {"ISCAN", 44}};
const std::vector<Weighted> kCD = {{"LAFB", 1626}, {"IRBBB", 1118}, {"1AVB", 797}, {"IVCD", 789},
                                   {"CRBBB", 542}, {"CLBBB", 536},  {"LPFB", 177}, {"WPW", 80},
                                   {"ILBBB", 77},  {"3AVB", 16},    {"2AVB", 14}};
const std::vector<Weighted> kHYP = {
    {"LVH", 2137}, {"LAO/LAE", 427}, {"RVH", 126}, {"RAO/RAE", 99}, {"SEHYP", 30}};
// Form-only statements (NDT, NST_, DIG, LNGQT are diagnostic and form; they come with STTC).
const std::vector<Weighted> kForm = {{"ABQRS", 3327}, {"PVC", 1146}, {"STD_", 1009}, {"VCLVH", 875},
                                     {"QWAVE", 548},  {"LOWT", 438}, {"NT_", 424},   {"PAC", 398},
                                     {"LPR", 340},    {"INVT", 294}, {"LVOLT", 182}, {"HVOLT", 62},
                                     {"TAB_", 35},    {"STE_", 28},  {"PRC(S)", 10}};
// NORM also conflicts with the non-sinus rhythms (see sample_labels).
const std::vector<Weighted> kRhythm = {
    {"SR", 16782},  {"AFIB", 1514}, {"STACH", 826}, {"SARRH", 772}, {"SBRAD", 637}, {"PACE", 296},
    {"SVARR", 157}, {"BIGU", 82},   {"AFLT", 73},   {"SVTAC", 27},  {"PSVT", 24},   {"TRIGU", 20}};

const char* pick(Rng& rng, const std::vector<Weighted>& table) {
  double total = 0;
  for (const auto& w : table) total += w.weight;
  double x = rng.uniform() * total;
  for (const auto& w : table) {
    if (x < w.weight) return w.code;
    x -= w.weight;
  }
  return table.back().code;
}

bool in(const std::string& code, std::initializer_list<const char*> set) {
  for (const char* c : set)
    if (code == c) return true;
  return false;
}

bool is_rhythm(const std::string& code) {
  for (const auto& w : kRhythm)
    if (code == w.code) return true;
  return false;
}

bool is_diagnostic(const std::string& code) {
  for (const auto* table : {&kMI, &kSTTC, &kCD, &kHYP})
    for (const auto& w : *table)
      if (code == w.code) return true;
  return code == "NORM";
}

// Pairs that cannot both be visible in one signal.
bool conflict(const std::string& a, const std::string& b) {
  auto pair = [&](std::initializer_list<const char*> x, std::initializer_list<const char*> y) {
    return (in(a, x) && in(b, y)) || (in(a, y) && in(b, x));
  };
  if ((a == "NORM" && is_diagnostic(b) && b != "NORM") ||
      (b == "NORM" && is_diagnostic(a) && a != "NORM"))
    return true;
  if (is_rhythm(a) && is_rhythm(b)) return a != b;
  if (pair({"NORM"}, {"AFIB", "AFLT", "SVTAC", "PSVT", "PACE", "SVARR", "BIGU", "TRIGU"}))
    return true;  // exactly one rhythm statement
  // P-wave dependent statements need atrial activity that conducts normally.
  const auto p_dependent = {"1AVB", "2AVB", "3AVB", "LPR", "WPW", "LAO/LAE", "RAO/RAE", "PAC"};
  if (pair({"AFIB", "AFLT", "SVTAC", "PSVT", "PACE"}, p_dependent)) return true;
  if (pair({"2AVB", "3AVB"}, {"STACH", "SARRH", "SVARR", "BIGU", "TRIGU", "PRC(S)", "PVC"}))
    return true;
  if (pair({"WPW"}, {"1AVB", "2AVB", "3AVB", "LPR"}) || pair({"2AVB"}, {"3AVB"})) return true;
  if (pair({"CLBBB", "ILBBB"}, {"CRBBB", "IRBBB"}) || pair({"CLBBB"}, {"ILBBB"}) ||
      pair({"CRBBB"}, {"IRBBB"}) || pair({"LAFB"}, {"LPFB"}))
    return true;
  if (pair({"LVOLT"}, {"HVOLT", "VCLVH", "LVH"})) return true;
  if (pair({"PACE"}, {"CLBBB", "CRBBB", "ILBBB", "IRBBB", "LAFB", "LPFB", "IVCD", "3AVB"}))
    return true;
  if (pair({"LNGQT"}, {"DIG"})) return true;
  return false;
}

double diagnostic_likelihood(Rng& rng) {
  const double u = rng.uniform();
  if (u < 0.6) return 100.0;
  if (u < 0.75) return 80.0;
  if (u < 0.88) return 50.0;
  if (u < 0.96) return 35.0;
  return 15.0;
}

}  // namespace

bool RecordLabels::has(const std::string& code) const {
  for (const auto& [c, l] : codes)
    if (c == code) return true;
  return false;
}

std::string RecordLabels::rhythm() const {
  for (const auto& [c, l] : codes)
    if (is_rhythm(c)) return c;
  return "SR";
}

const std::vector<std::string>& all_synth_codes() {
  // The order of PTB-XL's scp_statements.csv (diagnostic, then form, then rhythm).
  static const std::vector<std::string> codes = {
      "NDT",   "NST_",  "DIG",   "LNGQT",   "NORM",   "IMI",   "ASMI",  "LVH",   "LAFB",
      "ISC_",  "IRBBB", "1AVB",  "IVCD",    "ISCAL",  "CRBBB", "CLBBB", "ILMI",  "LAO/LAE",
      "AMI",   "ALMI",  "ISCIN", "INJAS",   "LMI",    "ISCIL", "LPFB",  "ISCAS", "INJAL",
      "ISCLA", "RVH",   "ANEUR", "RAO/RAE", "EL",     "WPW",   "ILBBB", "IPLMI", "ISCAN",
      "IPMI",  "SEHYP", "INJIN", "INJLA",   "PMI",    "3AVB",  "INJIL", "2AVB",  "ABQRS",
      "PVC",   "STD_",  "VCLVH", "QWAVE",   "LOWT",   "NT_",   "PAC",   "LPR",   "INVT",
      "LVOLT", "HVOLT", "TAB_",  "STE_",    "PRC(S)", "SR",    "AFIB",  "STACH", "SARRH",
      "SBRAD", "PACE",  "SVARR", "BIGU",    "AFLT",   "SVTAC", "PSVT",  "TRIGU"};
  return codes;
}

int cover_code_index(int record_index) {
  if (record_index < 0 || record_index % kCoverStride != kCoverOffset) return -1;
  const int k = record_index / kCoverStride;
  return k < static_cast<int>(all_synth_codes().size()) ? k : -1;
}

RecordLabels sample_labels(Rng& rng, int forced_code) {
  // Candidates in priority order; a later candidate that conflicts with a kept one is dropped.
  std::vector<std::pair<std::string, double>> candidates;
  if (forced_code >= 0) {
    const std::string& code = all_synth_codes().at(forced_code);
    candidates.emplace_back(code, is_diagnostic(code) ? 100.0 : 0.0);
  }
  // Normal ECGs have sinus rhythms only (SR, SARRH, SBRAD, STACH).
  const bool normal = rng.chance(0.42);
  static const std::vector<Weighted> normal_rhythms = {
      {"SR", 16782}, {"STACH", 826}, {"SARRH", 772}, {"SBRAD", 637}};
  candidates.emplace_back(pick(rng, normal ? normal_rhythms : kRhythm), 0.0);
  if (normal) {
    candidates.emplace_back("NORM", rng.chance(0.85) ? 100.0 : 80.0);
    // Normal ECGs occasionally carry a benign form statement (e.g. PTB-XL's record 1: LVOLT).
    if (rng.chance(0.06)) {
      static const std::vector<Weighted> benign = {{"PAC", 3}, {"PVC", 3}, {"LVOLT", 1}};
      candidates.emplace_back(pick(rng, benign), 0.0);
    }
  } else {
    // Class probabilities among abnormal records (PTB-XL: MI 25%, STTC 24%, CD 22%, HYP 12% of
    // all records, heavily overlapping).
    const std::pair<const std::vector<Weighted>*, double> classes[] = {
        {&kMI, 0.42}, {&kSTTC, 0.40}, {&kCD, 0.38}, {&kHYP, 0.21}};
    bool any = false;
    for (const auto& [table, p] : classes) {
      if (!rng.chance(p)) continue;
      any = true;
      const int n = rng.chance(0.2) ? 2 : 1;
      for (int k = 0; k < n; ++k)
        candidates.emplace_back(pick(rng, *table), diagnostic_likelihood(rng));
    }
    if (!any) {
      const auto* table = classes[rng.below(4)].first;
      candidates.emplace_back(pick(rng, *table), diagnostic_likelihood(rng));
    }
    // Form statements that typically accompany the diagnoses.
    auto has_candidate = [&](std::initializer_list<const char*> set) {
      for (const auto& c : candidates)
        if (in(c.first, set)) return true;
      return false;
    };
    if (has_candidate({"IMI", "ASMI", "ILMI", "AMI", "ALMI", "LMI", "IPLMI", "IPMI", "PMI"})) {
      if (rng.chance(0.3)) candidates.emplace_back("QWAVE", 0.0);
      if (rng.chance(0.3)) candidates.emplace_back("ABQRS", 0.0);
    }
    if (has_candidate({"LVH"}) && rng.chance(0.4)) candidates.emplace_back("VCLVH", 0.0);
    if (has_candidate(
            {"NDT", "ISC_", "NST_", "ISCAL", "ISCIN", "ISCIL", "ISCAS", "ISCLA", "ISCAN"}) &&
        rng.chance(0.45)) {
      static const std::vector<Weighted> sttc_forms = {{"STD_", 10}, {"NT_", 4},  {"INVT", 3},
                                                       {"LOWT", 4},  {"TAB_", 1}, {"STE_", 1}};
      candidates.emplace_back(pick(rng, sttc_forms), 0.0);
    }
    if (rng.chance(0.15)) candidates.emplace_back(pick(rng, kForm), 0.0);
  }

  std::vector<std::pair<std::string, double>> kept;
  for (const auto& c : candidates) {
    bool ok = true;
    for (const auto& k : kept) ok = ok && k.first != c.first && !conflict(k.first, c.first);
    if (ok) kept.push_back(c);
  }
  // Every record states its rhythm (a forced code may have displaced the sampled one).
  bool has_rhythm = false;
  for (const auto& k : kept) has_rhythm = has_rhythm || is_rhythm(k.first);
  if (!has_rhythm) kept.emplace_back("SR", 0.0);
  // scp_codes order: diagnostic, then form, then rhythm (as PTB-XL lists them).
  auto rank = [](const std::string& code) {
    return is_rhythm(code) ? 2 : is_diagnostic(code) ? 0 : 1;
  };
  std::stable_sort(kept.begin(), kept.end(),
                   [&](const auto& a, const auto& b) { return rank(a.first) < rank(b.first); });
  RecordLabels labels;
  labels.codes = std::move(kept);
  return labels;
}

std::string scp_codes_dict(const RecordLabels& labels) {
  std::string out = "{";
  for (size_t i = 0; i < labels.codes.size(); ++i) {
    if (i) out += ", ";
    out += fmt::format("'{}': {:.1f}", labels.codes[i].first, labels.codes[i].second);
  }
  return out + "}";
}

}  // namespace ecg::data::synth
