// Synthetic PTB-XL: shape of the directory and the database, determinism, WFDB headers checked
// against independently computed checksums, Einthoven/Goldberger relations, and signal features
// that must follow the labels (measured from the rendered signals, not read from the plan).
#include "data/synth/synth.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <regex>
#include <set>
#include <sstream>

#include "common/error.h"
#include "data/formats/leads.h"
#include "data/formats/scp_statements.h"
#include "tests/test_util.h"

namespace ecg::data::synth {
namespace {

namespace fs = std::filesystem;
using ecg::testing::TempDir;

// ---- independent readers (no use of the code under test) ----

std::vector<int16_t> read_dat(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<int16_t> out(bytes.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    const auto lo = static_cast<uint8_t>(bytes[2 * i]), hi = static_cast<uint8_t>(bytes[2 * i + 1]);
    out[i] = static_cast<int16_t>(static_cast<uint16_t>(lo | (hi << 8)));
  }
  return out;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// QRS detector on the spatial derivative magnitude: returns peak sample indices.
std::vector<double> qrs_energy(const std::vector<std::vector<float>>& leads) {
  const size_t n = leads[0].size();
  std::vector<double> e(n, 0.0);
  for (const auto& l : leads)
    for (size_t i = 1; i + 1 < n; ++i) e[i] += std::fabs(l[i + 1] - l[i - 1]);
  return e;
}

std::vector<size_t> detect_peaks(const std::vector<double>& e, double rate) {
  std::vector<double> sorted = e;
  std::sort(sorted.begin(), sorted.end());
  const double threshold = 0.45 * sorted[sorted.size() * 99 / 100];
  const auto refractory = static_cast<size_t>(0.25 * rate);
  std::vector<size_t> peaks;
  for (size_t i = 1; i + 1 < e.size(); ++i) {
    if (e[i] < threshold || e[i] < e[i - 1] || e[i] < e[i + 1]) continue;
    if (!peaks.empty() && i - peaks.back() < refractory) {
      if (e[i] > e[peaks.back()]) peaks.back() = i;
      continue;
    }
    peaks.push_back(i);
  }
  return peaks;
}

RecordLabels make_labels(std::initializer_list<const char*> codes) {
  RecordLabels l;
  for (const char* c : codes) l.codes.emplace_back(c, 100.0);
  return l;
}

std::vector<std::vector<float>> render(const RecordLabels& labels, int id, double rate) {
  return render_record(plan_record(labels, 7, id), rate, 7, id);
}

struct Stats {
  double mean_rr = 0, rr_cv = 0, qrs_width = 0, amplitude = 0;
};

Stats measure(const std::vector<std::vector<float>>& leads, double rate) {
  Stats s;
  const auto e = qrs_energy(leads);
  const auto peaks = detect_peaks(e, rate);
  if (peaks.size() >= 2) {
    std::vector<double> rr;
    for (size_t i = 1; i < peaks.size(); ++i) rr.push_back((peaks[i] - peaks[i - 1]) / rate);
    const double mean = std::accumulate(rr.begin(), rr.end(), 0.0) / rr.size();
    double var = 0;
    for (double x : rr) var += (x - mean) * (x - mean);
    s.mean_rr = mean;
    s.rr_cv = std::sqrt(var / rr.size()) / mean;
  }
  // QRS width: contiguous run above 25% of the beat's peak energy, averaged over beats.
  double width = 0;
  for (size_t p : peaks) {
    size_t lo = p, hi = p;
    while (lo > 0 && e[lo - 1] > 0.25 * e[p]) --lo;
    while (hi + 1 < e.size() && e[hi + 1] > 0.25 * e[p]) ++hi;
    width += (hi - lo + 1) / rate;
  }
  s.qrs_width = peaks.empty() ? 0 : width / peaks.size();
  // Median over leads of the 1st-99th percentile range.
  std::vector<double> ranges;
  for (const auto& l : leads) {
    std::vector<float> v = l;
    std::sort(v.begin(), v.end());
    ranges.push_back(v[v.size() * 99 / 100] - v[v.size() / 100]);
  }
  std::sort(ranges.begin(), ranges.end());
  s.amplitude = ranges[ranges.size() / 2];
  return s;
}

Stats mean_stats(std::initializer_list<const char*> codes, double rate, int n = 24) {
  Stats total;
  const auto labels = make_labels(codes);
  for (int id = 1; id <= n; ++id) {
    const Stats s = measure(render(labels, id, rate), rate);
    total.mean_rr += s.mean_rr / n;
    total.rr_cv += s.rr_cv / n;
    total.qrs_width += s.qrs_width / n;
    total.amplitude += s.amplitude / n;
  }
  return total;
}

// ---- one shared directory: 600 records at 100 Hz ----

class SynthDir : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    options_.out_dir = dir_->path() + "/ptbxl";
    options_.records = 600;
    options_.write_500hz = false;
    options_.seed = 11;
    options_.threads = 2;
    write_synthetic_ptbxl(options_);
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static std::string path(const std::string& rel) { return options_.out_dir + "/" + rel; }
  static TempDir* dir_;
  static SynthOptions options_;
};
TempDir* SynthDir::dir_ = nullptr;
SynthOptions SynthDir::options_;

TEST_F(SynthDir, DirectoryShapedLikePtbxl) {
  EXPECT_TRUE(fs::exists(path("ptbxl_database.csv")));
  EXPECT_EQ(ecg::testing::read_text_file(path("scp_statements.csv")),
            embedded_scp_statements_csv());
  EXPECT_TRUE(fs::exists(path("NOTICE")));
  EXPECT_TRUE(fs::exists(path("records100/00000/00001_lr.hea")));
  EXPECT_TRUE(fs::exists(path("records100/00000/00600_lr.dat")));
  EXPECT_FALSE(fs::exists(path("records500")));
  EXPECT_EQ(record_filename(12345, 500), "records500/12000/12345_hr");
  EXPECT_EQ(record_filename(999, 100), "records100/00000/00999_lr");
  // No temp files left behind.
  for (const auto& e : fs::recursive_directory_iterator(options_.out_dir))
    EXPECT_EQ(e.path().string().find(".tmp."), std::string::npos) << e.path();
}

// Python's csv + ast are the oracle for the CSV shape and the scp_codes dicts.
TEST_F(SynthDir, DatabaseParsesWithPythonAndHasPtbxlColumnsFoldsAndCodes) {
  const std::string code = R"PY(
import csv, ast, collections
rows = list(csv.reader(open(')PY" +
                           path("ptbxl_database.csv") + R"PY(', newline='')))
header, rows = rows[0], rows[1:]
assert header == ['ecg_id','patient_id','age','sex','height','weight','nurse','site','device',
  'recording_date','report','scp_codes','heart_axis','infarction_stadium1','infarction_stadium2',
  'validated_by','second_opinion','initial_autogenerated_report','validated_by_human',
  'baseline_drift','static_noise','burst_noise','electrodes_problems','extra_beats','pacemaker',
  'strat_fold','filename_lr','filename_hr'], header
assert all(len(r) == 28 for r in rows)
assert [int(r[0]) for r in rows] == list(range(1, 601))
fold_of = {}
folds = collections.Counter()
codes = set()
for r in rows:
    d = ast.literal_eval(r[11])
    assert isinstance(d, dict) and d and all(isinstance(v, float) for v in d.values()), r[11]
    codes |= set(d)
    f = int(r[25]); assert 1 <= f <= 10
    folds[f] += 1
    p = float(r[1]); assert fold_of.setdefault(p, f) == f, 'patient in two folds'
    assert 18 <= float(r[2]) <= 89 and r[3] in ('0', '1')
    i = int(r[0])
    assert r[26] == 'records100/%05d/%05d_lr' % (i // 1000 * 1000, i), r[26]
    assert r[27] == 'records500/%05d/%05d_hr' % (i // 1000 * 1000, i), r[27]
    if f >= 9: assert r[18] == 'True'
multi = sum(1 for c in collections.Counter(float(r[1]) for r in rows).values() if c > 1)
print('FOLDS', min(folds.values()), max(folds.values()), 'MULTI', multi, 'CODES', len(codes))
)PY";
  const auto r = ecg::testing::run_python(code);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::smatch m;
  ASSERT_TRUE(
      std::regex_search(r.output, m, std::regex("FOLDS (\\d+) (\\d+) MULTI (\\d+) CODES (\\d+)")))
      << r.output;
  EXPECT_GE(std::stoi(m[1]), 55);  // 600 records spread evenly over 10 folds
  EXPECT_LE(std::stoi(m[2]), 65);
  EXPECT_GT(std::stoi(m[3]), 10);  // some patients own several records
  EXPECT_EQ(std::stoi(m[4]), 71);
}

TEST_F(SynthDir, AllCodesAndTaskLabelCounts) {
  const auto rows = plan_database(options_);
  const auto table = parse_scp_statements(embedded_scp_statements_csv(), "embedded");
  std::map<std::string, ScpStatement> by_code;
  for (const auto& s : table) by_code[s.code] = s;
  std::set<std::string> all, diag, sub, super, form, rhythm;
  std::map<std::string, int> count;
  for (const auto& row : rows) {
    for (const auto& [code, likelihood] : row.labels.codes) {
      ASSERT_TRUE(by_code.count(code)) << code;
      const auto& s = by_code.at(code);
      all.insert(code);
      ++count[code];
      if (s.diagnostic)
        diag.insert(code), sub.insert(s.diagnostic_subclass), super.insert(s.diagnostic_class);
      if (s.form) form.insert(code);
      if (s.rhythm) rhythm.insert(code);
    }
  }
  EXPECT_EQ(all.size(), 71u);
  EXPECT_EQ(diag.size(), 44u);
  EXPECT_EQ(sub.size(), 23u);
  EXPECT_EQ(super.size(), 5u);
  EXPECT_EQ(form.size(), 19u);
  EXPECT_EQ(rhythm.size(), 12u);
  // Realistic prevalence: NORM and SR are the commonest statements.
  EXPECT_GT(count["NORM"], 600 * 0.3);
  EXPECT_GT(count["SR"], 600 * 0.6);
  EXPECT_LT(count["NORM"], 600 * 0.55);
  // The sampler's code list is exactly the table's.
  std::vector<std::string> table_codes;
  for (const auto& s : table) table_codes.push_back(s.code);
  EXPECT_EQ(all_synth_codes(), table_codes);
}

TEST_F(SynthDir, WfdbHeadersHaveCorrectInitialValuesAndChecksums) {
  const std::regex signal_line(R"((\d{5}_lr)\.dat 16 1000\.0\(0\)/mV 16 0 (-?\d+) (\d+) 0 (\S+))");
  const std::vector<std::string>& names = ecg::data::ptbxl_header_lead_names();
  for (int id : {1, 2, 77, 600}) {
    const std::string rec = path(record_filename(id, 100));
    const auto lines = lines_of(ecg::testing::read_text_file(rec + ".hea"));
    ASSERT_EQ(lines.size(), 13u);
    EXPECT_EQ(lines[0], fmt::format("{:05d}_lr 12 100 1000", id));
    const auto dat = read_dat(rec + ".dat");
    ASSERT_EQ(dat.size(), 12000u);
    for (int s = 0; s < 12; ++s) {
      std::smatch m;
      ASSERT_TRUE(std::regex_match(lines[s + 1], m, signal_line)) << lines[s + 1];
      EXPECT_EQ(m[1].str(), fmt::format("{:05d}_lr", id));
      EXPECT_EQ(std::stoi(m[2]), dat[s]);
      uint32_t sum = 0;
      for (int t = 0; t < 1000; ++t) sum += static_cast<uint16_t>(dat[t * 12 + s]);
      EXPECT_EQ(std::stoul(m[3]), sum % 65536u) << "record " << id << " lead " << names[s];
      EXPECT_EQ(m[4].str(), names[s]);
    }
  }
}

TEST_F(SynthDir, LeadRelationsHoldWithinQuantisation) {
  for (int id : {1, 5, 300, 599}) {
    const auto d = read_dat(path(record_filename(id, 100)) + ".dat");
    double max_dev = 0;
    for (int t = 0; t < 1000; ++t) {
      const double I = d[t * 12], II = d[t * 12 + 1], III = d[t * 12 + 2], aVR = d[t * 12 + 3],
                   aVL = d[t * 12 + 4], aVF = d[t * 12 + 5];
      max_dev = std::max({max_dev, std::fabs(III - (II - I)), std::fabs(aVR + (I + II) / 2),
                          std::fabs(aVL - (I - II / 2)), std::fabs(aVF - (II - I / 2))});
    }
    EXPECT_LE(max_dev, 1.5) << "record " << id;  // three roundings of 0.5 units at most
  }
}

TEST_F(SynthDir, NumpyReadsTheSignalsAsPlausibleEcg) {
  const auto r = ecg::testing::run_python(
      "import numpy as np\n"
      "a = np.fromfile('" +
      path("records100/00000/00042_lr.dat") +
      "', dtype='<i2')\n"
      "a = a.reshape(1000, 12).astype(float) / 1000\n"
      "ptp = np.percentile(a, 99, axis=0) - np.percentile(a, 1, axis=0)\n"
      "assert (ptp > 0.1).all() and (ptp < 8).all(), ptp\n"
      "assert np.abs(a[:, 2] - (a[:, 1] - a[:, 0])).max() < 0.0015\n"
      "print('OK')\n");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("OK"), std::string::npos) << r.output;
}

// ---- determinism ----

std::map<std::string, std::string> read_tree(const std::string& root) {
  std::map<std::string, std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(root))
    if (e.is_regular_file())
      files[fs::relative(e.path(), root).string()] =
          ecg::testing::read_text_file(e.path().string());
  return files;
}

TEST(Synth, SameSeedSameBytesWhateverThreadsDifferentSeedDiffers) {
  TempDir dir;
  SynthOptions o;
  o.records = 80;
  o.seed = 5;
  o.out_dir = dir / "a";
  o.threads = 1;
  write_synthetic_ptbxl(o);
  o.out_dir = dir / "b";
  o.threads = 3;
  write_synthetic_ptbxl(o);
  o.out_dir = dir / "c";
  o.seed = 6;
  write_synthetic_ptbxl(o);
  const auto a = read_tree(dir / "a"), b = read_tree(dir / "b"), c = read_tree(dir / "c");
  EXPECT_EQ(a.size(), 80u * 4 + 3);
  EXPECT_TRUE(a == b);
  EXPECT_NE(a.at("ptbxl_database.csv"), c.at("ptbxl_database.csv"));
  EXPECT_NE(a.at("records100/00000/00001_lr.dat"), c.at("records100/00000/00001_lr.dat"));
  EXPECT_NE(a.at("records500/00000/00001_hr.dat"), c.at("records500/00000/00001_hr.dat"));
  // 500 Hz records: 5000 samples per lead.
  EXPECT_EQ(a.at("records500/00000/00001_hr.dat").size(), 5000u * 12 * 2);
  EXPECT_EQ(lines_of(a.at("records500/00000/00001_hr.hea"))[0], "00001_hr 12 500 5000");
}

// ---- labels shape the signals ----

TEST(SynthSignals, HeartRateFollowsRhythmLabels) {
  const Stats brady = mean_stats({"NORM", "SBRAD"}, 100);
  const Stats sinus = mean_stats({"NORM", "SR"}, 100);
  const Stats tachy = mean_stats({"NORM", "STACH"}, 100);
  EXPECT_GT(brady.mean_rr, 60.0 / 60);   // < 60 bpm
  EXPECT_LT(tachy.mean_rr, 60.0 / 100);  // > 100 bpm
  EXPECT_GT(sinus.mean_rr, tachy.mean_rr);
  EXPECT_LT(sinus.mean_rr, brady.mean_rr);
}

TEST(SynthSignals, AtrialFibrillationIsIrregular) {
  const Stats sinus = mean_stats({"NORM", "SR"}, 100);
  const Stats afib = mean_stats({"AFIB"}, 100);
  EXPECT_GT(afib.rr_cv, 2.5 * sinus.rr_cv) << afib.rr_cv << " vs " << sinus.rr_cv;
  EXPECT_GT(afib.rr_cv, 0.1);
}

TEST(SynthSignals, BundleBranchBlocksWidenQrs) {
  const Stats norm = mean_stats({"NORM", "SR"}, 500, 12);
  const Stats clbbb = mean_stats({"CLBBB", "SR"}, 500, 12);
  const Stats crbbb = mean_stats({"CRBBB", "SR"}, 500, 12);
  EXPECT_GT(clbbb.qrs_width, 1.3 * norm.qrs_width) << clbbb.qrs_width << " vs " << norm.qrs_width;
  EXPECT_GT(crbbb.qrs_width, 1.2 * norm.qrs_width) << crbbb.qrs_width << " vs " << norm.qrs_width;
}

TEST(SynthSignals, VoltageFollowsLvoltAndLvh) {
  const Stats norm = mean_stats({"NORM", "SR"}, 100);
  const Stats low = mean_stats({"NORM", "LVOLT", "SR"}, 100);
  const Stats lvh = mean_stats({"LVH", "SR"}, 100);
  EXPECT_LT(low.amplitude, 0.7 * norm.amplitude) << low.amplitude << " vs " << norm.amplitude;
  EXPECT_GT(lvh.amplitude, 1.4 * norm.amplitude) << lvh.amplitude << " vs " << norm.amplitude;
}

TEST(SynthSignals, InferiorInfarctLowersInferiorLeadsStTAndQrsOnset) {
  // Measured in aVF at 500 Hz, relative to the PR segment: the early QRS (Q wave) and the ST-T
  // segment (T inversion) are lower with an inferior infarct than in normal records.
  auto inferior = [](std::initializer_list<const char*> codes) {
    const auto labels = make_labels(codes);
    double q = 0, stt = 0;
    int n = 0;
    for (int id = 1; id <= 16; ++id) {
      const auto leads = render(labels, id, 500);
      const auto& avf = leads[5];
      for (size_t r : detect_peaks(qrs_energy(leads), 500)) {
        if (r < 100 || r + 200 >= avf.size()) continue;
        double base = 0, early = 1e9, st = 0;
        for (size_t i = r - 60; i < r - 40; ++i) base += avf[i] / 20.0;
        for (size_t i = r - 20; i < r; ++i) early = std::min<double>(early, avf[i]);
        for (size_t i = r + 75; i < r + 175; ++i) st += avf[i] / 100.0;
        q += early - base, stt += st - base, ++n;
      }
    }
    return std::make_pair(q / n, stt / n);
  };
  const auto norm = inferior({"NORM", "SR"}), imi = inferior({"IMI", "SR"});
  EXPECT_LT(imi.first, norm.first - 0.1) << imi.first << " vs " << norm.first;
  EXPECT_LT(imi.second, norm.second - 0.05) << imi.second << " vs " << norm.second;
}

TEST(SynthSignals, FirstDegreeAvBlockLengthensPr) {
  // The P wave precedes the QRS by more: measure in lead II the time from P peak to R peak
  // (the P wave is the largest bump 80-400 ms before the R peak).
  auto pr = [](std::initializer_list<const char*> codes) {
    const auto labels = make_labels(codes);
    double total = 0;
    int n = 0;
    for (int id = 1; id <= 16; ++id) {
      const auto plan = plan_record(labels, 4, id);
      // P waves are the small slow waves before each R (sigma ~20 ms, centre before R).
      std::vector<double> p_centres, r_centres;
      for (const auto& w : plan.waves) {
        const double norm = std::sqrt(w.v.x * w.v.x + w.v.y * w.v.y + w.v.z * w.v.z);
        if (w.sigma > 0.017 && w.sigma < 0.03 && norm < 0.5) p_centres.push_back(w.center);
        if (w.sigma < 0.013 && norm > 0.5) r_centres.push_back(w.center);
      }
      for (double r : r_centres) {
        double best = -1;
        for (double p : p_centres)
          if (p < r && (best < 0 || r - p < best)) best = r - p;
        if (best > 0) total += best, ++n;
      }
    }
    return total / std::max(n, 1);
  };
  EXPECT_GT(pr({"1AVB", "SR"}), pr({"NORM", "SR"}) + 0.06);
}

// ---- errors ----

TEST(SynthCli, ErrorsAreOneLineAndNonZero) {
  TempDir dir;
  auto r = ecg::testing::run_ecgdist("synth --out " + (dir / "x") + " --records 0");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("--records"), std::string::npos) << r.output;
  r = ecg::testing::run_ecgdist("synth --out " + (dir / "x") + " --records 5 --sampling-rate 250");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("--sampling-rate"), std::string::npos) << r.output;
  ecg::testing::write_text_file(dir / "file", "x");
  r = ecg::testing::run_ecgdist("synth --out " + (dir / "file") + "/sub --records 5");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("--out"), std::string::npos) << r.output;
  EXPECT_LE(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
  EXPECT_FALSE(fs::exists(dir / "x/ptbxl_database.csv"));
}

TEST(SynthCli, WritesADirectoryFromTheCommandLine) {
  TempDir dir;
  auto r = ecg::testing::run_ecgdist("synth --out " + (dir / "p") +
                                     " --records 30 --sampling-rate 500 --seed 3 --threads 2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(fs::exists(dir / "p/records500/00000/00030_hr.dat"));
  EXPECT_FALSE(fs::exists(dir / "p/records100"));
  EXPECT_EQ(lines_of(ecg::testing::read_text_file(dir / "p/ptbxl_database.csv")).size(), 31u);
  r = ecg::testing::run_ecgdist("synth --help");
  EXPECT_NE(r.output.find("both"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace ecg::data::synth
