// Preprocessing manifest: JSON round trip and mismatch descriptions.
#include "data/manifest.h"

#include <gtest/gtest.h>
#include <fmt/format.h>

#include "common/error.h"
#include "data/preprocess.h"

namespace {

ecg::data::Manifest default_manifest() {
  ecg::data::PreprocessOptions o;
  return ecg::data::manifest_for(o);
}

TEST(Manifest, JsonRoundTrip) {
  auto m = default_manifest();
  EXPECT_EQ(m.source_rate, 500);
  EXPECT_EQ(m.target_rate, 250);
  EXPECT_EQ(m.n_samples, 2500);
  ASSERT_EQ(m.leads.size(), 12u);
  EXPECT_EQ(m.leads[3], "aVR");
  const auto j = ecg::data::to_json(m);
  const auto back = ecg::data::manifest_from_json(nlohmann::json::parse(j.dump()), "x");
  EXPECT_EQ(ecg::data::to_json(back), j);
  EXPECT_EQ(ecg::data::describe_mismatch(m, back), "");
  // nlohmann's ADL hooks work too (the trainer stores it inside checkpoint JSON).
  nlohmann::json wrapped = {{"preprocessing", m}};
  EXPECT_EQ(ecg::data::describe_mismatch(wrapped["preprocessing"].get<ecg::data::Manifest>(), m),
            "");
}

TEST(Manifest, MissingFieldNamed) {
  auto j = ecg::data::to_json(default_manifest());
  j.erase("target_rate");
  try {
    ecg::data::manifest_from_json(j, "file.h5");
    FAIL();
  } catch (const ecg::Error& e) {
    EXPECT_NE(e.message().find("file.h5"), std::string::npos);
    EXPECT_NE(e.message().find("target_rate"), std::string::npos);
  }
}

TEST(Manifest, MismatchNamesFields) {
  const auto a = default_manifest();
  auto b = a;
  b.target_rate = 500;
  b.n_samples = 5000;
  EXPECT_NE(ecg::data::describe_mismatch(a, b).find("rate"), std::string::npos);
  b = a;
  std::swap(b.leads[3], b.leads[4]);
  EXPECT_NE(ecg::data::describe_mismatch(a, b).find("leads"), std::string::npos);
  b = a;
  b.filter = false;
  EXPECT_NE(ecg::data::describe_mismatch(a, b).find("filter"), std::string::npos);
  b = a;
  b.normalization = "none";
  const auto text = ecg::data::describe_mismatch(a, b);
  EXPECT_NE(text.find("normalisation"), std::string::npos);
  EXPECT_EQ(text.find("rate"), std::string::npos);  // only the differing field
  b.filter_low_hz = 0.5;
  const auto two = ecg::data::describe_mismatch(a, b);
  EXPECT_NE(two.find("filter"), std::string::npos);
  EXPECT_NE(two.find("normalisation"), std::string::npos);
  EXPECT_EQ(two.find('\n'), std::string::npos);
}

// Every field names both sides: the checkpoint's value, then the data's (the window included).
TEST(Manifest, MismatchNamesBothSidesOfEveryField) {
  const auto a = default_manifest();
  auto b = a;
  b.target_rate = 100;
  b.source_rate = 100;
  EXPECT_EQ(ecg::data::describe_mismatch(a, b).rfind(
                fmt::format("rate {} Hz (from {} Hz) vs 100 Hz (from 100 Hz)", a.target_rate, a.source_rate), 0), 0u)
      << ecg::data::describe_mismatch(a, b);
  b = a;
  b.duration_s = 5;
  b.n_samples = a.target_rate * 5;
  EXPECT_EQ(ecg::data::describe_mismatch(a, b),
            fmt::format("duration {} s ({} samples) vs 5 s ({} samples)", a.duration_s, a.n_samples, b.n_samples));
  b = a;
  b.normalization = "none";
  EXPECT_EQ(ecg::data::describe_mismatch(a, b), "normalisation " + a.normalization + " vs none");
  b = a;
  b.leads = {"I", "II"};
  EXPECT_NE(ecg::data::describe_mismatch(a, b).find("] vs [I,II]"), std::string::npos)
      << ecg::data::describe_mismatch(a, b);
}

}  // namespace
