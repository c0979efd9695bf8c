// Synthetic 12-lead ECG signals that depend on their labels. A record is planned once (beats,
// morphology, artefacts: everything random except white noise) and then rendered at any sampling
// rate, so its 100 Hz and 500 Hz versions show the same heartbeats.
//
// Model: the heart is a 3-D dipole (x = left, y = inferior, z = anterior) that is a sum of
// Gaussian waves per beat (P, septal q, R, S, T, plus label-specific waves: R', delta, Q of an
// infarct, ...) and smooth ST plateaus. Leads I, II and V1..V6 project the dipole on their lead
// vectors; III, aVR, aVL and aVF follow from I and II by Einthoven/Goldberger (III = II - I,
// aVR = -(I + II)/2, aVL = I - II/2, aVF = II - I/2), so they hold exactly before quantisation.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "data/synth/synth_labels.h"

namespace ecg::data::synth {

struct Vec3 {
  double x = 0, y = 0, z = 0;
};

struct Wave {  // Gaussian dipole component: v * exp(-(t - center)^2 / (2 sigma^2))
  double center, sigma;
  Vec3 v;
};

struct Plateau {  // smooth step up at start and down at end (ST deviation)
  double start, end, edge;
  Vec3 v;
};

struct Oscillation {  // atrial fibrillation f-waves (sine) or flutter waves (sawtooth)
  double freq, phase;
  Vec3 v;
  bool sawtooth;
};

struct Sinusoid {
  double freq, phase, amp;
};

struct Burst {
  int channel;  // 0..7: I, II, V1..V6
  double start, end, sd;
};

struct RecordPlan {
  double duration = 10.0;
  std::vector<Wave> waves;
  std::vector<Plateau> plateaus;
  std::vector<Oscillation> oscillations;
  std::array<std::vector<Sinusoid>, 8> wander;  // baseline wander per independent channel
  std::array<double, 8> white_sd{};             // white noise per independent channel (mV)
  std::vector<Burst> bursts;
  // What the plan contains, for ptbxl_database.csv and for tests.
  double mean_rr = 0;    // s, mean interval between QRS complexes
  double qrs_width = 0;  // s, nominal QRS duration of a normal beat
  double qrs_scale = 1;  // QRS amplitude factor
  double axis_deg = 0;   // frontal QRS axis
  int n_beats = 0;
  std::string heart_axis, extra_beats, pacemaker, baseline_drift, static_noise, burst_noise;
};

// Draws the plan of record `ecg_id` from (seed, ecg_id); depends on nothing else.
RecordPlan plan_record(const RecordLabels& labels, uint64_t seed, int ecg_id,
                       double duration = 10.0);

// Renders the plan at `rate` Hz: 12 leads x round(duration * rate) samples, in mV. White noise
// is drawn from (seed, ecg_id, rate).
std::vector<std::vector<float>> render_record(const RecordPlan& plan, double rate, uint64_t seed,
                                              int ecg_id);

}  // namespace ecg::data::synth
