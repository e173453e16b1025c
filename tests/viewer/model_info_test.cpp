// Tests for wasm/model_info.h and ViewerState::set_model: the shipped model folder through the
// core's plans reader, the card's extras, and a bad plans file refused without losing the model.
#include "model_info.h"

#include <gtest/gtest.h>

#include <cmath>

#include "viewer_state.h"
#include "viewer_test_util.h"

namespace corona::viewer {
namespace {

using test::model_file;
using test::read_text;

TEST(ModelInfo, ShippedFolderThroughTheCorePlans) {
  ViewerState s;
  ASSERT_TRUE(test::load_shipped_model(s)) << s.status;
  EXPECT_TRUE(s.model_loaded);
  const ModelPlans& p = s.model.plans;
  EXPECT_EQ(p.name, "corona-net");
  EXPECT_EQ(p.version, "1.0.0");
  EXPECT_EQ(p.input.size, 256);
  EXPECT_FLOAT_EQ(p.input.hu_window.center, -600.0f);
  EXPECT_FLOAT_EQ(p.input.hu_window.width, 1500.0f);
  EXPECT_EQ(p.num_classes(), 4);
  EXPECT_TRUE(p.model.classification_head);
  EXPECT_EQ(s.model.display_name(1), "Ground-glass opacity");
  EXPECT_EQ(s.model.display_name(9), "class 9");
  // The overlay takes the plans' colours, background hidden.
  ASSERT_EQ(s.styles.size(), 4u);
  EXPECT_FALSE(s.styles[0].visible);
  EXPECT_EQ(s.styles[1].colour.r, 255);
  EXPECT_EQ(s.styles[1].colour.g, 215);
  EXPECT_EQ(s.styles[1].colour.b, 0);
  EXPECT_EQ(s.model.best_epoch, 64);
  const nlohmann::json st = s.state_json()["model"];
  EXPECT_EQ(st["loaded"], true);
  EXPECT_EQ(st["input_size"], 256);
  EXPECT_EQ(st["num_classes"], 4);
}

TEST(ModelInfo, CardMetricsAndCurves) {
  auto m = parse_model_info(read_text(model_file("plans.json")), read_text(model_file("metrics.json")),
                            read_text(model_file("training_log.jsonl")));
  ASSERT_TRUE(m) << m.error().message;
  ASSERT_EQ(m->card.size(), 7u);
  EXPECT_EQ(m->card[0].name, "Lesion Dice");
  EXPECT_DOUBLE_EQ(m->card[0].target, 0.78);
  EXPECT_TRUE(std::isnan(m->card[4].target));  // effusion: no goal
  EXPECT_DOUBLE_EQ(m->card[6].test, 0.7448979591836735);  // test.classification.auc
  ASSERT_EQ(m->curves.size(), 4u);
  EXPECT_EQ(m->curves[0].name, "train_loss");
  EXPECT_FALSE(m->curves[0].values.empty());
  for (const Curve& c : m->curves) EXPECT_EQ(c.values.size(), m->curves[0].values.size()) << c.name;
}

TEST(ModelInfo, ExtrasAreOptional) {
  auto m = parse_model_info(read_text(model_file("plans.json")), "", "");
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_TRUE(m->card.empty());
  for (const Curve& c : m->curves) EXPECT_TRUE(c.values.empty());
  auto torn = parse_model_info(read_text(model_file("plans.json")), "{not json", "{\"train_loss\": 1}\n{\"train_lo");
  ASSERT_TRUE(torn) << torn.error().message;
  EXPECT_TRUE(torn->card.empty());
  EXPECT_EQ(torn->curves[0].values, std::vector<float>{1.0f});  // the torn last line is skipped
}

TEST(ModelInfo, ABadPlansFileIsRefusedAndTheModelStays) {
  ViewerState s;
  ASSERT_TRUE(test::load_shipped_model(s));
  nlohmann::json plans = nlohmann::json::parse(read_text(model_file("plans.json")));
  plans["input"]["size"] = {250, 250};  // not a multiple of 2^depth
  struct Case {
    const char* what;
    std::string text;
  };
  const Case cases[] = {{"not JSON", "{"}, {"another format", "{\"format\": \"x\"}"}, {"input size", plans.dump()}};
  for (const Case& c : cases) {
    EXPECT_FALSE(s.set_model(c.text, "", "")) << c.what;
    EXPECT_TRUE(s.status_is_error);
    EXPECT_EQ(s.status.rfind("Model: plans.json: ", 0), 0u) << s.status;
    EXPECT_EQ(s.model.plans.input.size, 256) << c.what;
  }
  EXPECT_NE(s.status.find("input.size"), std::string::npos) << s.status;
}

}  // namespace
}  // namespace corona::viewer
