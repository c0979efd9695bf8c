// The recipes as types and the stage plans they run (trainer/finetune/recipe.h), and the options'
// recipe-dependent defaults and JSON spelling.
#include <gtest/gtest.h>

#include "common/error.h"
#include "trainer/finetune/recipe.h"
#include "trainer/finetune/train_options.h"

namespace ecg::finetune {
namespace {

using monitoring::Stage;

TrainOptions options(Recipe recipe) {
  TrainOptions o;
  o.data = "x.h5";
  o.out = "run";
  o.recipe = recipe;
  o.lp_epochs = 3;
  o.epochs = 7;
  o.lp_lr = 1e-3;
  o.lr = 1e-4;
  resolve_defaults(o);
  validate(o);
  return o;
}

TEST(Recipe, PostTrainProbesThenFineTunesWithStochasticDepth) {
  const auto plan = plan_recipe(options(Recipe::post_train));
  ASSERT_EQ(plan.size(), 2u);
  EXPECT_EQ(plan[0].stage, Stage::linear_probing);
  EXPECT_EQ(plan[0].epochs, 3);
  EXPECT_DOUBLE_EQ(plan[0].lr, 1e-3);
  EXPECT_TRUE(plan[0].head_only);
  EXPECT_FALSE(plan[0].early_stopping);
  EXPECT_DOUBLE_EQ(plan[0].drop_path, 0.0);
  EXPECT_EQ(plan[1].stage, Stage::fine_tuning);
  EXPECT_EQ(plan[1].epochs, 7);
  EXPECT_DOUBLE_EQ(plan[1].drop_path, 0.1);  // the default of post-training
  EXPECT_FALSE(plan[1].head_only);
  EXPECT_TRUE(plan[1].early_stopping);
}

TEST(Recipe, AblationsAndBaselines) {
  TrainOptions without_lp = options(Recipe::post_train);
  without_lp.lp_epochs = 0;
  const auto plan = plan_recipe(without_lp);
  ASSERT_EQ(plan.size(), 1u);
  EXPECT_EQ(plan[0].stage, Stage::fine_tuning);

  const auto fine_tune = plan_recipe(options(Recipe::fine_tune));
  ASSERT_EQ(fine_tune.size(), 1u);
  EXPECT_DOUBLE_EQ(fine_tune[0].drop_path, 0.0);  // no stochastic depth unless asked

  const auto probe = plan_recipe(options(Recipe::linear_probe));
  ASSERT_EQ(probe.size(), 1u);
  EXPECT_EQ(probe[0].stage, Stage::linear_probing);
  EXPECT_EQ(probe[0].epochs, 7);
  EXPECT_TRUE(probe[0].head_only);
  EXPECT_TRUE(probe[0].early_stopping);
}

TEST(Recipe, SpelledAsTheCliSpellsIt) {
  EXPECT_EQ(nlohmann::json(Recipe::post_train), "post-train");
  EXPECT_EQ(nlohmann::json("linear-probe").get<Recipe>(), Recipe::linear_probe);
  for (const auto& [name, recipe] : recipes_by_name()) EXPECT_EQ(recipe_name(recipe), name);
  TrainOptions o = options(Recipe::fine_tune);
  EXPECT_EQ(nlohmann::json(o)["recipe"], "fine-tune");
  EXPECT_EQ(nlohmann::json(o).get<TrainOptions>().recipe, Recipe::fine_tune);
}

TEST(TrainOptionsValidation, CropLengthFollowsTheModelsPatches) {
  TrainOptions o = options(Recipe::post_train);
  o.crop_length = 1000;
  try {
    validate(o);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(e.message().find("multiple of the 75-sample patch up to 2250"), std::string::npos) << e.message();
  }
}

}  // namespace
}  // namespace ecg::finetune
