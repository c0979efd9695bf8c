// Planning and rendering of synthetic ECGs (see synth_signal.h for the dipole model). Label
// effects follow textbook criteria loosely: rates for SBRAD/STACH, irregular RR + f-waves for
// AFIB, QRS widening and R'/notched R for bundle branch blocks, Q waves + ST/T changes in the
// infarct territory, voltage for LVH/LVOLT, axis for LAFB/LPFB/RVH, PR for 1AVB, ectopic beats...
#include "data/synth/synth_signal.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace ecg::data::synth {
namespace {

constexpr double kPi = 3.141592653589793;

Vec3 operator+(Vec3 a, Vec3 b) {
  return {a.x + b.x, a.y + b.y, a.z + b.z};
}
Vec3 operator*(double s, Vec3 a) {
  return {s * a.x, s * a.y, s * a.z};
}
double dot(Vec3 a, Vec3 b) {
  return a.x * b.x + a.y * b.y + a.z * b.z;
}
Vec3 unit(Vec3 a) {
  const double n = std::sqrt(dot(a, a));
  return n > 0 ? (1.0 / n) * a : a;
}

// Lead vectors of the independent channels: I, II (frontal plane, y points down) and V1..V6
// (horizontal plane, V4-V6 sit a little below the heart). Chest leads are closer to the heart.
constexpr double kChestGain = 1.8;
const std::array<Vec3, 8>& lead_vectors() {
  static const std::array<Vec3, 8> v = [] {
    std::array<Vec3, 8> out{};
    out[0] = {1, 0, 0};
    out[1] = {0.5, 0.8660254037844386, 0};
    const Vec3 chest[6] = {{-0.42, 0, 0.91}, {-0.09, 0, 1.0},   {0.26, 0.05, 0.97},
                           {0.5, 0.3, 0.8},  {0.8, 0.25, 0.45}, {0.95, 0.25, 0.0}};
    for (int k = 0; k < 6; ++k) out[2 + k] = kChestGain * unit(chest[k]);
    return out;
  }();
  return v;
}

// Infarct/ischaemia territories: unit vectors pointing from the heart's centre to the region.
Vec3 territory(const std::string& code) {
  auto is = [&](std::initializer_list<const char*> s) {
    for (const char* c : s)
      if (code == c) return true;
    return false;
  };
  if (is({"IMI", "INJIN", "ISCIN"})) return {0, 1, 0};
  if (is({"ASMI", "INJAS", "ISCAS"})) return unit({-0.3, 0, 1});
  if (is({"AMI", "ISCAN", "ANEUR"})) return unit({0.25, 0, 1});
  if (is({"ALMI", "INJAL", "ISCAL"})) return unit({0.7, -0.1, 0.7});
  if (is({"LMI", "INJLA", "ISCLA"})) return unit({1, -0.3, 0});
  if (is({"ILMI", "INJIL", "ISCIL"})) return unit({0.7, 0.7, 0});
  if (is({"IPLMI"})) return unit({0.55, 0.55, -0.55});
  if (is({"IPMI"})) return unit({0, 0.7, -0.7});
  if (is({"PMI"})) return {0, 0, -1};
  return {0, 0, 0};
}

// Morphology of a record's normal (supraventricular) beat.
struct Morphology {
  double w = 1;       // QRS width factor
  Vec3 septal, r, s;  // septal q, main R, terminal S vectors
  Vec3 t;             // T vector
  double t_sigma = 0.05;
  Vec3 p;  // P vector
  double p_sigma = 0.022;
  bool p_bifid = false;     // left atrial enlargement
  double pr = 0.16;         // P onset to QRS onset
  double qtc = 0.41;        // Bazett-corrected QT
  Vec3 st;                  // ST deviation vector
  std::vector<Wave> extra;  // label-specific waves, centre relative to the R peak
  double lbbb = 0, rbbb = 0;
  bool u_wave = false;
};

struct Beat {
  double r;  // R peak time (s)
  enum Kind { normal, pvc, pac, paced, escape } kind;
  bool p;  // P wave drawn before it (at r - qrs_onset_offset - pr)
  double pr;
};

void add_wave(RecordPlan& plan, double center, double sigma, Vec3 v) {
  plan.waves.push_back({center, sigma, v});
}

void add_p_wave(RecordPlan& plan, const Morphology& m, double p_onset) {
  const double c = p_onset + 2.3 * m.p_sigma;
  if (m.p_bifid) {
    add_wave(plan, c - 0.022, m.p_sigma * 0.8, 0.8 * m.p);
    add_wave(plan, c + 0.03, m.p_sigma * 0.9, 0.9 * Vec3{0.45, 0.45, -0.6} + 0.3 * m.p);
  } else {
    add_wave(plan, c, m.p_sigma, m.p);
  }
}

void add_normal_qrs_t(RecordPlan& plan, const Morphology& m, double r, double rr,
                      double width_extra, double t_scale) {
  const double w = m.w * width_extra;
  add_wave(plan, r - 0.028 * w, 0.009 * w, m.septal);
  if (m.lbbb > 0) {
    // Notched broad R towards the left ventricle: two humps, slow conduction through the LV.
    add_wave(plan, r - 0.018 * w, 0.013 * w, (0.55 * m.lbbb) * m.r);
    add_wave(plan, r + 0.018 * w, 0.013 * w, (0.6 * m.lbbb) * m.r);
    add_wave(plan, r, 0.011 * w, (1 - m.lbbb) * m.r);
  } else {
    add_wave(plan, r, 0.011 * w, m.r);
  }
  add_wave(plan, r + 0.028 * w, 0.01 * w, m.s);
  for (const auto& e : m.extra) add_wave(plan, r + e.center * w, e.sigma * w, e.v);
  const double q_onset = r - 0.045 * w;
  const double qt = m.qtc * std::sqrt(std::clamp(rr, 0.3, 2.0)) + 0.02 * (w - 1);
  const double t_peak = q_onset + qt - 2.2 * m.t_sigma;
  add_wave(plan, t_peak, m.t_sigma, t_scale * m.t);
  if (m.u_wave) add_wave(plan, q_onset + qt + 0.07, 0.035, 0.1 * unit(m.t));
  if (dot(m.st, m.st) > 0) plan.plateaus.push_back({r + 0.045 * w, t_peak, 0.012, m.st});
}

void add_pvc(RecordPlan& plan, double r, Vec3 dir) {
  // Wide bizarre QRS from a ventricular focus, T opposite to it, no P wave.
  add_wave(plan, r - 0.02, 0.022, 1.1 * dir);
  add_wave(plan, r + 0.03, 0.025, 0.6 * dir + Vec3{0.2, -0.3, 0.1});
  add_wave(plan, r + 0.3, 0.06, -0.35 * dir);
}

void add_paced(RecordPlan& plan, double r, bool atrial, double p_onset, const Morphology& m) {
  const Vec3 spike = {0.35, 0.8, -0.3};
  if (atrial) {
    add_wave(plan, p_onset - 0.004, 0.003, 2.0 * spike);
    add_p_wave(plan, m, p_onset);
  }
  // Right-ventricular apical pacing: spike, then a wide QRS with a superior axis (LBBB-like).
  const double onset = r - 0.06;
  add_wave(plan, onset - 0.003, 0.003, 3.0 * spike);
  const Vec3 dir = unit({0.6, -0.55, -0.6});
  add_wave(plan, r - 0.015, 0.024, 1.3 * dir);
  add_wave(plan, r + 0.035, 0.022, 0.7 * dir);
  add_wave(plan, r + 0.33, 0.06, -0.3 * dir);
}

std::string lead_group(Rng& rng) {
  static const char* groups[] = {"alles",   ", I-AVF,", ", V1-V6,",
                                 ", I-V1,", ", V2-V4,", ", I-AVR,"};
  return groups[rng.below(6)];
}

int channels_of(const std::string& group, int channel) {
  // Which independent channels a lead group names (limb channels 0-1, chest 2-7).
  if (group == "alles" || group == ", I-V1,") return 1;
  if (group == ", I-AVF," || group == ", I-AVR,") return channel < 2;
  if (group == ", V1-V6,") return channel >= 2;
  if (group == ", V2-V4,") return channel >= 3 && channel <= 5;
  return 0;
}

}  // namespace

RecordPlan plan_record(const RecordLabels& labels, uint64_t seed, int ecg_id, double duration) {
  Rng rng(seed, static_cast<uint64_t>(ecg_id), kSignalStream);
  RecordPlan plan;
  plan.duration = duration;
  auto has = [&](const char* c) { return labels.has(c); };
  const std::string rhythm = labels.rhythm();

  // ---- Normal morphology with per-person variation. ----
  Morphology m;
  double axis = std::clamp(rng.normal(50, 22), -25.0, 95.0);
  double qrs_amp = rng.uniform(0.8, 1.5);
  double z_tilt = rng.uniform(-0.4, -0.2);
  double t_amp = rng.uniform(0.2, 0.4);
  double p_amp = rng.uniform(0.08, 0.16);
  m.w = rng.uniform(0.9, 1.1);
  m.pr = rng.uniform(0.13, 0.19);
  m.qtc = rng.uniform(0.38, 0.43);
  double septal_scale = 1.0, s_scale = 1.0;

  // Axis and voltage statements.
  if (has("LAFB")) axis = rng.uniform(-75, -45);
  if (has("LPFB")) axis = rng.uniform(100, 130);
  if (has("RVH")) axis = rng.uniform(100, 140);
  if (has("LVOLT")) qrs_amp *= rng.uniform(0.3, 0.45), t_amp *= 0.6;
  if (has("HVOLT")) qrs_amp *= rng.uniform(1.6, 2.0);
  if (has("VCLVH")) qrs_amp *= rng.uniform(1.6, 2.0), z_tilt -= 0.2;
  if (has("LVH")) qrs_amp *= rng.uniform(1.8, 2.3), z_tilt -= 0.3;
  if (has("SEHYP")) septal_scale = 3.0;
  const double ax = axis * kPi / 180.0;
  m.r = qrs_amp * Vec3{std::cos(ax), std::sin(ax), z_tilt};
  m.septal = (0.25 * septal_scale) * unit({-0.35, 0.05, 0.45});
  m.s = (0.45 * s_scale * std::sqrt(qrs_amp)) * unit({-0.25, -0.35, -0.6});
  const double t_axis = (std::clamp(axis, 0.0, 70.0) + rng.normal(0, 10)) * kPi / 180.0;
  m.t = t_amp * unit({std::cos(t_axis), std::sin(t_axis), 0.3});
  m.p = p_amp * unit({0.5, 0.8, 0.1});

  // Conduction.
  if (has("IVCD")) m.w *= rng.uniform(1.35, 1.5);
  if (has("ILBBB")) m.w *= rng.uniform(1.25, 1.35), m.lbbb = 0.5;
  if (has("CLBBB")) m.w *= rng.uniform(1.6, 1.8), m.lbbb = 1.0;
  if (has("IRBBB")) m.w *= rng.uniform(1.12, 1.22), m.rbbb = 0.5;
  if (has("CRBBB")) m.w *= rng.uniform(1.4, 1.6), m.rbbb = 1.0;
  if (m.lbbb > 0) {
    // Septum activates right-to-left (no q in I/V6), main forces leftward-posterior (QS in V1),
    // ST-T discordant to the QRS.
    const Vec3 lv = unit({0.75, 0.2, -0.75});
    m.septal = (1 - m.lbbb) * m.septal + (0.2 * m.lbbb) * lv;
    m.r = (1 - 0.6 * m.lbbb) * m.r + (0.6 * m.lbbb * qrs_amp) * lv;
    m.s = (1 - m.lbbb) * m.s;
    m.t = (1 - m.lbbb) * m.t + (-0.3 * m.lbbb) * lv;
    m.st = m.st + (-0.1 * m.lbbb) * lv;
  }
  if (m.rbbb > 0) {
    // Late slow rightward-anterior forces: rsR' in V1, broad S in I and V6.
    m.extra.push_back({0.045, 0.016, (0.75 * m.rbbb) * unit({-0.55, 0.1, 0.85})});
    m.t = m.t + (0.12 * m.rbbb) * unit({0.3, 0, -0.5});
  }
  if (has("WPW")) {
    m.pr = rng.uniform(0.08, 0.11);
    m.w *= 1.1;
    m.extra.push_back({-0.04, 0.02, 0.35 * m.r});  // delta wave: early slurred upstroke
  }
  if (has("1AVB")) m.pr = rng.uniform(0.22, 0.34);
  if (has("LPR")) m.pr = std::max(m.pr, rng.uniform(0.21, 0.28));
  if (has("RVH")) m.extra.push_back({0.01, 0.012, 0.7 * unit({-0.4, 0.2, 0.9})});

  // Atria.
  if (has("LAO/LAE")) m.p_bifid = true, m.p_sigma = 0.026;
  if (has("RAO/RAE")) m.p = (p_amp * 2.2) * unit({0.2, 1, 0.3}), m.p_sigma = 0.019;

  // Infarction, injury, ischaemia.
  for (const auto& [code, likelihood] : labels.codes) {
    const Vec3 u = territory(code);
    if (dot(u, u) == 0) continue;
    const bool injury = code.rfind("INJ", 0) == 0, ischaemia = code.rfind("ISC", 0) == 0;
    if (injury) {
      m.st = m.st + (-rng.uniform(0.08, 0.15)) * u;  // subendocardial: ST depression
      m.t = 0.6 * m.t;
    } else if (ischaemia) {
      m.t = m.t + (-rng.uniform(0.15, 0.3)) * u;
      m.st = m.st + (-0.04) * u;
    } else {
      // Necrosis: initial forces point away (Q waves), R loss, T inversion facing the scar.
      m.extra.push_back({-0.03, 0.012, -rng.uniform(0.35, 0.6) * u});
      m.extra.push_back({0.0, 0.011, (-0.4 * qrs_amp) * u});
      m.t = m.t + (-rng.uniform(0.15, 0.3)) * u;
      if (code == "ANEUR" || rng.chance(0.25)) m.st = m.st + rng.uniform(0.1, 0.25) * u;
    }
  }
  if (has("ISC_")) {
    static const char* where[] = {"ISCAN", "ISCLA", "ISCIN", "ISCAL"};
    m.t = m.t + (-rng.uniform(0.12, 0.25)) * territory(where[rng.below(4)]);
  }
  if (has("QWAVE")) {
    static const char* where[] = {"IMI", "LMI", "ASMI"};
    m.extra.push_back({-0.03, 0.012, -rng.uniform(0.3, 0.5) * territory(where[rng.below(3)])});
  }
  if (has("ABQRS")) {
    const Vec3 notch = unit({rng.normal(), rng.normal(), rng.normal()});
    m.extra.push_back({0.015, 0.006, 0.25 * notch});
  }
  if (has("LVH") && rng.chance(0.5)) {  // strain pattern in lateral leads
    m.st = m.st + (-0.06) * unit({1, 0.2, -0.2});
    m.t = m.t + (-0.3) * unit({1, 0.2, -0.2});
  }

  // ST-T statements.
  const Vec3 t_dir = unit(m.t);
  const Vec3 r_dir = unit(m.r);
  if (has("NST_") || has("STD_")) m.st = m.st + (-rng.uniform(0.05, 0.1)) * t_dir;
  if (has("NST_")) m.t = 0.7 * m.t;
  if (has("STE_")) m.st = m.st + rng.uniform(0.08, 0.15) * r_dir;
  if (has("NDT") || has("NT_") || has("TAB_")) {
    const double a = rng.uniform(-1.0, 1.0);  // rotate the T vector in the frontal plane
    m.t = rng.uniform(0.2, 0.5) * Vec3{m.t.x * std::cos(a) - m.t.y * std::sin(a),
                                       m.t.x * std::sin(a) + m.t.y * std::cos(a), m.t.z};
  }
  if (has("LOWT")) m.t = rng.uniform(0.15, 0.35) * m.t;
  if (has("INVT")) m.t = -rng.uniform(0.3, 0.7) * m.t;
  if (has("DIG")) m.st = m.st + (-0.08) * t_dir, m.qtc *= 0.88, m.t = 0.5 * m.t;
  if (has("LNGQT")) m.qtc = rng.uniform(0.48, 0.56);
  if (has("EL")) m.t = 1.8 * m.t, m.t_sigma *= 0.7, m.u_wave = true;

  // ---- Rhythm: schedule of beats. ----
  double hr = std::clamp(rng.normal(72, 8), 60.0, 98.0);
  double resp_mod = rng.uniform(0.0, 0.04), jitter = 0.015;
  if (rhythm == "STACH") hr = rng.uniform(102, 150);
  if (rhythm == "SBRAD") hr = rng.uniform(40, 57);
  if (rhythm == "SARRH") resp_mod = rng.uniform(0.12, 0.22), hr = std::clamp(hr, 58.0, 90.0);
  if (rhythm == "PACE") hr = rng.uniform(60, 75);
  if (has("3AVB") && rhythm == "SR") hr = rng.uniform(65, 95);  // atrial rate
  const double resp_period = rng.uniform(3.0, 5.5), resp_phase = rng.uniform(0, 2 * kPi);
  const double base_rr = 60.0 / hr;
  auto sinus_rr = [&](double t) {
    return base_rr * (1 + resp_mod * std::sin(2 * kPi * t / resp_period + resp_phase) +
                      jitter * rng.normal());
  };

  std::vector<Beat> beats;
  std::vector<double> lone_p;  // P waves not followed by a QRS (AV block)
  const double end = duration + 0.6;
  const double qrs_offset = 0.045 * m.w;  // QRS onset to R peak

  // Ectopic beats: which beat indices are premature, and of which kind.
  int n_pvc = 0, n_pac = 0;
  std::vector<int> ectopic_at(64, 0);  // 0 none, 1 PVC, 2 PAC
  const Vec3 pvc_dir = rng.chance(0.5) ? unit({-0.6, -0.5, 0.6}) : unit({0.7, 0.4, -0.6});
  auto mark = [&](int from, int count, int kind) {
    for (int k = 0; k < count; ++k) ectopic_at[std::clamp(from + 3 * k, 1, 63)] = kind;
  };
  if (has("PVC")) mark(2 + rng.below(4), 1 + rng.below(3), 1);
  if (has("PAC")) mark(3 + rng.below(4), 1 + rng.below(3), 2);
  if (has("PRC(S)")) mark(2 + rng.below(6), 1 + rng.below(2), rng.chance(0.5) ? 1 : 2);
  const int bigeminy_kind = rng.chance(0.7) ? 1 : 2;
  for (int k = 1; k < 64; ++k) {
    if (rhythm == "BIGU" && k % 2 == 1) ectopic_at[k] = bigeminy_kind;
    if (rhythm == "TRIGU" && k % 3 == 2) ectopic_at[k] = bigeminy_kind;
    if (rhythm == "SVARR" && rng.chance(0.3)) ectopic_at[k] = 2;
  }

  if (rhythm == "AFIB") {
    const double mean_rr = 60.0 / rng.uniform(65, 125);
    for (double t = -rng.uniform(0, mean_rr); t < end;) {
      beats.push_back({t, Beat::normal, false, 0});
      t += std::max(0.33, mean_rr * std::exp(rng.normal(0, 0.22)));
    }
    const int n = 2 + rng.below(2);
    for (int k = 0; k < n; ++k)
      plan.oscillations.push_back({rng.uniform(4.5, 7.5), rng.uniform(0, 2 * kPi),
                                   rng.uniform(0.025, 0.06) * unit({0.2, 0.5, 0.8}), false});
  } else if (rhythm == "AFLT") {
    const double f = rng.uniform(4.5, 5.3);  // 270-320 flutter waves per minute
    const double phase = rng.uniform(0, 2 * kPi);
    plan.oscillations.push_back({f, phase, rng.uniform(0.15, 0.25) * unit({0, -0.8, 0.4}), true});
    const bool variable = rng.chance(0.3);
    int ratio = rng.chance(0.6) ? 2 : 4;
    for (double t = -rng.uniform(0, 0.5); t < end;) {
      beats.push_back({t, Beat::normal, false, 0});
      if (variable) ratio = rng.chance(0.5) ? 2 : 4;
      t += ratio / f;
    }
  } else if (rhythm == "SVTAC" || rhythm == "PSVT") {
    const double svt_rr = 60.0 / rng.uniform(150, 210);
    // PSVT: sinus rhythm with a paroxysm of SVT inside the record; SVTAC: SVT throughout.
    const double run_start = rhythm == "PSVT" ? rng.uniform(1.5, 5.0) : -1.0;
    const double run_end = rhythm == "PSVT" ? run_start + rng.uniform(2.0, 4.0) : end + 1;
    for (double t = -rng.uniform(0, base_rr); t < end;) {
      const bool in_run = t >= run_start && t < run_end;
      beats.push_back({t, Beat::normal, !in_run, m.pr});
      t += in_run ? svt_rr * (1 + 0.01 * rng.normal()) : sinus_rr(t);
    }
  } else if (has("3AVB")) {
    // Complete heart block: P waves at the sinus rate, QRS from a slow wide escape rhythm.
    for (double t = -rng.uniform(0, base_rr); t < end; t += sinus_rr(t)) lone_p.push_back(t);
    const double escape_rr = 60.0 / rng.uniform(32, 48);
    for (double t = -rng.uniform(0, escape_rr); t < end; t += escape_rr * (1 + 0.01 * rng.normal()))
      beats.push_back({t, Beat::escape, false, 0});
  } else if (has("2AVB")) {
    // Mobitz I (Wenckebach): PR lengthens beat by beat until one P is not conducted.
    const int cycle = 3 + rng.below(2);
    int j = 0;
    for (double s = -rng.uniform(0, base_rr); s < end; s += sinus_rr(s), ++j) {
      const int pos = j % cycle;
      if (pos == cycle - 1) {
        lone_p.push_back(s);
      } else {
        const double pr = m.pr + 0.09 * pos;
        beats.push_back({s + pr + qrs_offset, Beat::normal, true, pr});
      }
    }
  } else {
    // Sinus node firings (P onsets); premature beats are inserted between them.
    const bool paced = rhythm == "PACE";
    const bool atrial_paced = paced && rng.chance(0.5);
    int k = 0;
    for (double s = -rng.uniform(0, base_rr); s < end; ++k) {
      const double rr = sinus_rr(s);
      const int ectopic = k < 64 ? ectopic_at[k] : 0;
      const double prev_r = beats.empty() ? s - rr + m.pr + qrs_offset : beats.back().r;
      if (ectopic == 1 && !paced) {
        // PVC early after the previous beat; the next sinus beat is hidden: compensatory pause.
        beats.push_back({prev_r + rng.uniform(0.5, 0.65) * rr, Beat::pvc, false, 0});
        ++n_pvc;
        s += 2 * rr;
        continue;
      }
      if (ectopic == 2 && !paced) {
        // PAC: early ectopic P with normal QRS; the sinus node resets after it.
        const double p_on = prev_r - qrs_offset - m.pr + rng.uniform(0.6, 0.75) * rr;
        beats.push_back({p_on + m.pr + qrs_offset, Beat::pac, true, m.pr});
        ++n_pac;
        s = p_on + rr;
        continue;
      }
      if (paced) {
        beats.push_back({s + m.pr + 0.06, Beat::paced, atrial_paced, m.pr});
      } else {
        beats.push_back({s + m.pr + qrs_offset, Beat::normal, true, m.pr});
      }
      s += rr;
    }
  }

  // ---- Waves of every beat. ----
  for (double s : lone_p) add_p_wave(plan, m, s);
  const double qrs_nominal_rr = base_rr;
  for (size_t i = 0; i < beats.size(); ++i) {
    const Beat& b = beats[i];
    const double rr = i > 0 ? b.r - beats[i - 1].r
                            : (beats.size() > 1 ? beats[1].r - beats[0].r : qrs_nominal_rr);
    switch (b.kind) {
      case Beat::pvc:
        add_pvc(plan, b.r, pvc_dir);
        break;
      case Beat::paced:
        add_paced(plan, b.r, b.p, b.r - 0.06 - b.pr, m);
        break;
      case Beat::pac: {
        Morphology ectopic_p = m;
        ectopic_p.p = (0.8 * std::sqrt(dot(m.p, m.p))) * unit({0.4, -0.7, 0.3});
        ectopic_p.p_bifid = false;
        add_p_wave(plan, ectopic_p, b.r - qrs_offset - b.pr);
        add_normal_qrs_t(plan, m, b.r, rr, 1.0, 1.0);
        break;
      }
      case Beat::escape:
        add_normal_qrs_t(plan, m, b.r, rr, 1.4, 1.2);
        break;
      case Beat::normal:
        if (b.p) add_p_wave(plan, m, b.r - qrs_offset - b.pr);
        add_normal_qrs_t(plan, m, b.r, rr, 1.0, 1.0);
        break;
    }
  }

  // ---- Summary for metadata and tests. ----
  int counted = 0;
  double first = 0, last = 0;
  for (const auto& b : beats) {
    if (b.r < 0 || b.r >= duration) continue;
    if (counted == 0) first = b.r;
    last = b.r;
    ++counted;
  }
  plan.n_beats = counted;
  plan.mean_rr = counted > 1 ? (last - first) / (counted - 1) : base_rr;
  plan.qrs_width = (has("3AVB") ? 1.4 : 1.0) * 0.09 * m.w;
  plan.qrs_scale = qrs_amp;
  plan.axis_deg = axis;
  if (rng.chance(0.6)) {
    plan.heart_axis = axis < -30    ? "ALAD"
                      : axis < 0    ? "LAD"
                      : axis <= 90  ? "MID"
                      : axis <= 120 ? "RAD"
                                    : "ARAD";
  }
  if (n_pvc > 0) plan.extra_beats = fmt::format("{}VES", n_pvc);
  if (n_pac > 0) plan.extra_beats += (n_pvc > 0 ? ", " : "") + fmt::format("{}SVES", n_pac);
  if (rhythm == "PACE") plan.pacemaker = "ja, pacemaker";

  // ---- Artefacts: baseline wander, white noise, static noise and bursts (named in metadata). --
  const bool drift = rng.chance(0.07), static_noise = rng.chance(0.15), burst = rng.chance(0.03);
  const std::string drift_group = drift ? lead_group(rng) : "";
  const std::string static_group = static_noise ? lead_group(rng) : "";
  const std::string burst_group = burst ? lead_group(rng) : "";
  const double white = rng.uniform(0.004, 0.015);
  for (int c = 0; c < 8; ++c) {
    const double drift_amp = channels_of(drift_group, c) ? rng.uniform(0.15, 0.4) : 0.03;
    for (int k = 0; k < 2; ++k)
      plan.wander[c].push_back(
          {rng.uniform(0.05, 0.5), rng.uniform(0, 2 * kPi), drift_amp * rng.uniform(0.3, 1.0)});
    plan.white_sd[c] = white * (channels_of(static_group, c) ? rng.uniform(3, 5) : 1.0);
  }
  if (burst) {
    const double start = rng.uniform(0, duration - 1), len = rng.uniform(0.3, 1.0);
    const double sd = rng.uniform(0.1, 0.2);
    for (int c = 0; c < 8; ++c)
      if (channels_of(burst_group, c)) plan.bursts.push_back({c, start, start + len, sd});
  }
  plan.baseline_drift = drift_group;
  plan.static_noise = static_group;
  plan.burst_noise = burst_group;
  return plan;
}

std::vector<std::vector<float>> render_record(const RecordPlan& plan, double rate, uint64_t seed,
                                              int ecg_id) {
  const auto n = static_cast<size_t>(std::llround(plan.duration * rate));
  const double dt = 1.0 / rate;
  std::vector<double> dx(n, 0.0), dy(n, 0.0), dz(n, 0.0);

  // Gaussians are widened by half a sample (area kept) so narrow waves, e.g. pacing spikes,
  // are not missed or aliased at 100 Hz.
  for (const auto& w : plan.waves) {
    const double sigma = std::sqrt(w.sigma * w.sigma + 0.25 * dt * dt);
    const double scale = w.sigma / sigma, inv = 1.0 / (2 * sigma * sigma);
    const auto lo = static_cast<int64_t>(std::ceil((w.center - 5 * sigma) * rate));
    const auto hi = static_cast<int64_t>(std::floor((w.center + 5 * sigma) * rate));
    for (int64_t i = std::max<int64_t>(lo, 0); i <= hi && i < static_cast<int64_t>(n); ++i) {
      const double d = i * dt - w.center;
      const double g = scale * std::exp(-d * d * inv);
      dx[i] += g * w.v.x;
      dy[i] += g * w.v.y;
      dz[i] += g * w.v.z;
    }
  }
  for (const auto& p : plan.plateaus) {
    const auto lo = static_cast<int64_t>(std::ceil((p.start - 6 * p.edge) * rate));
    const auto hi = static_cast<int64_t>(std::floor((p.end + 6 * p.edge) * rate));
    for (int64_t i = std::max<int64_t>(lo, 0); i <= hi && i < static_cast<int64_t>(n); ++i) {
      const double t = i * dt;
      const double g = 1.0 / (1 + std::exp(-(t - p.start) / p.edge)) *
                       (1.0 / (1 + std::exp((t - p.end) / p.edge)));
      dx[i] += g * p.v.x;
      dy[i] += g * p.v.y;
      dz[i] += g * p.v.z;
    }
  }
  for (const auto& o : plan.oscillations) {
    for (size_t i = 0; i < n; ++i) {
      const double ph = 2 * kPi * o.freq * i * dt + o.phase;
      // Sawtooth: slow ramp, fast return (flutter waves); both have unit amplitude.
      const double g =
          o.sawtooth ? 2 * (ph / (2 * kPi) - std::floor(ph / (2 * kPi))) - 1 : std::sin(ph);
      dx[i] += g * o.v.x;
      dy[i] += g * o.v.y;
      dz[i] += g * o.v.z;
    }
  }

  // Independent channels I, II, V1..V6 with their noise; the other limb leads derived from I, II.
  Rng noise(seed, static_cast<uint64_t>(ecg_id), kNoiseStream100 + static_cast<uint64_t>(rate));
  std::array<std::vector<double>, 8> ch;
  const auto& lv = lead_vectors();
  for (int c = 0; c < 8; ++c) {
    ch[c].resize(n);
    for (size_t i = 0; i < n; ++i) {
      const double t = i * dt;
      double v = dx[i] * lv[c].x + dy[i] * lv[c].y + dz[i] * lv[c].z;
      for (const auto& s : plan.wander[c]) v += s.amp * std::sin(2 * kPi * s.freq * t + s.phase);
      v += plan.white_sd[c] * noise.normal();
      ch[c][i] = v;
    }
  }
  for (const auto& b : plan.bursts) {
    for (size_t i = 0; i < n; ++i) {
      const double t = i * dt;
      if (t >= b.start && t < b.end) ch[b.channel][i] += b.sd * noise.normal();
    }
  }
  std::vector<std::vector<float>> leads(12, std::vector<float>(n));
  for (size_t i = 0; i < n; ++i) {
    const double I = ch[0][i], II = ch[1][i];
    leads[0][i] = static_cast<float>(I);
    leads[1][i] = static_cast<float>(II);
    leads[2][i] = static_cast<float>(II - I);         // III
    leads[3][i] = static_cast<float>(-(I + II) / 2);  // aVR
    leads[4][i] = static_cast<float>(I - II / 2);     // aVL
    leads[5][i] = static_cast<float>(II - I / 2);     // aVF
    for (int k = 0; k < 6; ++k) leads[6 + k][i] = static_cast<float>(ch[2 + k][i]);
  }
  return leads;
}

}  // namespace ecg::data::synth
