// Tests for corona_native/inference.h and the evaluate / predict verbs: an untrained tiny network
// (base 4, depth 2, 64x64 input) saved with the checkpoint API: any weights exercise the geometry,
// and evaluate is checked against the core metrics recomputed on the same predictions.
#include "corona_native/inference.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>

#include "corona/image_io.h"
#include "corona/metrics.h"
#include "corona/nifti.h"
#include "corona_native/checkpoint.h"
#include "corona_native/dataset.h"
#include "cli/verbs.h"

namespace corona::native {

std::string make_fixture_data_dir(const std::string& name);  // dataset_test.cpp

namespace {

namespace fs = std::filesystem;

std::string temp_path(const std::string& name) {
  const fs::path p = fs::path(::testing::TempDir()) / ("corona_infer_" + name);
  fs::remove_all(p);
  return p.string();
}

// Saves an untrained tiny model; seeded so its weights are the same on every run.
std::string save_tiny_checkpoint(const std::string& name, int num_classes, const std::string& task) {
  torch::manual_seed(7);
  ModelConfig cfg;
  cfg.architecture = "unet";
  cfg.base_channels = 4;
  cfg.depth = 2;
  cfg.num_classes = num_classes;
  cfg.classification_head = true;
  CoronaNet model(cfg);
  CheckpointMeta meta;
  meta.model = cfg;
  meta.task = task;
  meta.input.size = 64;
  meta.input.mean = kInputMean;
  meta.input.std = kInputStd;
  const std::string dir = temp_path(name);
  fs::create_directories(dir);
  const std::string path = (fs::path(dir) / "model.pt").string();
  auto saved = save_checkpoint(path, model, nullptr, meta);
  EXPECT_TRUE(saved.ok()) << saved.error().message;
  return path;
}

int run_verb(int (*verb)(int, char**), std::vector<std::string> args) {
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  return verb(static_cast<int>(argv.size()), argv.data());
}

nlohmann::json read_json(const fs::path& p) {
  std::ifstream f(p);
  return nlohmann::json::parse(f);
}

std::set<int> values_of(const std::vector<std::uint8_t>& v) { return std::set<int>(v.begin(), v.end()); }

const std::string kFixtures = CORONA_FIXTURES_DIR;

class InferenceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    data_ = new std::string(make_fixture_data_dir("inference"));
    ckpt_ = new std::string(save_tiny_checkpoint("ckpt4", 4, "multiclass"));
    ckpt2_ = new std::string(save_tiny_checkpoint("ckpt2", 2, "binary"));
  }
  static void TearDownTestSuite() {
    fs::remove_all(*data_);
    fs::remove_all(fs::path(*ckpt_).parent_path());
    fs::remove_all(fs::path(*ckpt2_).parent_path());
    delete data_;
    delete ckpt_;
    delete ckpt2_;
  }
  static Predictor load(const std::string& path) {
    PredictorOptions o;
    o.threads = 1;
    o.device = "cpu";
    auto p = Predictor::load(path, o);
    EXPECT_TRUE(p.ok()) << p.error().message;
    return std::move(p).value();
  }
  static std::string* data_;
  static std::string* ckpt_;
  static std::string* ckpt2_;
};
std::string* InferenceTest::data_ = nullptr;
std::string* InferenceTest::ckpt_ = nullptr;
std::string* InferenceTest::ckpt2_ = nullptr;

TEST_F(InferenceTest, PredictSliceGivesEverythingAtTheOriginalSize) {
  Predictor p = load(*ckpt_);
  EXPECT_EQ(p.num_classes(), 4);
  EXPECT_EQ(p.device_name(), "cpu");
  auto img = load_image_from_file(kFixtures + "/medseg/tr_im_0032.png");
  ASSERT_TRUE(img.ok());
  auto r = p.predict_slice(*img);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->labels.width, 512);
  EXPECT_EQ(r->labels.height, 512);
  EXPECT_EQ(r->probabilities.channels, 4);
  EXPECT_EQ(r->probabilities.width, 512);
  EXPECT_EQ(r->lesion_probability.width, 512);
  EXPECT_EQ(r->cam.width, 512);
  EXPECT_EQ(r->cam.height, 512);
  EXPECT_GE(r->infected_probability, 0.0f);
  EXPECT_LE(r->infected_probability, 1.0f);
  const std::size_t n = r->labels.pixels.size();
  for (std::size_t q = 0; q < n; q += 997) {
    float sum = 0.0f;
    for (int c = 0; c < 4; ++c) sum += r->probabilities.data[c * n + q];
    EXPECT_NEAR(sum, 1.0f, 1e-5f);
    EXPECT_FLOAT_EQ(r->lesion_probability.pixels[q], 1.0f - r->probabilities.data[q]);
    EXPECT_GE(r->cam.pixels[q], 0.0f);
    EXPECT_LE(r->cam.pixels[q], 1.0f);
  }
  for (int v : values_of(r->labels.pixels)) EXPECT_LT(v, 4);

  // HU slice of odd, non-square size; and a binary model gives labels 0/1.
  ImageF hu(70, 50, -800.0f);
  for (int x = 0; x < 70; ++x) hu.at(x, 10) = 40.0f;
  auto h = p.predict_hu_slice(hu);
  ASSERT_TRUE(h.ok()) << h.error().message;
  EXPECT_EQ(h->labels.width, 70);
  EXPECT_EQ(h->labels.height, 50);
  Predictor b = load(*ckpt2_);
  auto rb = b.predict_hu_slice(hu);
  ASSERT_TRUE(rb.ok());
  for (int v : values_of(rb->labels.pixels)) EXPECT_LE(v, 1);
  EXPECT_EQ(rb->probabilities.channels, 2);
  EXPECT_FALSE(p.predict_slice(ImageU8()).ok());
  EXPECT_FALSE(Predictor::load(*ckpt_ + ".missing").ok());
}

TEST_F(InferenceTest, PredictPngWritesMaskOverlayAndJson) {
  const std::string out = temp_path("png_out");
  const std::string in = kFixtures + "/medseg/tr_im_0032.png";
  ASSERT_EQ(run_verb(run_predict, {"-i", in, "-o", out, "--checkpoint", *ckpt_, "--threads", "1"}), 0);
  auto mask = load_label_png_from_file(out + "/tr_im_0032.mask.png");
  ASSERT_TRUE(mask.ok()) << mask.error().message;
  EXPECT_EQ(mask->width, 512);
  EXPECT_EQ(mask->height, 512);
  for (int v : values_of(mask->pixels)) EXPECT_LE(v, 3);
  auto overlay = load_image_from_file(out + "/tr_im_0032.overlay.png");
  ASSERT_TRUE(overlay.ok());
  EXPECT_EQ(overlay->width, 512);
  const auto j = read_json(fs::path(out) / "tr_im_0032.json");
  EXPECT_TRUE(j.at("infected_probability").is_number());
  ASSERT_EQ(j.at("classes").size(), 4u);
  std::uint64_t px = 0;
  for (const auto& c : j.at("classes")) {
    px += c.at("px").get<std::uint64_t>();
    EXPECT_TRUE(c.at("mm2").is_null());  // PNG: no spacing
  }
  EXPECT_EQ(px, 512u * 512u);
  // The mask's class counts are the JSON's.
  EXPECT_EQ(j.at("classes")[1].at("px").get<std::uint64_t>(),
            static_cast<std::uint64_t>(std::count(mask->pixels.begin(), mask->pixels.end(), 1)));
  for (const char* side : {"right", "left", "total"}) {
    EXPECT_TRUE(j.at("lungs").at(side).contains("percent_involved")) << side;
    EXPECT_TRUE(j.at("lungs").at(side).contains("severity_band")) << side;
  }
  EXPECT_TRUE(j.at("model").contains("name"));
  EXPECT_TRUE(j.at("model").contains("version"));
  EXPECT_TRUE(j.at("seconds").is_number());
  // The mask is exactly what the Predictor gives.
  Predictor p = load(*ckpt_);
  auto r = p.predict_slice(*load_image_from_file(in));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->labels.pixels, mask->pixels);
  fs::remove_all(out);
}

TEST_F(InferenceTest, PredictNiftiKeepsShapeAndAffine) {
  const std::string dir = temp_path("nii");
  fs::create_directories(dir);
  // 3 slices 64x48 HU: air outside, soft tissue body, two lungs; an oblique affine (20 degrees
  // about z), anisotropic spacing.
  VolumeF vol(64, 48, 3, -1000.0f);
  for (int z = 0; z < 3; ++z)
    for (int y = 4; y < 44; ++y)
      for (int x = 4; x < 60; ++x) {
        const bool lung = (y > 10 && y < 38) && ((x > 10 && x < 28) || (x > 36 && x < 54));
        vol.at(x, y, z) = lung ? -850.0f + 10.0f * z : 40.0f;
      }
  const double th = 20.0 * M_PI / 180.0;
  const double sx = 0.7, sy = 0.8, sz = 2.5;
  Affine a;
  a.m = {std::cos(th) * sx, -std::sin(th) * sy, 0, -100,
         std::sin(th) * sx, std::cos(th) * sy, 0, 50,
         0, 0, sz, -30,
         0, 0, 0, 1};
  vol.affine = a;
  vol.spacing = {sx, sy, sz};
  const std::string in = dir + "/chest.nii.gz";
  ASSERT_TRUE(save_nifti_to_file(in, vol).ok());
  const std::string out = dir + "/out";
  ASSERT_EQ(run_verb(run_predict, {"-i", in, "-o", out, "--checkpoint", *ckpt_, "--threads", "1", "--batch", "2"}), 0);

  auto mask = load_nifti_from_file(out + "/chest.mask.nii.gz");
  ASSERT_TRUE(mask.ok()) << mask.error().message;
  auto src = load_nifti_from_file(in);
  ASSERT_TRUE(src.ok());
  EXPECT_EQ(mask->volume.nx, 64);
  EXPECT_EQ(mask->volume.ny, 48);
  EXPECT_EQ(mask->volume.nz, 3);
  EXPECT_EQ(mask->header.datatype, kNiftiUint8);
  for (int k = 0; k < 16; ++k) EXPECT_NEAR(mask->volume.affine.m[k], src->volume.affine.m[k], 1e-5) << k;
  std::set<int> vals;
  for (float v : mask->volume.voxels) vals.insert(static_cast<int>(v));
  for (int v : vals) EXPECT_LE(v, 3);
  // Same labels as the network on the display slices in one batch, put back in voxel order.
  Predictor p = load(*ckpt_);
  const DisplayOrientation o = display_orientation(src->volume.affine);
  std::vector<ImageF> inputs;
  for (int z = 0; z < 3; ++z) inputs.push_back(model_input_from_hu(to_display(src->volume.slice(z), o), p.plans().input));
  const ImageF d0 = to_display(src->volume.slice(0), o);
  auto slices = p.predict_inputs(inputs, d0.width, d0.height, 3);
  ASSERT_TRUE(slices.ok()) << slices.error().message;
  const std::size_t plane = static_cast<std::size_t>(64) * 48;
  for (int z = 0; z < 3; ++z) {
    const LabelMap back = from_display((*slices)[static_cast<std::size_t>(z)].labels, o);
    ASSERT_EQ(back.pixels.size(), plane);
    for (std::size_t q = 0; q < plane; ++q)
      ASSERT_EQ(static_cast<float>(back.pixels[q]), mask->volume.voxels[static_cast<std::size_t>(z) * plane + q]) << z << " " << q;
  }

  const auto j = read_json(fs::path(out) / "chest.json");
  EXPECT_EQ(j.at("kind"), "volume");
  EXPECT_EQ(j.at("dims"), nlohmann::json({64, 48, 3}));
  std::uint64_t px = 0;
  for (const auto& c : j.at("classes")) {
    ASSERT_TRUE(c.at("mm2").is_number());
    const auto cpx = c.at("px").get<std::uint64_t>();
    px += cpx;
    EXPECT_NEAR(c.at("mm2").get<double>(), static_cast<double>(cpx) * sx * sy, 1e-3 * (1.0 + cpx));
    EXPECT_NEAR(c.at("ml").get<double>(), static_cast<double>(cpx) * sx * sy * sz / 1000.0, 1e-5 * (1.0 + cpx));
  }
  EXPECT_EQ(px, 64u * 48u * 3u);
  EXPECT_TRUE(j.at("overlay_slice").is_number_integer());
  EXPECT_TRUE(fs::is_regular_file(out + "/chest.overlay.png"));
  EXPECT_TRUE(j.at("lungs").at("total").at("lung_px").get<std::uint64_t>() > 0);

  // A 2D NIfTI (dim[0] = 2, one slice) gets a 2D mask.
  VolumeF flat(64, 48, 1);
  std::copy(vol.voxels.begin(), vol.voxels.begin() + 64 * 48, flat.voxels.begin());
  flat.affine = a;
  auto bytes = encode_nifti(flat);
  ASSERT_TRUE(bytes.ok());
  (*bytes)[40] = 2;  // dim[0], little-endian int16
  std::ofstream(dir + "/flat.nii", std::ios::binary).write(reinterpret_cast<const char*>(bytes->data()),
                                                           static_cast<std::streamsize>(bytes->size()));
  ASSERT_EQ(run_verb(run_predict, {"-i", dir + "/flat.nii", "-o", out, "--checkpoint", *ckpt_, "--threads", "1"}), 0);
  auto flat_mask = load_nifti_from_file(out + "/flat.mask.nii.gz");
  ASSERT_TRUE(flat_mask.ok()) << flat_mask.error().message;
  EXPECT_EQ(flat_mask->header.ndim, 2);
  EXPECT_TRUE(flat_mask->header.gzipped);
  EXPECT_EQ(flat_mask->volume.nx, 64);
  EXPECT_EQ(flat_mask->volume.ny, 48);
  for (int k = 0; k < 16; ++k) EXPECT_NEAR(flat_mask->volume.affine.m[k], a.m[k], 1e-5) << k;
  EXPECT_EQ(read_json(fs::path(out) / "flat.json").at("dims"), nlohmann::json({64, 48}));
  fs::remove_all(dir);
}

TEST_F(InferenceTest, PredictBelowTheLungsGivesNoSeverityBand) {
  // Two slices of soft tissue in air, no lung (an abdominal slab): whatever the network marks,
  // the report grades no lung: no percentage, no band, and a note saying why.
  const std::string dir = temp_path("abdomen");
  fs::create_directories(dir);
  VolumeF vol(64, 48, 2, -1000.0f);
  for (int z = 0; z < 2; ++z)
    for (int y = 6; y < 42; ++y)
      for (int x = 6; x < 58; ++x) vol.at(x, y, z) = 40.0f;
  vol.spacing = {0.8, 0.8, 3.0};
  vol.affine.m = {0.8, 0, 0, 0, 0, 0.8, 0, 0, 0, 0, 3.0, 0, 0, 0, 0, 1};
  ASSERT_TRUE(save_nifti_to_file(dir + "/abdomen.nii.gz", vol).ok());
  const std::string out = dir + "/out";
  ASSERT_EQ(run_verb(run_predict, {"-i", dir + "/abdomen.nii.gz", "-o", out, "--checkpoint", *ckpt_, "--threads", "1"}), 0);
  const auto j = read_json(fs::path(out) / "abdomen.json");
  EXPECT_TRUE(j.at("severity_band").is_null());
  EXPECT_EQ(j.at("severity_note"), "no lung found in this volume: no involvement, no severity band");
  for (const char* side : {"right", "left", "total"}) {
    EXPECT_EQ(j.at("lungs").at(side).at("lung_found"), false) << side;
    EXPECT_TRUE(j.at("lungs").at(side).at("percent_involved").is_null()) << side;
    EXPECT_EQ(j.at("lungs").at(side).at("lesion_px"), 0) << side;
  }
  std::uint64_t lesion = 0;
  for (const auto& px : j.at("lesion_px_per_slice")) lesion += px.get<std::uint64_t>();
  EXPECT_EQ(j.at("lungs").at("lesion_px_without_lung").get<std::uint64_t>(), lesion);
  fs::remove_all(dir);
}

TEST_F(InferenceTest, PredictFolderReportsBadFilesAndGoesOn) {
  const std::string dir = temp_path("folder");
  fs::create_directories(dir + "/in");
  fs::copy_file(kFixtures + "/medseg/tr_im_0048.png", dir + "/in/good.png");
  fs::copy_file(kFixtures + "/images/gradient_64x48_q95.jpg", dir + "/in/photo.jpg");
  std::ofstream(dir + "/in/broken.png") << "this is not a PNG";
  std::ofstream(dir + "/in/notes.txt") << "skipped";
  const std::string out = dir + "/out";
  EXPECT_EQ(run_verb(run_predict, {"-i", dir + "/in", "-o", out, "--checkpoint", *ckpt_, "--threads", "1"}), 1);
  for (const char* f : {"good.mask.png", "good.overlay.png", "good.json", "photo.mask.png", "photo.json"})
    EXPECT_TRUE(fs::is_regular_file(fs::path(out) / f)) << f;
  auto photo = load_label_png_from_file(out + "/photo.mask.png");
  ASSERT_TRUE(photo.ok());
  EXPECT_EQ(photo->width, 64);
  EXPECT_EQ(photo->height, 48);
  for (const char* f : {"broken.mask.png", "broken.json", "notes.json"})
    EXPECT_FALSE(fs::exists(fs::path(out) / f)) << f;
  fs::remove_all(dir);
}

TEST_F(InferenceTest, UsageErrors) {
  // A model folder needs --out: evaluate never writes into models/.
  EXPECT_EQ(run_verb(run_evaluate, {"--model", fs::path(*ckpt_).parent_path().string(), "--data", *data_, "--split", "val"}), 2);
  EXPECT_EQ(run_verb(run_evaluate, {"--model", *ckpt_, "--data", *data_, "--split", "val", "--threads", "x"}), 2);
  EXPECT_EQ(run_verb(run_predict, {"-i", "x.png"}), 2);
  EXPECT_EQ(run_verb(run_evaluate, {"--checkpoint", *ckpt_, "--data", *data_}), 2);  // no split
  EXPECT_EQ(run_verb(run_evaluate, {"--checkpoint", *ckpt_, "--data", *data_, "--split", "holdout"}), 2);
  EXPECT_EQ(run_verb(run_predict, {"-i", *data_ + "/nothing.png", "-o", temp_path("none"), "--checkpoint", *ckpt_}), 1);
}

TEST_F(InferenceTest, EvaluateLeavesOutExcludedSlices) {
  auto val = load_medseg_split(*data_, "val");
  ASSERT_TRUE(val.ok());
  ASSERT_EQ(val->size(), 2u);
  const std::string out = temp_path("eval_exclude");
  ASSERT_EQ(run_verb(run_evaluate, {"--model", *ckpt_, "--data", *data_, "--split", "val", "--out", out, "--threads",
                                    "1", "--exclude", std::to_string((*val)[0].index)}),
            0);
  const auto s = read_json(fs::path(out) / "summary.json");
  EXPECT_EQ(s.at("num_cases"), 1);
  ASSERT_EQ(s.at("metric_per_case").size(), 1u);
  EXPECT_EQ(s.at("metric_per_case")[0].at("index"), (*val)[1].index);
  EXPECT_EQ(s.at("excluded_slices"), nlohmann::json::array({(*val)[0].index}));
  EXPECT_EQ(run_verb(run_evaluate, {"--model", *ckpt_, "--data", *data_, "--split", "val", "--exclude", "22,x"}), 2);
}

TEST_F(InferenceTest, EvaluateUsesTheCoreMetricsOnThePredictions) {
  const std::string out = temp_path("eval");
  ASSERT_EQ(run_verb(run_evaluate, {"--checkpoint", *ckpt_, "--data", *data_, "--split", "val", "--out", out,
                                    "--threads", "1", "--ucsd"}),
            0);
  const auto s = read_json(fs::path(out) / "summary.json");
  EXPECT_EQ(s.at("split"), "val");
  EXPECT_EQ(s.at("num_cases"), 2);
  EXPECT_EQ(s.at("model").at("base_channels"), 4);
  const auto& cases = s.at("metric_per_case");
  ASSERT_EQ(cases.size(), 2u);
  auto val = load_medseg_split(*data_, "val");
  ASSERT_TRUE(val.ok());
  Predictor p = load(*ckpt_);
  for (std::size_t i = 0; i < 2; ++i) {
    const SegCase& c = (*val)[i];
    const auto& j = cases[i];
    EXPECT_EQ(j.at("index"), c.index);
    auto r = p.predict_slice(c.image);
    ASSERT_TRUE(r.ok());
    const LabelMap lesion_ref = lesion_labels(c.labels);
    auto d = binary_dice(r->lesion_probability, lesion_ref, 0.5);
    ASSERT_TRUE(d.ok());
    if (std::isnan(*d)) {
      EXPECT_TRUE(j.at("dice").is_null());
    } else {
      EXPECT_DOUBLE_EQ(j.at("dice").get<double>(), *d) << c.index;
    }
    auto inf = infnet_evaluate(r->lesion_probability, lesion_ref);
    ASSERT_TRUE(inf.ok());
    EXPECT_DOUBLE_EQ(j.at("infnet_mean_dice").get<double>(), inf->mean_dice);
    auto sm = segmentation_metrics(r->labels, c.labels, SegmentationOptions{{1, 2, 3}, EmptyPolicy::kNaN});
    ASSERT_TRUE(sm.ok());
    const double ggo = sm->per_class[0].values.dice;
    if (std::isnan(ggo)) {
      EXPECT_TRUE(j.at("ggo_dice").is_null());
    } else {
      EXPECT_DOUBLE_EQ(j.at("ggo_dice").get<double>(), ggo);
    }
    for (const char* k : {"iou", "sensitivity", "specificity", "rand_error", "consolidation_dice", "effusion_iou"})
      EXPECT_TRUE(j.contains(k)) << k;
  }
  // Slice 48 has no lesion: its GGO Dice is undefined under kNaN unless predicted, and the mean
  // skips what is null.
  EXPECT_EQ(cases[0].at("index"), 48);
  for (const char* k : {"dice", "infnet_mean_dice", "iou", "sensitivity", "specificity", "rand_error", "ggo_dice"})
    EXPECT_TRUE(s.at("mean").contains(k)) << k;
  EXPECT_EQ(s.at("cases_counted").at("infnet_mean_dice"), 2);
  const auto& cls = s.at("classification");
  EXPECT_EQ(cls.at("num_images"), 2);
  EXPECT_TRUE(cls.at("auc").is_number());  // UCSD val fixture has one image of each class
  EXPECT_EQ(cls.at("confusion_matrix").size(), 2u);
  fs::remove_all(out);
}

}  // namespace
}  // namespace corona::native
