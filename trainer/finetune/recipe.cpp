#include "trainer/finetune/recipe.h"

#include "trainer/finetune/train_options.h"

namespace ecg::finetune {

const char* recipe_name(Recipe recipe) {
  switch (recipe) {
    case Recipe::post_train: return "post-train";
    case Recipe::fine_tune: return "fine-tune";
    case Recipe::linear_probe: return "linear-probe";
  }
  return "?";
}

const std::map<std::string, Recipe>& recipes_by_name() {
  static const std::map<std::string, Recipe> names = {{"post-train", Recipe::post_train},
                                                      {"fine-tune", Recipe::fine_tune},
                                                      {"linear-probe", Recipe::linear_probe}};
  return names;
}

double default_drop_path(Recipe recipe) { return recipe == Recipe::post_train ? 0.1 : 0.0; }

std::vector<StagePlan> plan_recipe(const TrainOptions& o) {
  using monitoring::Stage;
  std::vector<StagePlan> plan;
  switch (o.recipe) {
    case Recipe::post_train:
      if (o.lp_epochs > 0) plan.push_back({Stage::linear_probing, o.lp_epochs, o.lp_lr, 0.0, true, false});
      plan.push_back({Stage::fine_tuning, o.epochs, o.lr, o.drop_path, false, true});
      break;
    case Recipe::fine_tune:
      plan.push_back({Stage::fine_tuning, o.epochs, o.lr, o.drop_path, false, true});
      break;
    case Recipe::linear_probe:
      plan.push_back({Stage::linear_probing, o.epochs, o.lp_lr, 0.0, true, true});
      break;
  }
  return plan;
}

}  // namespace ecg::finetune
