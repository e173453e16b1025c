// Tests for corona_native/evaluate.h on the committed tiny model and the fixture data folder: the
// summary's figures are recomputed from the Predictor's outputs with the core's pure functions.
#include "corona_native/evaluate.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "corona/metrics.h"
#include "corona/postprocess.h"
#include "corona_native/dataset.h"

namespace corona::native {

std::string make_fixture_data_dir(const std::string& name);  // dataset_test.cpp

namespace {

namespace fs = std::filesystem;

const std::string kTinyModel = std::string(CORONA_FIXTURES_DIR) + "/models/tiny/checkpoint.pt";

class EvaluateTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { data_ = new std::string(make_fixture_data_dir("evaluate")); }
  static void TearDownTestSuite() {
    fs::remove_all(*data_);
    delete data_;
  }
  static EvaluateOptions options(const std::string& split) {
    EvaluateOptions o;
    o.model_path = kTinyModel;
    o.data_dir = *data_;
    o.split = split;
    o.predictor.threads = 1;
    o.predictor.device = "cpu";
    return o;
  }
  static std::string* data_;
};
std::string* EvaluateTest::data_ = nullptr;

double value_or_nan(const nlohmann::json& j) { return j.is_null() ? std::nan("") : j.get<double>(); }

void expect_same(double expected, const nlohmann::json& actual, const std::string& what) {
  SCOPED_TRACE(what);
  if (std::isnan(expected)) {
    EXPECT_TRUE(actual.is_null()) << actual;
  } else {
    EXPECT_DOUBLE_EQ(expected, actual.get<double>());
  }
}

TEST_F(EvaluateTest, PerCaseFiguresAreTheCoreMetricsOfThePredictions) {
  EvaluateOptions o = options("val");
  o.ucsd = true;
  auto e = evaluate_model(o);
  ASSERT_TRUE(e.ok()) << e.error().message;
  const nlohmann::json& s = e->summary;
  EXPECT_TRUE(e->notes.empty());
  EXPECT_EQ(s.at("split"), "val");
  ASSERT_EQ(s.at("num_cases"), 2);  // the fixture's val list: 48, 32

  auto cases = load_medseg_split(*data_, "val");
  ASSERT_TRUE(cases.ok());
  PredictorOptions po;
  po.threads = 1;
  po.device = "cpu";
  auto pred = Predictor::load(kTinyModel, po);
  ASSERT_TRUE(pred.ok());
  for (std::size_t i = 0; i < 2; ++i) {
    const SegCase& c = (*cases)[i];
    const nlohmann::json& row = s.at("metric_per_case")[i];
    EXPECT_EQ(row.at("index"), c.index);
    auto p = pred->predict_slice(c.image);
    ASSERT_TRUE(p.ok());
    const LabelMap ref = lesion_labels(c.labels);
    auto dice = binary_dice(p->lesion_probability, ref, 0.5);
    auto table = contingency_table(threshold(p->lesion_probability, 0.5f, 1), ref);
    auto multi = segmentation_metrics(p->labels, c.labels, SegmentationOptions{{1, 2, 3}, EmptyPolicy::kNaN});
    ASSERT_TRUE(dice.ok() && table.ok() && multi.ok());
    expect_same(*dice, row.at("dice"), "dice");
    expect_same(rand_error(*table), row.at("rand_error"), "rand_error");
    expect_same(multi->per_class[1].values.dice, row.at("consolidation_dice"), "consolidation_dice");
    expect_same(multi->rand_error, row.at("rand_error_multiclass"), "rand_error_multiclass");
  }
  // Means skip nulls, and cases_counted says how many values each has.
  for (const auto& [key, mean] : s.at("mean").items()) {
    std::vector<double> xs;
    std::size_t finite = 0;
    for (const nlohmann::json& row : s.at("metric_per_case")) {
      xs.push_back(value_or_nan(row.at(key)));
      finite += row.at(key).is_null() ? 0 : 1;
    }
    expect_same(nan_mean(xs), mean, key);
    EXPECT_EQ(s.at("cases_counted").at(key), finite) << key;
  }
  // UCSD val of the fixture: one COVID and one non-COVID image.
  const nlohmann::json& cls = s.at("classification");
  EXPECT_EQ(cls.at("num_images"), 2);
  const auto& cm = cls.at("confusion_matrix");
  EXPECT_EQ(cm[0][0].get<int>() + cm[0][1].get<int>() + cm[1][0].get<int>() + cm[1][1].get<int>(), 2);
}

TEST_F(EvaluateTest, ExcludedSlicesAreLeftOutAndMissingOnesNoted) {
  EvaluateOptions o = options("val");
  o.excluded = {48, 7};
  auto e = evaluate_model(o);
  ASSERT_TRUE(e.ok()) << e.error().message;
  EXPECT_EQ(e->summary.at("num_cases"), 1);
  EXPECT_EQ(e->summary.at("metric_per_case")[0].at("index"), 32);
  EXPECT_EQ(e->summary.at("excluded_slices"), nlohmann::json::array({7, 48}));
  ASSERT_EQ(e->notes.size(), 1u);
  EXPECT_EQ(e->notes[0], "1 of the 2 excluded slices are not in split val");
  EXPECT_FALSE(e->summary.contains("classification"));
}

TEST_F(EvaluateTest, NoCaseLeftGivesEmptyMeans) {
  EvaluateOptions o = options("val");
  o.excluded = {48, 32};
  auto e = evaluate_model(o);
  ASSERT_TRUE(e.ok()) << e.error().message;
  EXPECT_EQ(e->summary.at("num_cases"), 0);
  EXPECT_EQ(e->summary.at("mean"), nlohmann::json::object());
  EXPECT_EQ(e->summary.at("cases_counted"), nlohmann::json::object());
}

TEST_F(EvaluateTest, ErrorsNameWhatFailed) {
  auto bad_split = evaluate_model(options("holdout"));
  ASSERT_FALSE(bad_split.ok());
  EXPECT_NE(bad_split.error().message.find("split must be val, test or train"), std::string::npos);
  EvaluateOptions o = options("val");
  o.model_path = "/nonexistent/model.pt";
  auto missing = evaluate_model(o);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("/nonexistent/model.pt"), std::string::npos) << missing.error().message;
}

}  // namespace
}  // namespace corona::native
