// The PhysioNet/CinC Challenge 2020/2021 source end to end: the format "16+24" .mat read through the
// WFDB reader (against scipy's own MATLAB v4 writer), the header's #Age/#Sex/#Dx, the SNOMED CT
// table and its scored classes, patient-grouped stratified folds, and `synth --format challenge` ->
// `preprocess --source challenge` -> `inspect`, its stored signals checked against an independent
// numpy reading of the same files, and each bad input's one-line error or counted skip.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "common/error.h"
#include "data/dataset_info.h"
#include "data/formats/challenge_record.h"
#include "data/formats/snomed_ct.h"
#include "data/formats/wfdb.h"
#include "data/stratified_folds.h"
#include "tests/test_util.h"

namespace {

namespace fs = std::filesystem;
using ecg::testing::run_ecgdist;
using ecg::testing::TempDir;

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ecg::Error& e) {
    return e.message();
  }
  return "";
}

const std::vector<std::string> kLeads = {"I",  "II", "III", "aVR", "aVL", "aVF",
                                         "V1", "V2", "V3",  "V4",  "V5",  "V6"};

std::vector<std::vector<int16_t>> ramp(int n, int scale) {
  std::vector<std::vector<int16_t>> adc(12, std::vector<int16_t>(static_cast<size_t>(n)));
  for (int s = 0; s < 12; ++s)
    for (int t = 0; t < n; ++t) adc[s][t] = static_cast<int16_t>((t * 7 + s * 131) % 2000 * scale - 1000);
  return adc;
}

void write_record(const fs::path& dir, const std::string& name, const ecg::data::WfdbFiles& f) {
  fs::create_directories(dir);
  ecg::testing::write_text_file((dir / (name + ".hea")).string(), f.header);
  ecg::testing::write_text_file((dir / (name + ".mat")).string(), f.dat);
}

TEST(ChallengeRecord, MatSignalsAreReadThroughTheWfdbReaderWithTheirInfoLines) {
  TempDir dir;
  ecg::data::ChallengeMeta meta;
  meta.age = 74;
  meta.sex = "Male";
  meta.dx = {"59118001", "164889003"};
  const auto adc = ramp(1000, 1);
  write_record(dir.path(), "A0001", ecg::data::encode_challenge_record("A0001", 500, kLeads, adc, meta));
  const std::string header = ecg::testing::read_text_file(dir / "A0001.hea");
  EXPECT_NE(header.find("A0001.mat 16+24 1000.0(0)/mV 16 0 "), std::string::npos) << header;
  EXPECT_NE(header.find("\n#Dx: 59118001,164889003\n"), std::string::npos) << header;

  const auto rec = ecg::data::read_wfdb_record(dir / "A0001");
  ASSERT_EQ(rec.samples.size(), 12u);
  EXPECT_EQ(rec.header.signals[0].byte_offset, 24);
  for (int s : {0, 5, 11})
    for (int t : {0, 1, 500, 999}) EXPECT_FLOAT_EQ(rec.samples[s][t], adc[s][t] / 1000.0f);
  const auto parsed = ecg::data::parse_challenge_meta(rec.header.comments, "A0001.hea");
  EXPECT_EQ(parsed.dx, meta.dx);
  EXPECT_EQ(parsed.sex, "Male");
  ASSERT_TRUE(parsed.age.has_value());
  EXPECT_EQ(*parsed.age, 74);
}

TEST(ChallengeRecord, ScipysMatlabV4FileIsTheSameLayout) {
  TempDir dir;
  const auto adc = ramp(300, 3);
  write_record(dir.path(), "S0001",
               ecg::data::encode_challenge_record("S0001", 1000, kLeads, adc, {{}, "", {"426783006"}}));
  // scipy writes `val` itself; our header must then read its file exactly like ours.
  auto py = ecg::testing::run_python(
      "import numpy as np, scipy.io as sio, sys\n"
      "ours = open('" + (dir / "S0001.mat") + "','rb').read()\n"
      "n = 300\n"
      "val = np.frombuffer(ours[24:], dtype='<i2').reshape(n, 12).T.copy()\n"
      "sio.savemat('" + (dir / "scipy.mat") + "', {'val': val}, format='4')\n"
      "theirs = open('" + (dir / "scipy.mat") + "','rb').read()\n"
      "print('same' if theirs == ours else 'differ %d %d' % (len(theirs), len(ours)))\n");
  ASSERT_EQ(py.exit_code, 0) << py.output;
  EXPECT_NE(py.output.find("same"), std::string::npos) << py.output;
}

TEST(ChallengeRecord, AMatWhoseHeaderOrSizeDisagreesIsRefusedNamingTheFile) {
  TempDir dir;
  const auto files = ecg::data::encode_challenge_record("A0002", 500, kLeads, ramp(100, 1),
                                                        {{}, "", {"426783006"}});
  write_record(dir.path(), "A0002", files);
  // Size: two samples short.
  ecg::testing::write_text_file(dir / "A0002.mat", files.dat.substr(0, files.dat.size() - 48));
  std::string e = error_of([&] { ecg::data::read_wfdb_record(dir / "A0002"); });
  EXPECT_NE(e.find("A0002.mat: truncated signal file"), std::string::npos) << e;
  EXPECT_NE(e.find("after a 24-byte prefix"), std::string::npos) << e;
  // Dimensions in the MAT header: 12 x 99 where the WFDB header says 100 samples.
  std::string other = files.dat;
  other.replace(0, 24, ecg::data::mat_v4_int16_header(12, 99));
  ecg::testing::write_text_file(dir / "A0002.mat", other);
  e = error_of([&] { ecg::data::read_wfdb_record(dir / "A0002"); });
  EXPECT_NE(e.find("A0002.mat: MATLAB v4 header says 12 x 99, the WFDB header 12 signals x 100"),
            std::string::npos)
      << e;
}

TEST(ChallengeRecord, MalformedInfoLinesAreOneLineErrorsNamingFileAndField) {
  using ecg::data::parse_challenge_meta;
  EXPECT_NE(error_of([] { parse_challenge_meta({"Age: 50", "Dx: 1648890x3"}, "r.hea"); })
                .find("r.hea: #Dx '1648890x3': '1648890x3' is not a SNOMED CT concept id"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_challenge_meta({"Dx: 164889003,,59118001"}, "r.hea"); })
                .find("r.hea: #Dx"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_challenge_meta({"Dx:"}, "r.hea"); }).find("r.hea: #Dx"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_challenge_meta({"Age: 50", "Sex: Male"}, "r.hea"); })
                .find("r.hea: no #Dx line"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_challenge_meta({"Age: -3", "Dx: 164889003"}, "r.hea"); })
                .find("r.hea: #Age '-3'"),
            std::string::npos);
  // Unknown age and sex are data, not errors; repeated codes count once.
  const auto m = parse_challenge_meta({"Age: NaN", "Sex: Unknown", "Dx: 164889003, 164889003"}, "r.hea");
  EXPECT_FALSE(m.age.has_value());
  EXPECT_EQ(m.sex, "");
  EXPECT_EQ(m.dx, std::vector<std::string>{"164889003"});
}

TEST(SnomedTable, TheChallenge2021ScoresTwentySixClassesWithItsFourEquivalentPairs) {
  const auto& t = ecg::data::SnomedTable::challenge2021();
  const auto classes = t.scored_classes();
  EXPECT_EQ(classes.size(), 26u);
  for (const char* pair : {"CLBBB|LBBB", "CRBBB|RBBB", "PAC|SVPB", "PVC|VPB"})
    EXPECT_NE(std::find(classes.begin(), classes.end(), pair), classes.end()) << pair;
  EXPECT_EQ(t.scored_class("59118001"), "CRBBB|RBBB");
  EXPECT_EQ(t.scored_class("713427006"), "CRBBB|RBBB");
  EXPECT_EQ(t.scored_class("164889003"), "AF");
  EXPECT_EQ(t.scored_class("164865005"), "");  // myocardial infarction: in the data, not scored
  ASSERT_NE(t.find("164865005"), nullptr);
  EXPECT_EQ(t.describe_code("164889003"), "atrial fibrillation (SNOMED CT 164889003)");

  // Labels: the pair counts as one class; an unscored code leaves a record without a scored label.
  const std::vector<std::vector<std::string>> records = {
      {"59118001"}, {"713427006", "164889003"}, {"164865005"}};
  const auto scored = ecg::data::derive_snomed_labels(records, ecg::data::snomed_scored_task(t), false);
  EXPECT_EQ(scored.classes, (std::vector<std::string>{"AF", "CRBBB|RBBB"}));
  EXPECT_EQ(scored.matrix, (std::vector<uint8_t>{0, 1, 1, 1, 0, 0}));
  EXPECT_EQ(scored.records_without_label, 1);
  const auto dx = ecg::data::derive_snomed_labels(records, ecg::data::snomed_dx_task(records, t), false);
  EXPECT_EQ(dx.classes.size(), 4u);
  EXPECT_EQ(dx.descriptions.size(), 4u);
  // A user's task; malformed specs name the flag.
  const auto own = ecg::data::parse_snomed_task("blocks=59118001|713427006,164909002", t, "--snomed-task");
  EXPECT_EQ(own.classes, (std::vector<std::string>{"59118001|713427006", "164909002"}));
  EXPECT_NE(error_of([&] { ecg::data::parse_snomed_task("x=12", t, "--snomed-task"); })
                .find("--snomed-task 'x=12': '12' is not a SNOMED CT concept id"),
            std::string::npos);
  EXPECT_NE(error_of([&] { ecg::data::parse_snomed_task("no-codes", t, "--snomed-task"); })
                .find("expected NAME=CODE"),
            std::string::npos);
}

TEST(StratifiedFolds, PatientsStayWholeFoldsAreBalancedAndTheResultIsDeterministic) {
  // 2,000 records of 1,400 patients; class 0 common, class 1 rare (50 records).
  std::vector<int64_t> patient;
  std::vector<uint8_t> labels;
  for (int i = 0; i < 2000; ++i) {
    patient.push_back(i < 1200 ? i / 2 : i - 600);
    labels.push_back(i % 3 == 0);
    labels.push_back(i % 40 == 7);
  }
  const auto fold = ecg::data::stratified_patient_folds(patient, labels, 2);
  EXPECT_EQ(fold, ecg::data::stratified_patient_folds(patient, labels, 2));
  std::map<int64_t, std::set<int>> folds_of;
  std::map<int, int> size, rare, common;
  for (size_t i = 0; i < fold.size(); ++i) {
    ASSERT_GE(fold[i], 1);
    ASSERT_LE(fold[i], 10);
    folds_of[patient[i]].insert(fold[i]);
    ++size[fold[i]];
    rare[fold[i]] += labels[2 * i + 1];
    common[fold[i]] += labels[2 * i];
  }
  for (const auto& [p, f] : folds_of) EXPECT_EQ(f.size(), 1u) << "patient " << p;
  for (int f = 1; f <= 10; ++f) {
    EXPECT_NEAR(size[f], 200, 4) << "fold " << f;
    EXPECT_NEAR(rare[f], 5, 1) << "fold " << f;
    EXPECT_NEAR(common[f], 66.7, 3) << "fold " << f;
  }
  EXPECT_NE(fold, ecg::data::stratified_patient_folds(patient, labels, 2, 10, /*seed=*/1));
}

class ChallengePreprocess : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    auto s = run_ecgdist("synth --format challenge --records 60 --seed 5 --out " + *dir_ / "challenge");
    ASSERT_EQ(s.exit_code, 0) << s.output;
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static TempDir* dir_;
};
TempDir* ChallengePreprocess::dir_ = nullptr;

TEST_F(ChallengePreprocess, StoredSignalsEqualAnIndependentReadingOfTheFiles) {
  const std::string h5 = *dir_ / "raw.h5";
  auto r = run_ecgdist("preprocess --source challenge --input " + *dir_ / "challenge" + " --out " + h5 +
                       " --target-rate 500 --no-filter --normalize none --threads 2 "
                       "--snomed-task 'blocks=59118001|713427006,164909002|733534002'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto info = ecg::data::read_dataset_info(h5);
  EXPECT_EQ(info.n_records, 60);
  EXPECT_EQ(info.n_samples, 5000);
  EXPECT_EQ(info.tasks, (std::vector<std::string>{"blocks", "dx", "scored"}));
  EXPECT_EQ(info.manifest.source_rate, 0);
  ASSERT_EQ(info.record_name.size(), 60u);
  EXPECT_EQ(info.record_name[0], "cpsc_2018/A0001");
  EXPECT_EQ(info.record_name[59], "ningbo/JS00020");
  std::set<int8_t> folds(info.fold.begin(), info.fold.end());
  EXPECT_EQ(folds.size(), 10u);

  // numpy reads every header and .mat itself (no WFDB library): records in sorted relative-path
  // order, ecg_id = position; 500 Hz records must match the stored signal exactly (first 10 s, in
  // mV, leads in the header's order = the stored order), the 257 Hz ones only in length after
  // resampling. Labels: #Dx codes against /labels/dx.
  auto py = ecg::testing::run_python(
      "import numpy as np, h5py, os, sys\n"
      "root = '" + *dir_ / "challenge" + "'\n"
      "heads = sorted(os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs if f.endswith('.hea'))\n"
      "h = h5py.File('" + h5 + "', 'r')\n"
      "ids = list(h['ecg_id'][:]); sig = h['signals']; dx = h['labels/dx']; classes = [c.decode() if isinstance(c, bytes) else c for c in dx.attrs['classes']]\n"
      "checked = 0\n"
      "for k, rel in enumerate(heads):\n"
      "    lines = open(os.path.join(root, rel)).read().splitlines()\n"
      "    name, nsig, fs, n = lines[0].split()[:4]; fs = float(fs); n = int(n)\n"
      "    gain = float(lines[1].split()[2].split('(')[0])\n"
      "    codes = [l.split(':', 1)[1].strip().split(',') for l in lines if l.startswith('#Dx')][0]\n"
      "    raw = open(os.path.join(root, os.path.dirname(rel), name + '.mat'), 'rb').read()[24:]\n"
      "    x = np.frombuffer(raw, dtype='<i2').reshape(n, 12).T / gain\n"
      "    row = ids.index(k + 1)\n"
      "    want = set(codes); have = set(c for c, v in zip(classes, dx[row]) if v)\n"
      "    assert want == have, (rel, want, have)\n"
      "    if fs == 500:\n"
      "        err = np.abs(sig[row] - x[:, :5000]).max()\n"
      "        assert err < 1e-6, (rel, err)\n"
      "        checked += 1\n"
      "print('checked', checked, 'of', len(heads))\n");
  ASSERT_EQ(py.exit_code, 0) << py.output;
  EXPECT_NE(py.output.find("checked 40 of 60"), std::string::npos) << py.output;

  auto inspect = run_ecgdist("inspect " + h5);
  ASSERT_EQ(inspect.exit_code, 0) << inspect.output;
  EXPECT_NE(inspect.output.find("scored: "), std::string::npos) << inspect.output;
  EXPECT_NE(inspect.output.find("fold 10: "), std::string::npos) << inspect.output;
  EXPECT_EQ(inspect.output.find("(missing)"), std::string::npos) << inspect.output;
}

TEST_F(ChallengePreprocess, BadRecordsAreOneLineErrorsOrCountedSkips) {
  const fs::path bad = fs::path(*dir_ / "bad");
  fs::copy(*dir_ / "challenge", bad, fs::copy_options::recursive);
  // An unknown SNOMED CT code, a malformed #Dx, a .mat cut short and a record of 6 leads.
  auto edit = [&](const std::string& rel, const std::string& from, const std::string& to) {
    std::string text = ecg::testing::read_text_file((bad / rel).string());
    const auto at = text.find(from);
    ASSERT_NE(at, std::string::npos) << rel;
    text.replace(at, from.size(), to);
    ecg::testing::write_text_file((bad / rel).string(), text);
  };
  edit("cpsc_2018/A0002.hea", "#Dx: ", "#Dx: 999999999,");
  const std::string out = *dir_ / "bad.h5";
  auto r = run_ecgdist("preprocess --source challenge --input " + bad.string() + " --out " + out);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("A0002.hea: #Dx code 999999999 is not a SNOMED CT code of the Challenge's tables"),
            std::string::npos)
      << r.output;
  EXPECT_FALSE(fs::exists(out));

  edit("ningbo/JS00003.hea", "#Dx: ", "#Dx: 12x,");
  const std::string mat = (bad / "incart/I0002.mat").string();
  const std::string bytes = ecg::testing::read_text_file(mat);
  ecg::testing::write_text_file(mat, bytes.substr(0, bytes.size() - 100));
  r = run_ecgdist("preprocess --source challenge --skip-bad-records --input " + bad.string() + " --out " + out);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("57 records"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("3 skipped"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("JS00003.hea: #Dx '12x,"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("I0002.mat: "), std::string::npos) << r.output;
  EXPECT_EQ(ecg::data::read_dataset_info(out).n_records, 57);

  // Flags that need another source are refused in one line.
  r = run_ecgdist("preprocess --ptbxl " + bad.string() + " --source challenge --out " + out);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("--ptbxl reads a PTB-XL release"), std::string::npos) << r.output;
}

}  // namespace
