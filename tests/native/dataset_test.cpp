// Tests for corona_native/dataset.h on a tiny data folder built from the committed fixtures with
// the data folder layout of docs/training.md (so they run without the real data).
#include "corona_native/dataset.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "corona/preprocess.h"

namespace corona::native {

namespace fs = std::filesystem;

// Builds (once per name) DIR/medseg100 and DIR/ucsd_covid_ct_cropped from tests/fixtures:
//   MedSeg split: train [32, 22], val [48, 32], test [99] (no such file: proves test is never read).
//   UCSD: train COVID a.png (slice 32), b.png (22); NonCOVID c.jpg (an RGB JPEG), d.png (48);
//         val COVID a.png, NonCOVID d.png; test lists name a missing file.
// Also used by trainer_test.cpp.
std::string make_fixture_data_dir(const std::string& name) {
  const fs::path root = fs::path(::testing::TempDir()) / ("corona_data_" + name);
  const fs::path fx = CORONA_FIXTURES_DIR;
  fs::remove_all(root);
  fs::create_directories(root / "medseg100/images");
  fs::create_directories(root / "medseg100/masks_4class_derived");
  fs::create_directories(root / "medseg100/splits");
  for (const char* idx : {"0022", "0032", "0048"}) {
    fs::copy_file(fx / "medseg" / (std::string("tr_im_") + idx + ".png"),
                  root / "medseg100/images" / (std::string("tr_im_") + idx + ".png"));
    fs::copy_file(fx / "medseg" / (std::string("tr_mask_4class_") + idx + ".png"),
                  root / "medseg100/masks_4class_derived" / (std::string("tr_mask_") + idx + ".png"));
  }
  std::ofstream(root / "medseg100/splits/covid_semi_seg_split.json")
      << R"({"train": [32, 22], "val": [48, 32], "test": [99], "comment": "fixture"})";
  const fs::path u = root / "ucsd_covid_ct_cropped";
  fs::create_directories(u / "CT_COVID");
  fs::create_directories(u / "CT_NonCOVID");
  fs::create_directories(u / "splits");
  fs::copy_file(fx / "medseg/tr_im_0032.png", u / "CT_COVID/a.png");
  fs::copy_file(fx / "medseg/tr_im_0022.png", u / "CT_COVID/b.png");
  fs::copy_file(fx / "images/colour_64x48_q95.jpg", u / "CT_NonCOVID/c.jpg");
  fs::copy_file(fx / "medseg/tr_im_0048.png", u / "CT_NonCOVID/d.png");
  std::ofstream(u / "splits/trainCT_COVID.txt") << "a.png\nb.png\n";
  std::ofstream(u / "splits/trainCT_NonCOVID.txt") << "c.jpg\r\nd.png";  // CRLF, no final newline
  std::ofstream(u / "splits/valCT_COVID.txt") << "a.png\n";
  std::ofstream(u / "splits/valCT_NonCOVID.txt") << "d.png\n";
  std::ofstream(u / "splits/testCT_COVID.txt") << "missing.png\n";
  std::ofstream(u / "splits/testCT_NonCOVID.txt") << "missing.png\n";
  return root.string();
}

namespace {

class DatasetTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { dir_ = new std::string(make_fixture_data_dir("dataset")); }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
  }
  static std::string* dir_;
};
std::string* DatasetTest::dir_ = nullptr;

TEST_F(DatasetTest, LoadsMedSegSplitInFileOrder) {
  auto train = load_medseg_split(*dir_, "train");
  ASSERT_TRUE(train.ok()) << train.error().message;
  ASSERT_EQ(train->size(), 2u);
  EXPECT_EQ((*train)[0].index, 32);
  EXPECT_EQ((*train)[1].index, 22);
  for (const SegCase& c : *train) {
    EXPECT_EQ(c.image.width, 512);
    EXPECT_EQ(c.labels.width, 512);
    EXPECT_EQ(c.labels.height, 512);
  }
  // Slice 32 has all three classes; 22 has 203 px of unknown class (255), see fixtures/README.md.
  auto count = [](const LabelMap& m, int v) { return std::count(m.pixels.begin(), m.pixels.end(), v); };
  EXPECT_EQ(count((*train)[0].labels, 1), 5998);
  EXPECT_EQ(count((*train)[0].labels, 2), 51341);
  EXPECT_EQ(count((*train)[0].labels, 3), 5561);
  EXPECT_EQ(count((*train)[1].labels, 255), 203);
  auto val = load_medseg_split(*dir_, "val");
  ASSERT_TRUE(val.ok());
  EXPECT_EQ(val->size(), 2u);
}

TEST_F(DatasetTest, ErrorsNameWhatIsMissing) {
  auto test = load_medseg_split(*dir_, "test");  // lists slice 99, which the fixture lacks
  ASSERT_FALSE(test.ok());
  EXPECT_NE(test.error().message.find("tr_im_0099.png"), std::string::npos) << test.error().message;
  auto nowhere = load_medseg_split(*dir_ + "/nope", "train");
  ASSERT_FALSE(nowhere.ok());
  EXPECT_NE(nowhere.error().message.find("nope/medseg100"), std::string::npos) << nowhere.error().message;
  auto bad = load_medseg_split(*dir_, "training");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("training"), std::string::npos);
  auto ucsd_nowhere = load_ucsd_split(*dir_ + "/nope", "train");
  ASSERT_FALSE(ucsd_nowhere.ok());
  EXPECT_NE(ucsd_nowhere.error().message.find("ucsd_covid_ct_cropped"), std::string::npos);
  auto ucsd_test = load_ucsd_split(*dir_, "test");
  ASSERT_FALSE(ucsd_test.ok());
  EXPECT_NE(ucsd_test.error().message.find("missing.png"), std::string::npos) << ucsd_test.error().message;
}

TEST_F(DatasetTest, LoadsUcsdWithLabelsFromTheFolder) {
  auto train = load_ucsd_split(*dir_, "train");
  ASSERT_TRUE(train.ok()) << train.error().message;
  ASSERT_EQ(train->size(), 4u);
  const std::vector<std::string> names = {"a.png", "b.png", "c.jpg", "d.png"};
  const std::vector<int> labels = {1, 1, 0, 0};
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ((*train)[i].name, names[i]);
    EXPECT_EQ((*train)[i].label, labels[i]);
  }
  EXPECT_EQ((*train)[2].image.width, 64);  // the RGB JPEG, decoded to grey
  EXPECT_EQ((*train)[2].image.height, 48);
}

TEST_F(DatasetTest, SegBatchShapesDtypesAndIgnoreLabel) {
  auto train = load_medseg_split(*dir_, "train");
  ASSERT_TRUE(train.ok());
  Rng rng(1);
  const SegBatch b = make_seg_batch(*train, {0, 1}, 256, false, AugmentConfig{}, rng);
  EXPECT_EQ(b.image.sizes(), (std::vector<std::int64_t>{2, 1, 256, 256}));
  EXPECT_EQ(b.image.scalar_type(), torch::kFloat32);
  EXPECT_EQ(b.target.sizes(), (std::vector<std::int64_t>{2, 256, 256}));
  EXPECT_EQ(b.target.scalar_type(), torch::kInt64);
  EXPECT_GT(b.target[1].eq(255).sum().item<std::int64_t>(), 0);  // slice 22's unknown class kept
  EXPECT_EQ(b.target[0].eq(255).sum().item<std::int64_t>(), 0);
  for (int v : {0, 1, 2, 3}) EXPECT_GT(b.target[0].eq(v).sum().item<std::int64_t>(), 0) << v;
  // Without augmentation the image is exactly what inference feeds the network.
  const ImageF ref = model_input_from_u8((*train)[0].image, 256, kInputMean, kInputStd);
  const torch::Tensor ref_t = torch::from_blob(const_cast<float*>(ref.pixels.data()), {256, 256});
  EXPECT_TRUE(torch::equal(b.image[0][0], ref_t));
  // No augmentation draws nothing.
  EXPECT_EQ(rng.state().state, Rng(1).state().state);
  EXPECT_THROW(make_seg_batch(*train, {5}, 64, false, AugmentConfig{}, rng), std::out_of_range);
}

TEST_F(DatasetTest, AugmentedBatchIsReproducibleFromTheRngState) {
  auto train = load_medseg_split(*dir_, "train");
  ASSERT_TRUE(train.ok());
  Rng a(7), b(7);
  AugmentConfig cfg;
  cfg.affine.prob = 1.0f;  // make sure something moves
  const SegBatch x = make_seg_batch(*train, {0, 1}, 64, true, cfg, a);
  const SegBatch y = make_seg_batch(*train, {0, 1}, 64, true, cfg, b);
  EXPECT_TRUE(torch::equal(x.image, y.image));
  EXPECT_TRUE(torch::equal(x.target, y.target));
  EXPECT_EQ(a.state().state, b.state().state);
  Rng plain(7);
  const SegBatch z = make_seg_batch(*train, {0, 1}, 64, false, cfg, plain);
  EXPECT_FALSE(torch::equal(x.image, z.image));
  // Labels stay within {0..3, 255} after warping.
  const torch::Tensor t = x.target;
  EXPECT_EQ((t.ge(4) & t.ne(255)).sum().item<std::int64_t>(), 0);
}

TEST_F(DatasetTest, ClsBatchAndLesionLabels) {
  auto train = load_ucsd_split(*dir_, "train");
  ASSERT_TRUE(train.ok());
  Rng rng(3);
  const ClsBatch b = make_cls_batch(*train, {0, 2, 3}, 64, true, AugmentConfig{}, rng);
  EXPECT_EQ(b.image.sizes(), (std::vector<std::int64_t>{3, 1, 64, 64}));
  EXPECT_EQ(b.label.sizes(), (std::vector<std::int64_t>{3}));
  EXPECT_EQ(b.label.scalar_type(), torch::kFloat32);
  EXPECT_TRUE(torch::equal(b.label, torch::tensor({1.0f, 0.0f, 0.0f})));

  LabelMap m(5, 1);
  m.pixels = {0, 1, 2, 3, 255};
  EXPECT_EQ(lesion_labels(m).pixels, (std::vector<std::uint8_t>{0, 1, 1, 1, 255}));

  Rng r(11);
  std::vector<std::size_t> p = shuffled_indices(10, r);
  std::sort(p.begin(), p.end());
  for (std::size_t i = 0; i < 10; ++i) EXPECT_EQ(p[i], i);
}

}  // namespace
}  // namespace corona::native
