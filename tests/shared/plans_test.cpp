// Tests for corona/plans.h: the shipped plans.json parses and round-trips, every validation rule
// names its field, InputSpec equality covers the HU window, and the network input under a spec
// equals the explicit-argument transform.
#include "corona/plans.h"

#include <gtest/gtest.h>

#include <string>

#include "corona/file_io.h"
#include "corona/segmentation.h"

namespace corona {
namespace {

ModelPlans valid_plans() {
  ModelPlans p;
  p.version = "0.0.1";
  p.labels = default_labels("multiclass");
  p.files = {{"libtorch", "model.pt"}, {"onnx", "model.onnx"}};
  return p;
}

TEST(Plans, ShippedPlansParse) {
  auto text = read_file_bytes(CORONA_FIXTURES_DIR "/../../models/corona-net/plans.json", 1 << 20);
  ASSERT_TRUE(text.ok()) << text.error().message;
  auto p = ModelPlans::from_text(std::string(text->begin(), text->end()));
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->name, "corona-net");
  EXPECT_EQ(p->task, "multiclass");
  EXPECT_EQ(p->num_classes(), 4);
  EXPECT_EQ(p->label_name(1), "ggo");
  EXPECT_EQ(p->label_name(9), "class9");
  EXPECT_GT(p->input.size, 0);
  ASSERT_EQ(p->styles().size(), 4u);
  EXPECT_FALSE(p->styles()[0].visible);
  EXPECT_TRUE(p->styles()[3].visible);
}

TEST(Plans, RoundTripsThroughJson) {
  ModelPlans p = valid_plans();
  p.task = "binary";
  p.model.num_classes = 2;
  p.model.architecture = "resunet";
  p.labels = default_labels("binary");
  p.input = InputSpec{128, 0.4f, 0.3f, 255.0f, IntensityWindow{-500.0f, 1400.0f}};
  auto back = ModelPlans::from_json(p.to_json());
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->input, p.input);
  EXPECT_EQ(back->model, p.model);
  EXPECT_EQ(back->labels.size(), 2u);
  EXPECT_EQ(back->labels[1].name, "lesion");
  EXPECT_EQ(back->labels[1].colour, p.labels[1].colour);
  EXPECT_EQ(back->to_json(), p.to_json());
}

TEST(Plans, ValidationNamesTheField) {
  const struct {
    const char* what;
    void (*edit)(nlohmann::json&);
    const char* message;
  } cases[] = {
      {"other format", [](nlohmann::json& j) { j["format"] = "x"; }, "not a corona-net plans file"},
      {"newer version", [](nlohmann::json& j) { j["format_version"] = 2; }, "format_version 2"},
      {"unknown task", [](nlohmann::json& j) { j["task"] = "triage"; }, "task must be"},
      {"classes vs task", [](nlohmann::json& j) { j["model"]["num_classes"] = 3; }, "does not match the task"},
      {"size not square", [](nlohmann::json& j) { j["input"]["size"] = {256, 128}; }, "input.size must be [s, s]"},
      {"size too large", [](nlohmann::json& j) { j["input"]["size"] = {8192, 8192}; }, "at most 4096"},
      {"size vs depth", [](nlohmann::json& j) { j["input"]["size"] = {100, 100}; }, "multiple of 2^depth"},
      {"zero std", [](nlohmann::json& j) { j["input"]["normalisation"]["std"] = 0; }, "positive std"},
      {"zero window", [](nlohmann::json& j) { j["input"]["hu_window"]["width"] = 0; }, "hu_window"},
      {"labels missing", [](nlohmann::json& j) { j["labels"].erase(3); }, "labels must list every class"},
      {"labels order", [](nlohmann::json& j) { std::swap(j["labels"][1], j["labels"][2]); }, "value order"},
      {"colour range", [](nlohmann::json& j) { j["labels"][1]["colour"][0] = 300; }, "0..255"},
      {"path in files", [](nlohmann::json& j) { j["files"]["onnx"] = "../x.onnx"; }, "plain file name"},
      {"model typo", [](nlohmann::json& j) { j["model"]["base_channel"] = 8; }, "model.base_channel: unknown"},
      {"no input", [](nlohmann::json& j) { j.erase("input"); }, "missing or mistyped field input"},
      // Mistyped fields: refused with a message, never an exception (the wasm build catches none,
      // and this suite runs there too).
      {"size as text", [](nlohmann::json& j) { j["input"]["size"] = {"256", "256"}; }, "input.size must be [s, s]"},
      {"version number", [](nlohmann::json& j) { j["format_version"] = "1"; }, "format_version (expected an integer)"},
      {"name number", [](nlohmann::json& j) { j["name"] = 7; }, "name (expected a string)"},
      {"mean text", [](nlohmann::json& j) { j["input"]["normalisation"]["mean"] = "0.5"; },
       "input.normalisation.mean (expected a number)"},
      {"labels object", [](nlohmann::json& j) { j["labels"] = nlohmann::json::object(); }, "labels (expected an array)"},
      {"label name", [](nlohmann::json& j) { j["labels"][2]["name"] = nullptr; }, "labels[2].name"},
      {"colour text", [](nlohmann::json& j) { j["labels"][1]["colour"] = "red"; }, "labels[1].colour"},
      {"files array", [](nlohmann::json& j) { j["files"] = nlohmann::json::array(); }, "files (expected an object)"},
      {"training text", [](nlohmann::json& j) { j["training"] = "x"; }, "training (expected an object)"},
      {"not an object", [](nlohmann::json& j) { j = nlohmann::json::array(); }, "not a corona-net plans file"},
  };
  for (const auto& c : cases) {
    nlohmann::json j = valid_plans().to_json();
    c.edit(j);
    auto p = ModelPlans::from_json(j);
    ASSERT_FALSE(p.ok()) << c.what;
    EXPECT_NE(p.error().message.find(c.message), std::string::npos) << c.what << ": " << p.error().message;
    EXPECT_EQ(p.error().message.rfind("plans: ", 0), 0u) << p.error().message;
  }
  EXPECT_TRUE(ModelPlans::from_json(valid_plans().to_json()).ok());
  EXPECT_FALSE(ModelPlans::from_text("{not json").ok());
}

TEST(Plans, InputSpecEqualityCoversEveryField) {
  const InputSpec a;
  InputSpec b = a;
  EXPECT_EQ(a, b);
  b.hu_window.center += 1.0f;
  EXPECT_NE(a, b);
  b = a;
  b.max = 1.0f;
  EXPECT_NE(a, b);
  b = a;
  b.size = 128;
  EXPECT_NE(a, b);
}

TEST(Plans, ModelInputUnderASpecIsTheExplicitTransform) {
  ImageU8 img(8, 6);
  for (std::size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = static_cast<std::uint8_t>(i * 5);
  const InputSpec spec{16, 0.4f, 0.2f, 255.0f, IntensityWindow{-500.0f, 1000.0f}};
  EXPECT_EQ(model_input_from_u8(img, spec).pixels, model_input_from_u8(img, 16, 0.4f, 0.2f).pixels);
  ImageF hu(8, 6);
  for (std::size_t i = 0; i < hu.pixels.size(); ++i) hu.pixels[i] = -1000.0f + 40.0f * static_cast<float>(i);
  EXPECT_EQ(model_input_from_hu(hu, spec).pixels,
            model_input_from_hu(hu, IntensityWindow{-500.0f, 1000.0f}, 16, 0.4f, 0.2f).pixels);
}

TEST(Plans, DefaultLabels) {
  const auto m = default_labels("multiclass");
  ASSERT_EQ(m.size(), 4u);
  EXPECT_EQ(m[2].name, "consolidation");
  EXPECT_EQ(m[3].display_name, "Pleural effusion");
  EXPECT_EQ(default_labels("binary").size(), 2u);
  EXPECT_TRUE(default_labels("other").empty());
  EXPECT_EQ(task_num_classes("binary"), 2);
}

}  // namespace
}  // namespace corona
