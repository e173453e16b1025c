// Tests for corona_native/trainer.h and checkpoint.h: losses and LR schedule by hand, then short
// real trainings of a tiny network (base 4, depth 2, 64x64) on the fixture data folder.
#include "corona_native/trainer.h"
#include "cli/verbs.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "corona_native/checkpoint.h"
#include "corona_native/precision.h"

namespace corona::native {

std::string make_fixture_data_dir(const std::string& name);  // dataset_test.cpp

namespace {

namespace fs = std::filesystem;

TrainOptions tiny_options(const std::string& data, const std::string& out) {
  TrainOptions o;
  o.data_dir = data;
  o.out_dir = out;
  o.model.architecture = "unet";
  o.model.base_channels = 4;
  o.model.depth = 2;
  o.input_size = 64;
  o.batch_size = 2;
  o.lr = 1e-2;
  o.threads = 1;
  o.progress = false;
  o.device = "cpu";
  o.precision = "fp32";  // the same arithmetic on every CPU; bf16 has its own tests below
  return o;
}

class TrainerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { data_ = new std::string(make_fixture_data_dir("trainer")); }
  static void TearDownTestSuite() {
    fs::remove_all(*data_);
    delete data_;
  }
  std::string out_dir(const std::string& name) const {
    const fs::path p = fs::path(::testing::TempDir()) / ("corona_train_" + name);
    fs::remove_all(p);
    return p.string();
  }
  static std::string* data_;
};
std::string* TrainerTest::data_ = nullptr;

TEST(TrainerLoss, DiceIgnoresIgnoredPixelsAndIsZeroWhenPerfect) {
  // 1 image, 2x2, 3 classes; pixel (1,1) ignored.
  torch::Tensor target = torch::tensor({0, 1, 2, 255}, torch::kInt64).view({1, 2, 2});
  torch::Tensor perfect = torch::full({1, 3, 2, 2}, -30.0);
  perfect[0][0][0][0] = 30.0;
  perfect[0][1][0][1] = 30.0;
  perfect[0][2][1][0] = 30.0;
  EXPECT_NEAR(soft_dice_loss(perfect, target).item<double>(), 0.0, 1e-6);
  EXPECT_NEAR(segmentation_loss(perfect, target).item<double>(), 0.0, 1e-6);
  // Whatever the network says at the ignored pixel changes nothing.
  torch::Tensor other = perfect.clone();
  other[0][1][1][1] = 50.0;
  EXPECT_DOUBLE_EQ(segmentation_loss(other, target).item<double>(), segmentation_loss(perfect, target).item<double>());
  // Uniform logits: p = 1/3 everywhere. Class 1: inter 1/3, sum p = 1 (3 valid px), sum g = 1:
  // dice = (2/3 + 1) / (2 + 1) = 5/9, same for class 2 -> loss 4/9. CE = ln 3.
  torch::Tensor uniform = torch::zeros({1, 3, 2, 2});
  EXPECT_NEAR(soft_dice_loss(uniform, target).item<double>(), 4.0 / 9.0, 1e-6);
  EXPECT_NEAR(segmentation_loss(uniform, target).item<double>(), std::log(3.0) + 4.0 / 9.0, 1e-6);
  // All ignored: no NaN.
  torch::Tensor all_ignored = torch::full({1, 2, 2}, 255, torch::kInt64);
  EXPECT_TRUE(std::isfinite(segmentation_loss(uniform, all_ignored).item<double>()));
  // BCE with logits at logit 0 is ln 2.
  EXPECT_NEAR(classification_loss(torch::zeros({2}), torch::tensor({0.0f, 1.0f})).item<double>(), std::log(2.0), 1e-6);
}

TEST(TrainerSchedule, CosineWithWarmupAndStep) {
  TrainOptions o;
  o.lr = 1.0;
  o.warmup_epochs = 1;
  o.min_lr_ratio = 0.0;
  // 2 steps per epoch, 10 steps: warmup steps 0, 1 -> 0.5, 1.0; cosine over steps 2..9.
  EXPECT_DOUBLE_EQ(learning_rate(o, 0, 2, 10), 0.5);
  EXPECT_DOUBLE_EQ(learning_rate(o, 1, 2, 10), 1.0);
  EXPECT_DOUBLE_EQ(learning_rate(o, 2, 2, 10), 1.0);
  EXPECT_NEAR(learning_rate(o, 9, 2, 10), 0.0, 1e-12);
  EXPECT_NEAR(learning_rate(o, 5, 2, 10), 0.5 * (1 + std::cos(M_PI * 3.0 / 7.0)), 1e-12);
  o.lr_schedule = "step";
  o.step_epochs = 2;
  o.gamma = 0.1;
  EXPECT_DOUBLE_EQ(learning_rate(o, 3, 2, 10), 1.0);   // epoch 1
  EXPECT_NEAR(learning_rate(o, 4, 2, 10), 0.1, 1e-12);  // epoch 2
}

TEST_F(TrainerTest, RejectsBadOptionsAndMissingData) {
  TrainOptions o = tiny_options(*data_, out_dir("bad"));
  o.input_size = 66;  // not a multiple of 4
  EXPECT_FALSE(train(o).ok());
  o = tiny_options(*data_ + "/nope", out_dir("bad"));
  auto r = train(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("medseg100"), std::string::npos) << r.error().message;
  o = tiny_options(*data_, out_dir("bad"));
  o.resume = true;  // nothing to resume from
  r = train(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("checkpoint.pt"), std::string::npos) << r.error().message;
  fs::remove_all(o.out_dir);
}

TEST_F(TrainerTest, ShortRunLowersTheLossAndWritesFiles) {
  TrainOptions o = tiny_options(*data_, out_dir("short"));
  o.epochs = 20;  // 2 train slices, batch 2: one step per epoch
  o.augment = false;
  o.lr_schedule = "constant";
  auto r = train(o);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->step_losses.size(), 20u);
  const auto& l = r->step_losses;
  const double first = (l[0] + l[1] + l[2]) / 3.0;
  const double last = (l[17] + l[18] + l[19]) / 3.0;
  EXPECT_LT(last, 0.8 * first) << "first " << first << " last " << last;

  for (const char* f : {"config.json", "log.jsonl", "checkpoint.pt", "best.pt"})
    EXPECT_TRUE(fs::is_regular_file(fs::path(o.out_dir) / f)) << f;
  EXPECT_FALSE(fs::exists(fs::path(o.out_dir) / "checkpoint.pt.tmp"));
  std::ifstream log(fs::path(o.out_dir) / "log.jsonl");
  std::string line;
  int lines = 0;
  while (std::getline(log, line)) {
    const auto j = nlohmann::json::parse(line);
    ++lines;
    EXPECT_EQ(j.at("epoch").get<int>(), lines);
    for (const char* k : {"train_loss", "lr", "val_dice_ggo", "val_dice_consolidation", "val_dice_effusion",
                          "val_dice_mean_fg", "val_dice_lesion", "val_rand_error", "val_cls_f1", "val_cls_auc"})
      EXPECT_TRUE(j.contains(k)) << k;
    EXPECT_TRUE(j.at("val_dice_lesion").is_number());  // val slice 32 has lesions
    EXPECT_TRUE(j.at("val_cls_auc").is_number());      // UCSD val has both classes
  }
  EXPECT_EQ(lines, 20);
  const auto config = nlohmann::json::parse(std::ifstream(fs::path(o.out_dir) / "config.json"));
  EXPECT_EQ(config.at("input_normalization").at("std").get<double>(), 0.25);

  // best.pt loads into a fresh model with the recorded config.
  auto best = load_model_from_checkpoint((fs::path(o.out_dir) / "best.pt").string());
  ASSERT_TRUE(best.ok()) << best.error().message;
  EXPECT_EQ(best->meta.model.base_channels, 4);
  EXPECT_EQ(best->meta.model.num_classes, 4);
  EXPECT_EQ(best->meta.epoch, r->best_epoch);
  fs::remove_all(o.out_dir);
}

TEST_F(TrainerTest, ResumeGivesBitIdenticalWeights) {
  // Batch 1: two steps per epoch, with augmentation and UCSD batches, so the Rng, the UCSD
  // cursor, the optimizer moments and the LR schedule all have to survive the restart.
  TrainOptions full = tiny_options(*data_, out_dir("full"));
  full.epochs = 3;
  full.batch_size = 1;
  full.warmup_epochs = 1;
  ASSERT_TRUE(train(full).ok());

  TrainOptions part = tiny_options(*data_, out_dir("part"));
  part.epochs = 3;
  part.batch_size = 1;
  part.warmup_epochs = 1;
  part.stop_after_epoch = 1;  // "interrupted" after epoch 1
  auto first = train(part);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(first->epochs_completed, 1);
  part.stop_after_epoch = 0;
  part.resume = true;
  auto rest = train(part);
  ASSERT_TRUE(rest.ok()) << rest.error().message;
  EXPECT_EQ(rest->epochs_completed, 3);
  EXPECT_EQ(rest->epochs.size(), 2u);

  auto a = load_model_from_checkpoint((fs::path(full.out_dir) / "checkpoint.pt").string());
  auto b = load_model_from_checkpoint((fs::path(part.out_dir) / "checkpoint.pt").string());
  ASSERT_TRUE(a.ok()) << a.error().message;
  ASSERT_TRUE(b.ok()) << b.error().message;
  const auto pa = a->model->named_parameters();
  const auto pb = b->model->named_parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (const auto& item : pa) EXPECT_TRUE(torch::equal(item.value(), pb[item.key()])) << item.key();
  const auto ba = a->model->named_buffers();
  const auto bb = b->model->named_buffers();
  for (const auto& item : ba) EXPECT_TRUE(torch::equal(item.value(), bb[item.key()])) << item.key();
  EXPECT_EQ(a->meta.rng.state, b->meta.rng.state);
  EXPECT_EQ(a->meta.cls_cursor, b->meta.cls_cursor);

  // The resumed run's log holds all three epochs, once each.
  std::ifstream log(fs::path(part.out_dir) / "log.jsonl");
  std::string line;
  int lines = 0;
  while (std::getline(log, line)) EXPECT_EQ(nlohmann::json::parse(line).at("epoch").get<int>(), ++lines);
  EXPECT_EQ(lines, 3);
  fs::remove_all(full.out_dir);
  fs::remove_all(part.out_dir);
}

TEST(TrainerPrecision, ResolvesByNameAndByTheCpu) {
  EXPECT_EQ(*resolve_precision("fp32", torch::kCPU), Precision::kFp32);
  EXPECT_EQ(*resolve_precision("bf16", torch::kCPU), Precision::kBf16);
  EXPECT_EQ(*resolve_precision("auto", torch::kCPU), cpu_has_native_bf16() ? Precision::kBf16 : Precision::kFp32);
  EXPECT_EQ(*resolve_precision("auto", torch::Device(torch::kCUDA)), Precision::kBf16);
  auto bad = resolve_precision("fp16", torch::kCPU);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("auto, bf16 or fp32"), std::string::npos) << bad.error().message;
}

TEST(TrainerPrecision, AutocastScopeRunsConvolutionsInBf16AndRestores) {
  torch::manual_seed(1);
  torch::nn::Conv2d conv(torch::nn::Conv2dOptions(2, 3, 3).padding(1));
  const torch::Tensor x = torch::randn({1, 2, 8, 8});
  const torch::Tensor reference = conv(x);
  {
    const AutocastScope outer(Precision::kBf16, torch::kCPU);
    {
      const AutocastScope inner(Precision::kBf16, torch::kCPU);  // nested: still on after it ends
    }
    const torch::Tensor y = conv(x);
    EXPECT_EQ(y.scalar_type(), torch::kBFloat16);
    // bf16 keeps 8 mantissa bits: close to fp32, not equal.
    EXPECT_LT((y.to(torch::kFloat32) - reference).abs().max().item<float>(), 0.05f);
    {
      const AutocastScope off(Precision::kFp32, torch::kCPU);  // fp32: changes nothing
      EXPECT_EQ(conv(x).scalar_type(), torch::kBFloat16);
    }
  }
  EXPECT_EQ(conv(x).scalar_type(), torch::kFloat32);
  EXPECT_TRUE(torch::equal(conv(x), reference));
  EXPECT_EQ(conv->weight.scalar_type(), torch::kFloat32);
}

TEST_F(TrainerTest, Bf16TrainingLearnsWithFp32WeightsAndSaysSo) {
  // bf16 autocast on any CPU (emulated where the CPU lacks it: slower, same numbers).
  TrainOptions o = tiny_options(*data_, out_dir("bf16"));
  o.precision = "bf16";
  o.epochs = 20;
  o.augment = false;
  o.lr_schedule = "constant";
  auto r = train(o);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->precision, "bf16");
  const auto& l = r->step_losses;
  ASSERT_EQ(l.size(), 20u);
  for (double v : l) EXPECT_TRUE(std::isfinite(v));
  EXPECT_LT((l[17] + l[18] + l[19]) / 3.0, 0.8 * (l[0] + l[1] + l[2]) / 3.0);
  const auto config = nlohmann::json::parse(std::ifstream(fs::path(o.out_dir) / "config.json"));
  EXPECT_EQ(config.at("precision"), "bf16");
  EXPECT_EQ(config.at("precision_used"), "bf16");
  // The checkpoint holds fp32 weights: it loads and runs wherever fp32 does.
  auto best = load_model_from_checkpoint((fs::path(o.out_dir) / "best.pt").string());
  ASSERT_TRUE(best.ok()) << best.error().message;
  for (const auto& p : best->model->parameters()) EXPECT_EQ(p.scalar_type(), torch::kFloat32);
  fs::remove_all(o.out_dir);
}

TEST(TrainerCli, RejectsBadValues) {
  auto run = [](std::vector<std::string> args) {
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    return run_train(static_cast<int>(argv.size()), argv.data());
  };
  EXPECT_EQ(run({"--help"}), 0);
  EXPECT_EQ(run({"--out", "x"}), 2);                                   // no --data
  EXPECT_EQ(run({"--data", "d", "--out", "x", "--epochs", "0"}), 2);
  EXPECT_EQ(run({"--data", "d", "--out", "x", "--lr", "abc"}), 2);
  EXPECT_EQ(run({"--data", "d", "--out", "x", "--arch", "vgg"}), 2);
  EXPECT_EQ(run({"--data", "d", "--out", "x", "--size", "100"}), 2);  // not a multiple of 16
  EXPECT_EQ(run({"--data", "d", "--out", "x", "--bogus", "1"}), 2);
  EXPECT_EQ(run({"--data", "d", "--out", "x", "--precision", "fp16"}), 2);  // auto, bf16 or fp32
  EXPECT_EQ(run({"--data", "d", "--out", "x", "--batch"}), 2);         // missing value
}

}  // namespace
}  // namespace corona::native
