// The engine's settings are one list with one validation (trainer/engine/engine_options.h): `train`
// and `pretrain` refuse the same bad schedule and engine values with the same message, and both
// write and read the engine's fields by the same names.
#include "trainer/engine/engine_options.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "common/error.h"
#include "trainer/finetune/train_options.h"
#include "trainer/pretrain/pretrain_options.h"

namespace ecg::engine {
namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.message();
  }
  return "";
}

finetune::TrainOptions train_options() {
  finetune::TrainOptions o;
  o.data = "x.h5";
  o.out = "run";
  finetune::resolve_defaults(o);
  return o;
}

pretrain::PretrainOptions pretrain_options() {
  pretrain::PretrainOptions o;
  o.data = "x.h5";
  o.out = "run";
  return o;
}

// Each case breaks one setting the same way in both tasks' options.
struct BadValue {
  const char* what;
  std::function<void(EngineOptions&, double&, double&, double&, double&, int&)> apply;
  const char* message;
};

TEST(EngineOptions, TrainAndPretrainRefuseTheSameValuesWithTheSameMessage) {
  const std::vector<BadValue> cases = {
      {"min_lr above lr", [](EngineOptions&, double& lr, double& min_lr, double&, double&, int&) { min_lr = lr * 2; },
       "--min-lr must be in [0, --lr]"},
      {"negative weight decay", [](EngineOptions&, double&, double&, double&, double& wd, int&) { wd = -0.1; },
       "--weight-decay must be >= 0 (got -0.1)"},
      {"zero lr", [](EngineOptions&, double& lr, double&, double&, double&, int&) { lr = 0; },
       "--lr must be positive (got 0)"},
      {"warmup of the whole stage", [](EngineOptions&, double&, double&, double& w, double&, int&) { w = 1; },
       "--warmup-fraction must be in [0, 1) (got 1)"},
      {"empty batch", [](EngineOptions&, double&, double&, double&, double&, int& b) { b = 0; },
       "--batch-size must be positive (got 0)"},
      {"unknown stop signal", [](EngineOptions& e, double&, double&, double&, double&, int&) { e.stop_signal = "HUP"; },
       "--stop-signal must be one of USR1, USR2, TERM, INT (got 'HUP')"},
      {"no prefetch", [](EngineOptions& e, double&, double&, double&, double&, int&) { e.prefetch_depth = 0; },
       "--prefetch must be >= 1 (got 0)"},
  };
  for (const BadValue& c : cases) {
    finetune::TrainOptions t = train_options();
    c.apply(t, t.lr, t.min_lr, t.warmup_fraction, t.weight_decay, t.batch_size);
    pretrain::PretrainOptions p = pretrain_options();
    c.apply(p, p.lr, p.min_lr, p.warmup_fraction, p.weight_decay, p.batch_size);
    const std::string train_error = error_of([&] { finetune::validate(t); });
    const std::string pretrain_error = error_of([&] { pretrain::validate(p); });
    EXPECT_NE(train_error.find(c.message), std::string::npos) << c.what << ": train said '" << train_error << "'";
    if (std::string(c.what) != "min_lr above lr") EXPECT_EQ(train_error, pretrain_error) << c.what;
    EXPECT_NE(pretrain_error.find(c.message), std::string::npos) << c.what << ": pretrain said '" << pretrain_error << "'";
  }
  EXPECT_EQ(error_of([&] { finetune::validate(train_options()); }), "");
  EXPECT_EQ(error_of([&] { pretrain::validate(pretrain_options()); }), "");
}

TEST(EngineOptions, BothTasksWriteAndReadTheEngineFieldsByTheSameNames) {
  finetune::TrainOptions t = train_options();
  t.bucket_mb = 7.5;
  t.stop_signal = "TERM";
  t.grad_dtype = GradDType::bf16;
  const nlohmann::json train_json = t;
  pretrain::PretrainOptions p;
  p = train_json.get<pretrain::PretrainOptions>();  // the engine's fields only: a task ignores the other's
  EXPECT_EQ(p.bucket_mb, 7.5);
  EXPECT_EQ(p.stop_signal, "TERM");
  EXPECT_EQ(p.grad_dtype, GradDType::bf16);
  nlohmann::json engine_only = nlohmann::json::object();
  engine_fields_to_json(engine_only, t);
  EXPECT_EQ(engine_only.size(), 16u);  // out .. quiet
  for (const auto& item : engine_only.items()) {
    EXPECT_EQ(nlohmann::json(p).at(item.key()), item.value()) << item.key();
  }
}

}  // namespace
}  // namespace ecg::engine
