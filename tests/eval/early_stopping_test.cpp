// Early stopping on validation macro AUROC: patience counting, best epoch, and resume through the
// JSON state deciding exactly as an uninterrupted run.
#include "eval/early_stopping.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "common/error.h"

namespace ecg::eval {
namespace {

TEST(EarlyStopping, StopsAfterPatienceEpochsWithoutImprovement) {
  EarlyStopping stop(/*patience=*/3);
  const std::vector<double> scores = {0.70, 0.72, 0.71, 0.72, 0.69, 0.90};
  const std::vector<bool> improved = {true, true, false, false, false};
  for (int epoch = 0; epoch < 5; ++epoch) {
    EXPECT_EQ(stop.update(epoch, scores[epoch]), improved[epoch]) << epoch;
    EXPECT_EQ(stop.should_stop(), epoch == 4) << epoch;  // an equal score is no improvement
  }
  EXPECT_EQ(stop.best_epoch(), 1);
  EXPECT_DOUBLE_EQ(stop.best_score(), 0.72);
  EXPECT_EQ(stop.epochs_without_improvement(), 3);
}

TEST(EarlyStopping, ImprovementResetsTheCounter) {
  EarlyStopping stop(2);
  stop.update(0, 0.5);
  stop.update(1, 0.4);
  EXPECT_TRUE(stop.update(2, 0.6));
  EXPECT_EQ(stop.epochs_without_improvement(), 0);
  stop.update(3, 0.6);
  EXPECT_FALSE(stop.should_stop());
  stop.update(4, 0.1);
  EXPECT_TRUE(stop.should_stop());
  EXPECT_EQ(stop.best_epoch(), 2);
}

TEST(EarlyStopping, MinDeltaAndNaNAndDisabled) {
  EarlyStopping stop(2, /*min_delta=*/0.01);
  EXPECT_FALSE(stop.has_best());
  EXPECT_FALSE(stop.update(0, std::nan("")));  // no evaluable label: never a best
  EXPECT_TRUE(stop.update(1, 0.80));
  EXPECT_FALSE(stop.update(2, 0.805));  // within min_delta
  EXPECT_TRUE(stop.update(3, 0.82));
  EXPECT_EQ(stop.best_epoch(), 3);

  EarlyStopping off(0);
  for (int epoch = 0; epoch < 50; ++epoch) off.update(epoch, 0.5);
  EXPECT_FALSE(off.should_stop());
  EXPECT_EQ(off.best_epoch(), 0);
  EXPECT_THROW(EarlyStopping(-1), ecg::Error);
}

TEST(EarlyStopping, EpochsMustIncrease) {
  EarlyStopping stop(3);
  stop.update(4, 0.5);
  EXPECT_THROW(stop.update(4, 0.6), ecg::Error);
  EXPECT_THROW(stop.update(2, 0.6), ecg::Error);
}

TEST(EarlyStopping, ResumedFromJsonDecidesLikeUninterrupted) {
  const std::vector<double> scores = {0.6, 0.65, 0.64, 0.66, 0.66, 0.65, 0.64};
  EarlyStopping straight(3);
  EarlyStopping resumed(3);
  for (int epoch = 0; epoch < 4; ++epoch) resumed.update(epoch, scores[epoch]);
  // Through text, as a checkpoint stores it.
  resumed = EarlyStopping::from_json(nlohmann::json::parse(resumed.to_json().dump()));
  for (int epoch = 0; epoch < static_cast<int>(scores.size()); ++epoch) {
    const bool a = straight.update(epoch, scores[epoch]);
    if (epoch >= 4) {
      EXPECT_EQ(resumed.update(epoch, scores[epoch]), a) << epoch;
      EXPECT_EQ(resumed.should_stop(), straight.should_stop()) << epoch;
    }
  }
  EXPECT_EQ(resumed.to_json(), straight.to_json());
  EXPECT_TRUE(straight.should_stop());
  EXPECT_EQ(straight.best_epoch(), 3);

  // A fresh state (no best yet) round-trips too: best_score is null in JSON.
  const EarlyStopping fresh = EarlyStopping::from_json(EarlyStopping(5).to_json());
  EXPECT_FALSE(fresh.has_best());
  EXPECT_EQ(fresh.patience(), 5);
}

TEST(EarlyStopping, BadStateNamesTheField) {
  nlohmann::json state = EarlyStopping(3).to_json();
  state.erase("last_epoch");
  try {
    EarlyStopping::from_json(state);
    FAIL() << "expected an error";
  } catch (const ecg::Error& e) {
    EXPECT_NE(e.message().find("'last_epoch'"), std::string::npos) << e.message();
  }
  state = EarlyStopping(3).to_json();
  state["patience"] = "three";
  EXPECT_THROW(EarlyStopping::from_json(state), ecg::Error);
}

}  // namespace
}  // namespace ecg::eval
