// Tests for corona_native/model_package.h and `coronanet export`: plans.json round trip and
// validation, model folders loading like their checkpoint, and the training-data fingerprint
// checked against coreutils' sha256sum (an independent SHA-256).
#include "corona_native/model_package.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "corona/image_io.h"
#include "corona_native/dataset.h"
#include "corona_native/inference.h"
#include "cli/verbs.h"

namespace corona::native {

std::string make_fixture_data_dir(const std::string& name);  // dataset_test.cpp

namespace {

namespace fs = std::filesystem;

fs::path fresh_dir(const std::string& name) {
  const fs::path p = fs::path(::testing::TempDir()) / ("corona_pkg_" + name);
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

// An untrained tiny network saved as a training checkpoint that names `data_dir` in its options,
// as coronanet train writes them.
std::string save_checkpoint_for(const fs::path& dir, const std::string& data_dir) {
  torch::manual_seed(11);
  ModelConfig cfg;
  cfg.base_channels = 4;
  cfg.depth = 2;
  CoronaNet model(cfg);
  CheckpointMeta meta;
  meta.model = cfg;
  meta.input.size = 64;
  meta.epoch = 3;
  meta.best_epoch = 2;
  meta.best_metric = 0.25;
  meta.cls_order = {3, 1, 2};
  meta.options = {{"data_dir", data_dir}, {"use_ucsd", true}};
  const std::string path = (dir / "best.pt").string();
  EXPECT_TRUE(save_checkpoint(path, model, nullptr, meta).ok());
  std::ofstream(dir / "log.jsonl") << "{\"epoch\":1}\n{\"epoch\":2}\n";
  return path;
}

int run_export_args(std::vector<std::string> args) {
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  return run_export(static_cast<int>(argv.size()), argv.data());
}

std::string shell_output(const std::string& cmd) {
  std::string out;
  std::FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

nlohmann::json read_json(const fs::path& p) {
  std::ifstream f(p);
  return nlohmann::json::parse(f);
}

TEST(ModelPlans, RoundTripsThroughJson) {
  CheckpointMeta meta;
  meta.model.base_channels = 8;
  meta.input.size = 128;
  meta.input.hu_window = {-500.0f, 1400.0f};
  ModelPlans p = plans_from_checkpoint(meta, "corona-net", "1.2.3");
  p.files = {{"libtorch", "model.pt"}};
  auto back = ModelPlans::from_json(p.to_json());
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->to_json(), p.to_json());
  EXPECT_EQ(back->input.size, 128);
  EXPECT_FLOAT_EQ(back->input.hu_window.center, -500.0f);
  ASSERT_EQ(back->labels.size(), 4u);
  EXPECT_EQ(back->labels[1].name, "ggo");
  EXPECT_EQ(back->labels[3].display_name, "Pleural effusion");
  EXPECT_EQ(default_labels("binary").size(), 2u);
}

TEST(ModelPlans, RefusesBadPlansWithAReason) {
  ModelPlans p = plans_from_checkpoint(CheckpointMeta{}, "corona-net", "1");
  p.files = {{"libtorch", "model.pt"}};
  const nlohmann::json good = p.to_json();
  auto expect_error = [&](nlohmann::json j, const std::string& needle) {
    auto r = ModelPlans::from_json(j);
    ASSERT_FALSE(r.ok()) << j.dump();
    EXPECT_NE(r.error().message.find(needle), std::string::npos) << r.error().message;
  };
  nlohmann::json j = good;
  j["format_version"] = 2;
  expect_error(j, "format_version 2");
  j = good;
  j["files"]["libtorch"] = "../../etc/passwd";
  expect_error(j, "plain file name");
  j = good;
  j["labels"].erase(3);
  expect_error(j, "every class");
  j = good;
  j["input"]["size"] = {250, 250};  // not a multiple of 2^4
  expect_error(j, "multiple of 2^depth");
  j = good;
  j["input"]["normalisation"]["std"] = 0;
  expect_error(j, "positive std");
  j = good;
  j.erase("labels");
  expect_error(j, "missing or mistyped");
  expect_error(nlohmann::json{{"format", "something"}}, "not a corona-net plans file");
}

TEST(ModelPlans, TrainingFilesListTheTrainSplitOnly) {
  const std::string data = make_fixture_data_dir("pkg_files");
  auto files = training_files(data, false);
  ASSERT_TRUE(files.ok()) << files.error().message;
  auto train = load_medseg_split(data, "train");
  ASSERT_TRUE(train.ok());
  ASSERT_EQ(files->size(), 1 + 2 * train->size());
  EXPECT_EQ(files->front(), "medseg100/splits/covid_semi_seg_split.json");
  for (const SegCase& c : *train) {
    char name[64];
    std::snprintf(name, sizeof name, "medseg100/images/tr_im_%04d.png", c.index);
    EXPECT_NE(std::find(files->begin(), files->end(), name), files->end()) << name;
  }
  auto with_ucsd = training_files(data, true);
  ASSERT_TRUE(with_ucsd.ok()) << with_ucsd.error().message;
  EXPECT_GT(with_ucsd->size(), files->size());
}

TEST(ModelPlans, FingerprintMatchesCoreutilsSha256sum) {
  const std::string data = make_fixture_data_dir("pkg_fp");
  auto fp = training_data_fingerprint(data, true);
  ASSERT_TRUE(fp.ok()) << fp.error().message;
  auto files = training_files(data, true);
  ASSERT_TRUE(files.ok());
  // The same listing built by coreutils: sha256sum over the files, sorted by path (C locale).
  std::string cmd = "cd '" + data + "' && sha256sum";
  for (const std::string& f : *files) cmd += " '" + f + "'";
  cmd += " | LC_ALL=C sort -k2 -u";
  const std::string listing = shell_output(cmd);
  ASSERT_FALSE(listing.empty());
  EXPECT_EQ(fp->listing, listing);
  const std::string digest = shell_output("printf '%s' '" + listing + "' | sha256sum | cut -d' ' -f1");
  EXPECT_EQ(fp->sha256 + "\n", digest);
  // Any change to a training file changes the fingerprint.
  const fs::path image = fs::path(data) / (*files)[1];
  std::ofstream(image, std::ios::app) << '\0';
  auto changed = training_data_fingerprint(data, true);
  ASSERT_TRUE(changed.ok());
  EXPECT_NE(changed->sha256, fp->sha256);
}

TEST(ModelPackage, ExportWritesAFolderThatPredictsLikeItsCheckpoint) {
  const std::string data = make_fixture_data_dir("pkg_export");
  const fs::path run = fresh_dir("run");
  const std::string ckpt = save_checkpoint_for(run, data);
  const fs::path out = fresh_dir("model") / "corona-test";
  ASSERT_EQ(run_export_args({"--checkpoint", ckpt, "--out", out.string(), "--version", "0.0.1", "--name", "corona-test"}), 0);
  for (const char* f : {"model.pt", "plans.json", "training_data.sha256", "training_log.jsonl", "model.onnx", "model.fp16.onnx"})
    EXPECT_TRUE(fs::is_regular_file(out / f)) << f;
  EXPECT_FALSE(fs::exists(out / "metrics.json"));  // no summaries given

  const nlohmann::json plans = read_json(out / "plans.json");
  EXPECT_EQ(plans["name"], "corona-test");
  EXPECT_EQ(plans["version"], "0.0.1");
  EXPECT_EQ(plans["training"]["best_epoch"], 2);
  EXPECT_EQ(plans["files"]["onnx"], "model.onnx");
  EXPECT_EQ(plans["onnx"]["opset"], 17);
  EXPECT_NE(std::find(plans["onnx"]["operators"].begin(), plans["onnx"]["operators"].end(), "Conv"),
            plans["onnx"]["operators"].end());
  EXPECT_EQ(plans["onnx"]["outputs"], (nlohmann::json{"seg_logits", "cls_logit", "cam"}));
  auto fp = training_data_fingerprint(data, true);
  ASSERT_TRUE(fp.ok());
  EXPECT_EQ(plans["training"]["data_fingerprint_sha256"], fp->sha256);
  auto meta = read_checkpoint_meta((out / "model.pt").string());
  ASSERT_TRUE(meta.ok());
  EXPECT_TRUE(meta->cls_order.empty());  // no resume state in a release

  PredictorOptions o;
  o.threads = 1;
  o.device = "cpu";
  auto from_folder = Predictor::load(out.string(), o);
  ASSERT_TRUE(from_folder.ok()) << from_folder.error().message;
  auto from_ckpt = Predictor::load(ckpt, o);
  ASSERT_TRUE(from_ckpt.ok());
  EXPECT_EQ(from_folder->plans().name, "corona-test");
  EXPECT_EQ(from_ckpt->plans().name, "best.pt");
  auto slice = load_image_from_file(std::string(CORONA_FIXTURES_DIR) + "/medseg/tr_im_0032.png");
  ASSERT_TRUE(slice.ok());
  auto a = from_folder->predict_slice(*slice);
  auto b = from_ckpt->predict_slice(*slice);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->labels.pixels, b->labels.pixels);
  EXPECT_EQ(a->probabilities.data, b->probabilities.data);
}

TEST(ModelPackage, ExportKeepsEvaluateSummariesOfTheRightSplit) {
  const std::string data = make_fixture_data_dir("pkg_metrics");
  const fs::path run = fresh_dir("run_metrics");
  const std::string ckpt = save_checkpoint_for(run, data);
  std::ofstream(run / "val.json") << R"({"split":"val","num_cases":5,"mean":{"dice":0.5},"metric_per_case":[1,2],"classification":{"f1":0.5,"per_image":[1]}})";
  std::ofstream(run / "test.json") << R"({"split":"test","num_cases":48,"mean":{"dice":0.6}})";
  const fs::path out = fresh_dir("model_metrics");
  // A val summary passed as the test summary is refused: the split is checked.
  EXPECT_EQ(run_export_args({"--checkpoint", ckpt, "--out", out.string(), "--version", "1", "--test-summary",
                             (run / "val.json").string()}),
            1);
  ASSERT_EQ(run_export_args({"--checkpoint", ckpt, "--out", out.string(), "--version", "1", "--val-summary",
                             (run / "val.json").string(), "--test-summary", (run / "test.json").string()}),
            0);
  const nlohmann::json m = read_json(out / "metrics.json");
  EXPECT_EQ(m["val"]["mean"]["dice"], 0.5);
  EXPECT_EQ(m["test"]["num_cases"], 48);
  EXPECT_FALSE(m["val"].contains("metric_per_case"));
  EXPECT_EQ(m["val"]["classification"]["f1"], 0.5);
  EXPECT_FALSE(m["val"]["classification"].contains("per_image"));
  EXPECT_EQ(read_json(out / "plans.json")["files"]["metrics"], "metrics.json");
}

TEST(ModelPackage, RefusesAFolderWhosePlansDoNotDescribeItsWeights) {
  const std::string data = make_fixture_data_dir("pkg_mismatch");
  const fs::path run = fresh_dir("run_mismatch");
  const std::string ckpt = save_checkpoint_for(run, data);
  const fs::path out = fresh_dir("model_mismatch");
  ASSERT_EQ(run_export_args({"--checkpoint", ckpt, "--out", out.string(), "--version", "1"}), 0);
  nlohmann::json plans = read_json(out / "plans.json");
  plans["input"]["size"] = {128, 128};
  std::ofstream(out / "plans.json") << plans.dump();
  auto r = resolve_model(out.string());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("does not describe"), std::string::npos) << r.error().message;
  // A folder without plans.json is named as such.
  auto empty = resolve_model(fresh_dir("empty").string());
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.error().message.find("without plans.json"), std::string::npos);
}

TEST(ModelPackage, ExportNeedsItsArguments) {
  testing::internal::CaptureStderr();
  EXPECT_EQ(run_export_args({"--out", "x", "--version", "1"}), 2);
  EXPECT_EQ(run_export_args({"--checkpoint", "x.pt", "--out", "x"}), 2);
  EXPECT_EQ(run_export_args({"--checkpoint", "/nonexistent/x.pt", "--out", "x", "--version", "1"}), 1);
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("--checkpoint CKPT is required"), std::string::npos) << err;
  EXPECT_NE(err.find("--version V is required"), std::string::npos) << err;
}

}  // namespace
}  // namespace corona::native
