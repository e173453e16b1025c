// Tests for corona_native/model.h: shapes, parameter counts against a hand-written formula,
// gradient flow, determinism, the class activation map, config validation and save/load.
// Everything is small (base 4-8 channels, 32-96 px) so the suite stays fast on 2 CPU cores.
#include "corona_native/model.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

namespace corona::native {
namespace {

ModelConfig make_config(const std::string& arch, int base, int depth, int classes = 4, bool head = true,
                        int in_channels = 1) {
  ModelConfig c;
  c.architecture = arch;
  c.base_channels = base;
  c.depth = depth;
  c.num_classes = classes;
  c.classification_head = head;
  c.in_channels = in_channels;
  return c;
}

// Parameter count written out from the architecture description, independently of model.cpp:
// conv3x3 without bias (9·in·out) + BN (2·out), ConvTranspose 2x2 with bias, 1x1 seg head with
// bias, Linear(C, 1) head, and for resunet the 1x1 projection + BN when channels change.
std::int64_t expected_parameters(const ModelConfig& c) {
  auto conv_bn = [](std::int64_t in, std::int64_t out) { return 9 * in * out + 2 * out; };
  std::int64_t total = 0;
  std::int64_t in = c.in_channels;
  for (int k = 0; k <= c.depth; ++k) {
    const std::int64_t out = static_cast<std::int64_t>(c.base_channels) << k;
    total += conv_bn(in, out) + conv_bn(out, out);
    if (c.architecture == "resunet" && in != out) total += in * out + 2 * out;
    in = out;
  }
  for (int k = 0; k < c.depth; ++k) {
    const std::int64_t lo = static_cast<std::int64_t>(c.base_channels) << k;
    const std::int64_t hi = 2 * lo;
    total += hi * lo * 4 + lo;                         // ConvTranspose2d 2x2
    total += conv_bn(2 * lo, lo) + conv_bn(lo, lo);    // decoder stage after the concat
  }
  total += static_cast<std::int64_t>(c.base_channels) * c.num_classes + c.num_classes;
  if (c.classification_head) total += (static_cast<std::int64_t>(c.base_channels) << c.depth) + 1;
  return total;
}

// ------------------------------------------------------------------------------------------------
// Shapes

struct ShapeCase {
  std::string arch;
  int base, depth, in_channels, classes, n, h, w;
};

class ModelShapeTest : public ::testing::TestWithParam<ShapeCase> {};

TEST_P(ModelShapeTest, OutputShapesMatchTheConfig) {
  const ShapeCase& p = GetParam();
  torch::manual_seed(0);
  CoronaNet net(make_config(p.arch, p.base, p.depth, p.classes, true, p.in_channels));
  net->eval();
  torch::NoGradGuard no_grad;
  const ModelOutput out = net->forward(torch::randn({p.n, p.in_channels, p.h, p.w}));
  const std::int64_t s = std::int64_t{1} << p.depth;
  EXPECT_EQ(out.seg_logits.sizes(), (std::vector<std::int64_t>{p.n, p.classes, p.h, p.w}));
  EXPECT_EQ(out.cls_logit.sizes(), (std::vector<std::int64_t>{p.n}));
  EXPECT_EQ(out.features.sizes(),
            (std::vector<std::int64_t>{p.n, std::int64_t{p.base} << p.depth, p.h / s, p.w / s}));
  EXPECT_TRUE(torch::isfinite(out.seg_logits).all().item<bool>());
  const torch::Tensor cam = net->class_activation_map(out, p.h, p.w);
  EXPECT_EQ(cam.sizes(), (std::vector<std::int64_t>{p.n, p.h, p.w}));
}

INSTANTIATE_TEST_SUITE_P(
    Model, ModelShapeTest,
    ::testing::Values(ShapeCase{"unet", 4, 3, 1, 4, 2, 64, 64},   //
                      ShapeCase{"unet", 4, 4, 1, 4, 1, 96, 96},   // 96 / 16 = 6: not a power of 2
                      ShapeCase{"unet", 8, 1, 3, 2, 1, 64, 32},   // RGB in, binary out, not square
                      ShapeCase{"resunet", 4, 3, 1, 4, 2, 96, 96},
                      ShapeCase{"resunet", 4, 4, 1, 4, 1, 64, 64},
                      ShapeCase{"resunet", 4, 2, 1, 3, 2, 32, 48}),
    [](const ::testing::TestParamInfo<ShapeCase>& i) {
      const ShapeCase& p = i.param;
      return p.arch + "_b" + std::to_string(p.base) + "_d" + std::to_string(p.depth) + "_" +
             std::to_string(p.h) + "x" + std::to_string(p.w);
    });

TEST(ModelTest, WithoutHeadHasNoLogitAndNoCam) {
  torch::manual_seed(0);
  CoronaNet net(make_config("unet", 4, 2, 4, /*head=*/false));
  net->eval();
  torch::NoGradGuard no_grad;
  const ModelOutput out = net->forward(torch::randn({1, 1, 32, 32}));
  EXPECT_FALSE(out.cls_logit.defined());
  EXPECT_EQ(out.seg_logits.sizes(), (std::vector<std::int64_t>{1, 4, 32, 32}));
  EXPECT_THROW(net->class_activation_map(out, 32, 32), std::logic_error);
}

// ------------------------------------------------------------------------------------------------
// Parameter counts

TEST(ModelTest, ParameterCountOfTheSeedUnetIsAbout1point9M) {
  const ModelConfig c = make_config("unet", 16, 4);
  CoronaNet net(c);
  // About 1.9 M; hand sum: encoder 1,179,472 + decoder 762,800 + seg head 68
  // + cls head 257.
  EXPECT_EQ(net->parameter_count(), 1942597);
  EXPECT_GE(net->parameter_count(), 1800000);
  EXPECT_LE(net->parameter_count(), 2000000);
}

TEST(ModelTest, ParameterCountOfTheResidualUnet) {
  CoronaNet net(make_config("resunet", 16, 4));
  // The U-Net's 1,942,597 plus the five 1x1 projection shortcuts with their BN (44,528).
  EXPECT_EQ(net->parameter_count(), 1987125);
}

TEST(ModelTest, ParameterCountMatchesTheFormulaForATable) {
  const std::vector<ModelConfig> table = {
      make_config("unet", 8, 4),               // about 0.49 M
      make_config("unet", 4, 1, 2, false),     //
      make_config("unet", 16, 3, 4, true, 3),  //
      make_config("resunet", 8, 4),            //
      make_config("resunet", 4, 2, 3, false),  //
      make_config("resunet", 4, 3, 4, true, 4),
  };
  for (const ModelConfig& c : table) {
    CoronaNet net(c);
    EXPECT_EQ(net->parameter_count(), expected_parameters(c)) << c.to_json().dump();
  }
  EXPECT_NEAR(static_cast<double>(expected_parameters(make_config("unet", 8, 4))), 0.49e6, 0.01e6);
}

// ------------------------------------------------------------------------------------------------
// Gradients, determinism, save/load

class ModelArchTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ModelArchTest, EveryParameterGetsAGradientFromSegPlusClsLoss) {
  torch::manual_seed(1);
  CoronaNet net(make_config(GetParam(), 4, 3));
  net->train();
  const torch::Tensor x = torch::randn({2, 1, 32, 32});
  const torch::Tensor target = torch::randint(0, 4, {2, 32, 32}, torch::kLong);
  const torch::Tensor label = torch::tensor({1.0f, 0.0f});
  const ModelOutput out = net->forward(x);
  const torch::Tensor loss = torch::nn::functional::cross_entropy(out.seg_logits, target) +
                             torch::nn::functional::binary_cross_entropy_with_logits(out.cls_logit, label);
  loss.backward();
  int checked = 0;
  for (const auto& item : net->named_parameters()) {
    const torch::Tensor& g = item.value().grad();
    ASSERT_TRUE(g.defined()) << item.key() << " has no gradient";
    EXPECT_TRUE(torch::isfinite(g).all().item<bool>()) << item.key();
    EXPECT_GT(g.abs().sum().item<double>(), 0.0) << item.key() << " has an all-zero gradient";
    ++checked;
  }
  EXPECT_GT(checked, 30);
}

TEST_P(ModelArchTest, InitialisationIsDeterministicGivenTheSeedAndEvalIsDeterministic) {
  const ModelConfig c = make_config(GetParam(), 4, 2);
  torch::manual_seed(7);
  CoronaNet a(c);
  torch::manual_seed(7);
  CoronaNet b(c);
  torch::manual_seed(8);
  CoronaNet other(c);
  const auto pa = a->parameters();
  const auto pb = b->parameters();
  const auto po = other->parameters();
  ASSERT_EQ(pa.size(), pb.size());
  bool any_differs = false;
  for (std::size_t i = 0; i < pa.size(); ++i) {
    EXPECT_TRUE(torch::equal(pa[i], pb[i])) << "parameter " << i;
    any_differs = any_differs || !torch::equal(pa[i], po[i]);
  }
  EXPECT_TRUE(any_differs) << "a different seed should give different weights";

  a->eval();
  b->eval();
  torch::NoGradGuard no_grad;
  const torch::Tensor x = torch::randn({2, 1, 32, 32});
  const ModelOutput o1 = a->forward(x);
  const ModelOutput o2 = a->forward(x);
  const ModelOutput o3 = b->forward(x);
  EXPECT_TRUE(torch::equal(o1.seg_logits, o2.seg_logits));
  EXPECT_TRUE(torch::equal(o1.cls_logit, o2.cls_logit));
  EXPECT_TRUE(torch::equal(o1.seg_logits, o3.seg_logits));
  // Eval mode uses the running statistics: a batch's outputs do not depend on its neighbours.
  const ModelOutput single = a->forward(x.slice(0, 0, 1));
  EXPECT_TRUE(torch::allclose(single.seg_logits, o1.seg_logits.slice(0, 0, 1), 1e-5, 1e-5));
}

TEST_P(ModelArchTest, SaveLoadRoundTripsToIdenticalOutputs) {
  const ModelConfig c = make_config(GetParam(), 4, 2);
  torch::manual_seed(3);
  CoronaNet a(c);
  // Move the BatchNorm running statistics away from their initial 0/1 and take one step, so the
  // round trip has to carry buffers as well as trained parameters.
  a->train();
  torch::optim::SGD opt(a->parameters(), torch::optim::SGDOptions(0.1));
  for (int i = 0; i < 2; ++i) {
    const ModelOutput out = a->forward(torch::randn({2, 1, 32, 32}) * 3 + 1);
    opt.zero_grad();
    (out.seg_logits.square().mean() + out.cls_logit.square().mean()).backward();
    opt.step();
  }
  const auto path = std::filesystem::temp_directory_path() /
                    ("corona_model_test_" + GetParam() + "_" + std::to_string(::getpid()) + ".pt");
  torch::save(a, path.string());

  torch::manual_seed(4);
  CoronaNet b(c);
  torch::load(b, path.string());
  std::filesystem::remove(path);

  const auto ba = a->named_buffers();
  const auto bb = b->named_buffers();
  ASSERT_EQ(ba.size(), bb.size());
  bool moved = false;
  for (const auto& item : ba) {
    EXPECT_TRUE(torch::equal(item.value(), bb[item.key()])) << item.key();
    if (item.key().find("running_mean") != std::string::npos) {
      moved = moved || item.value().abs().sum().item<double>() > 0;
    }
  }
  EXPECT_TRUE(moved);

  a->eval();
  b->eval();
  torch::NoGradGuard no_grad;
  const torch::Tensor x = torch::randn({2, 1, 32, 32});
  const ModelOutput oa = a->forward(x);
  const ModelOutput ob = b->forward(x);
  EXPECT_TRUE(torch::equal(oa.seg_logits, ob.seg_logits));
  EXPECT_TRUE(torch::equal(oa.cls_logit, ob.cls_logit));
}

TEST_P(ModelArchTest, FoldedBatchNormGivesTheEvalOutputsAndLeavesTheParametersAlone) {
  const ModelConfig c = make_config(GetParam(), 4, 2);
  torch::manual_seed(5);
  CoronaNet net(c);
  // Running statistics and affine BN parameters away from 0/1/1/0, so the fold has work to do.
  net->train();
  torch::optim::SGD opt(net->parameters(), torch::optim::SGDOptions(0.1));
  for (int i = 0; i < 3; ++i) {
    const ModelOutput out = net->forward(torch::randn({2, 1, 32, 32}) * 2 + 0.5);
    opt.zero_grad();
    (out.seg_logits.square().mean() + out.cls_logit.square().mean()).backward();
    opt.step();
  }
  net->eval();
  const torch::Tensor x = torch::randn({2, 1, 32, 32});
  ModelOutput ref;
  {
    torch::NoGradGuard no_grad;
    ref = net->forward(x);
  }
  std::vector<torch::Tensor> before;
  for (const auto& p : net->parameters()) before.push_back(p.detach().clone());
  EXPECT_FALSE(net->batchnorm_folded());
  net->fold_batchnorm_for_inference();
  EXPECT_TRUE(net->batchnorm_folded());
  c10::InferenceMode guard;
  const ModelOutput folded = net->forward(x);
  EXPECT_TRUE(torch::allclose(folded.seg_logits, ref.seg_logits, 1e-4, 1e-5))
      << (folded.seg_logits - ref.seg_logits).abs().max().item<double>();
  EXPECT_TRUE(torch::allclose(folded.cls_logit, ref.cls_logit, 1e-4, 1e-5));
  EXPECT_TRUE(torch::allclose(folded.features, ref.features, 1e-4, 1e-5));
  const auto after = net->parameters();
  ASSERT_EQ(after.size(), before.size());
  for (std::size_t i = 0; i < after.size(); ++i) EXPECT_TRUE(torch::equal(after[i], before[i])) << "parameter " << i;
  // Folded weights ignore batch statistics: training through them must not happen silently.
  net->train();
  EXPECT_THROW(net->forward(x), std::logic_error);
}

TEST(ModelTest, FoldingNeedsEvalMode) {
  CoronaNet net(make_config("unet", 4, 2));
  net->train();
  EXPECT_THROW(net->fold_batchnorm_for_inference(), std::logic_error);
}

INSTANTIATE_TEST_SUITE_P(Model, ModelArchTest, ::testing::Values("unet", "resunet"));

// ------------------------------------------------------------------------------------------------
// Input validation

struct BadInputCase {
  std::string name;
  std::vector<std::int64_t> shape;
  std::string message_part;
};

TEST(ModelTest, BadInputSizesGiveAClearError) {
  torch::manual_seed(0);
  CoronaNet net(make_config("unet", 4, 3));  // 2^3 = 8
  net->eval();
  torch::NoGradGuard no_grad;
  const std::vector<BadInputCase> table = {
      {"odd height", {1, 1, 63, 64}, "63x64 must be a positive multiple of 2^depth = 8"},
      {"width not /8", {1, 1, 64, 60}, "64x60 must be a positive multiple of 2^depth = 8"},
      {"even but not /8", {1, 1, 36, 36}, "2^depth = 8"},
      {"3-D", {1, 64, 64}, "4-D"},
      {"wrong channels", {1, 3, 64, 64}, "expected 1 input channel(s), got 3"},
  };
  for (const BadInputCase& c : table) {
    try {
      net->forward(torch::zeros(c.shape));
      ADD_FAILURE() << c.name << ": no exception";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(c.message_part), std::string::npos)
          << c.name << ": " << e.what();
    }
  }
}

TEST(ModelTest, ConstructorRejectsAnInvalidConfig) {
  EXPECT_THROW(CoronaNet(make_config("vgg", 4, 3)), std::invalid_argument);
  EXPECT_THROW(CoronaNet(make_config("unet", 4, 0)), std::invalid_argument);
}

// ------------------------------------------------------------------------------------------------
// Class activation map

TEST(ModelCamTest, ValuesAreFiniteAndInTheUnitInterval) {
  torch::manual_seed(5);
  CoronaNet net(make_config("resunet", 4, 3));
  net->eval();
  torch::NoGradGuard no_grad;
  const ModelOutput out = net->forward(torch::randn({3, 1, 64, 64}));
  const torch::Tensor cam = net->class_activation_map(out, 64, 64);
  ASSERT_EQ(cam.sizes(), (std::vector<std::int64_t>{3, 64, 64}));
  EXPECT_TRUE(torch::isfinite(cam).all().item<bool>());
  EXPECT_GE(cam.min().item<float>(), 0.0f);
  EXPECT_LE(cam.max().item<float>(), 1.0f);
  // Every image is scaled on its own: each either reaches 1 or is flat zero.
  for (int i = 0; i < 3; ++i) {
    const float mx = cam[i].max().item<float>();
    EXPECT_TRUE(mx == 0.0f || std::abs(mx - 1.0f) < 1e-6f) << "image " << i << " max " << mx;
  }
  // Output size need not be the input size (e.g. drawing at display resolution).
  EXPECT_EQ(net->class_activation_map(out, 100, 80).sizes(), (std::vector<std::int64_t>{3, 100, 80}));
}

// A constructed case: with known head weights and features the map's peak has a known place.
TEST(ModelCamTest, PeaksWhereTheWeightedFeaturesArePositive) {
  torch::manual_seed(0);
  CoronaNet net(make_config("unet", 4, 3));  // features: 32 channels at 1/8 resolution
  torch::NoGradGuard no_grad;
  for (auto& item : net->named_parameters()) {
    if (item.key() == "cls_head.weight") {
      item.value().zero_();
      item.value()[0][0] = 1.0f;   // channel 0 is evidence for "infected"
      item.value()[0][1] = -2.0f;  // channel 1 is evidence against
    }
  }
  ModelOutput out;
  out.features = torch::zeros({2, 32, 8, 8});
  // Image 0: evidence at cell (row 2, col 5); a stronger counter-evidence spot elsewhere must
  // not show (ReLU), and an unweighted channel must not matter.
  out.features[0][0][2][5] = 3.0f;
  out.features[0][1][6][1] = 5.0f;
  out.features[0][7][6][6] = 9.0f;
  // Image 1: nothing: the map is all zeros, not NaN.
  const torch::Tensor cam = net->class_activation_map(out, 64, 64);
  ASSERT_EQ(cam.sizes(), (std::vector<std::int64_t>{2, 64, 64}));
  EXPECT_TRUE(torch::isfinite(cam).all().item<bool>());

  const torch::Tensor map0 = cam[0];
  const auto arg = map0.flatten().argmax().item<std::int64_t>();
  const std::int64_t row = arg / 64;
  const std::int64_t col = arg % 64;
  // Cell (2, 5) covers rows 16..23 and cols 40..47 of the 64x64 input; with align_corners=false
  // its centre is at (19.5, 43.5), so the peak pixels are rows 19-20, cols 43-44.
  EXPECT_GE(row, 19);
  EXPECT_LE(row, 20);
  EXPECT_GE(col, 43);
  EXPECT_LE(col, 44);
  EXPECT_FLOAT_EQ(map0.max().item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(map0[52][12].item<float>(), 0.0f);  // the counter-evidence cell's centre
  EXPECT_FLOAT_EQ(map0[52][52].item<float>(), 0.0f);  // the unweighted channel's cell
  EXPECT_FLOAT_EQ(map0[0][0].item<float>(), 0.0f);
  EXPECT_EQ(cam[1].abs().sum().item<float>(), 0.0f);
}

// End to end: 30 training steps of the classification head on a toy task (infected = an 8x8
// bright square somewhere in noise), then the map of new infected images must sit on the square.
// A short training gives a blurry map, so the robust check is "more mass inside than outside" for
// every image (seen to hold with a >= 1.27x margin for the U-Net and >= 2.2x for the ResUNet over
// five seeds); the ResUNet, whose identity paths keep features local, must also put the peak on
// the square for most images (5-8 of 8 over five seeds). The plain U-Net's peak often lands
// elsewhere after 30 steps, so it is not asserted; the exact peak is checked above on a
// constructed case.
class ModelCamTrainedTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ModelCamTrainedTest, HighlightsTheBrightSquareAfterAShortTraining) {
  constexpr int kSize = 32;
  constexpr int kSquare = 8;
  torch::manual_seed(0);
  CoronaNet net(make_config(GetParam(), 4, 2));  // 8x8 features for 32x32 inputs
  auto make_batch = [&](int n, std::vector<std::pair<int, int>>* corners) {
    torch::Tensor x = torch::randn({n, 1, kSize, kSize}) * 0.3;
    torch::Tensor y = torch::zeros({n});
    for (int i = 0; i < n; i += 2) {  // even images are infected
      const int r = static_cast<int>(torch::randint(0, kSize - kSquare, {1}).item<std::int64_t>());
      const int c = static_cast<int>(torch::randint(0, kSize - kSquare, {1}).item<std::int64_t>());
      x[i][0].slice(0, r, r + kSquare).slice(1, c, c + kSquare) += 2.0;
      y[i] = 1.0;
      if (corners != nullptr) corners->emplace_back(r, c);
    }
    return std::make_pair(x, y);
  };
  torch::optim::Adam opt(net->parameters(), torch::optim::AdamOptions(1e-2));
  net->train();
  for (int step = 0; step < 30; ++step) {
    auto [x, y] = make_batch(8, nullptr);
    const ModelOutput out = net->forward(x);
    const torch::Tensor loss = torch::nn::functional::binary_cross_entropy_with_logits(out.cls_logit, y);
    opt.zero_grad();
    loss.backward();
    opt.step();
  }
  net->eval();
  torch::NoGradGuard no_grad;
  std::vector<std::pair<int, int>> corners;
  auto [x, y] = make_batch(16, &corners);
  const ModelOutput out = net->forward(x);
  const auto correct = torch::eq(out.cls_logit > 0, y > 0.5).sum().item<std::int64_t>();
  EXPECT_GE(correct, 14) << "the classifier did not learn the toy task: " << out.cls_logit;

  const torch::Tensor cam = net->class_activation_map(out, kSize, kSize);
  int peaks_inside = 0;
  for (std::size_t k = 0; k < corners.size(); ++k) {
    const torch::Tensor map = cam[static_cast<std::int64_t>(2 * k)];
    const auto [r, c] = corners[k];
    torch::Tensor square = torch::zeros({kSize, kSize});
    square.slice(0, r, r + kSquare).slice(1, c, c + kSquare).fill_(1.0);
    const double inside = (map * square).sum().item<double>() / square.sum().item<double>();
    const double outside = (map * (1 - square)).sum().item<double>() / (1 - square).sum().item<double>();
    EXPECT_GT(inside, outside) << "image " << 2 * k << ": square at (" << r << ", " << c << ")";
    const auto arg = map.flatten().argmax().item<std::int64_t>();
    const auto row = static_cast<int>(arg / kSize);
    const auto col = static_cast<int>(arg % kSize);
    // Two pixels of slack: the map is 8x8 upsampled bilinearly.
    if (row >= r - 2 && row < r + kSquare + 2 && col >= c - 2 && col < c + kSquare + 2) ++peaks_inside;
  }
  if (GetParam() == "resunet") {
    EXPECT_GE(peaks_inside, 5) << "of " << corners.size();
  }
  std::cout << "[          ] " << GetParam() << ": CAM peak on the square in " << peaks_inside << " of "
            << corners.size() << " images\n";
}

INSTANTIATE_TEST_SUITE_P(Model, ModelCamTrainedTest, ::testing::Values("unet", "resunet"));

// ------------------------------------------------------------------------------------------------
// Config JSON

TEST(ModelConfigTest, RoundTripsThroughJson) {
  const std::vector<ModelConfig> table = {
      ModelConfig{},
      make_config("resunet", 32, 5, 2, false, 3),
      make_config("unet", 1, 1, 2, true, 1),      // lower bounds
      make_config("resunet", 256, 6, 17, true, 2),  // upper bounds
  };
  for (const ModelConfig& c : table) {
    const nlohmann::json j = c.to_json();
    const Expected<ModelConfig> back = ModelConfig::from_json(j);
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_EQ(back->architecture, c.architecture);
    EXPECT_EQ(back->in_channels, c.in_channels);
    EXPECT_EQ(back->base_channels, c.base_channels);
    EXPECT_EQ(back->depth, c.depth);
    EXPECT_EQ(back->num_classes, c.num_classes);
    EXPECT_EQ(back->classification_head, c.classification_head);
    EXPECT_EQ(back->to_json(), j);
  }
}

TEST(ModelConfigTest, MissingFieldsKeepTheirDefaults) {
  const Expected<ModelConfig> c = ModelConfig::from_json(nlohmann::json::parse(R"({"architecture":"resunet"})"));
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->architecture, "resunet");
  EXPECT_EQ(c->base_channels, 16);
  EXPECT_EQ(c->depth, 4);
  EXPECT_EQ(c->num_classes, 4);
  EXPECT_TRUE(c->classification_head);
  EXPECT_TRUE(ModelConfig::from_json(nlohmann::json::object()).ok());
}

struct BadConfigCase {
  const char* json;
  const char* message_part;  // the error must name the field
};

TEST(ModelConfigTest, FromJsonRejectsInvalidFields) {
  const std::vector<BadConfigCase> table = {
      {R"({"architecture": "vgg"})", "model.architecture: unknown \"vgg\""},
      {R"({"architecture": 3})", "model.architecture: must be a string"},
      {R"({"in_channels": 0})", "model.in_channels: must be >= 1, got 0"},
      {R"({"in_channels": 1.5})", "model.in_channels: must be an integer"},
      {R"({"in_channels": "1"})", "model.in_channels: must be an integer"},
      {R"({"base_channels": 0})", "model.base_channels: must be in 1..256, got 0"},
      {R"({"base_channels": 257})", "model.base_channels: must be in 1..256, got 257"},
      {R"({"base_channels": 10000000000})", "model.base_channels: out of range"},
      {R"({"depth": 0})", "model.depth: must be in 1..6, got 0"},
      {R"({"depth": 7})", "model.depth: must be in 1..6, got 7"},
      {R"({"depth": -1})", "model.depth: must be in 1..6, got -1"},
      {R"({"num_classes": 1})", "model.num_classes: must be >= 2"},
      {R"({"classification_head": "yes"})", "model.classification_head: must be true or false"},
      {R"({"classification_head": 1})", "model.classification_head: must be true or false"},
      {R"({"base_channel": 8})", "model.base_channel: unknown field"},
      {R"([1, 2])", "model: expected a JSON object"},
      {R"(null)", "model: expected a JSON object"},
  };
  for (const BadConfigCase& c : table) {
    const Expected<ModelConfig> r = ModelConfig::from_json(nlohmann::json::parse(c.json));
    ASSERT_FALSE(r.ok()) << c.json;
    EXPECT_NE(r.error().message.find(c.message_part), std::string::npos)
        << c.json << " -> " << r.error().message;
  }
}

}  // namespace
}  // namespace corona::native
