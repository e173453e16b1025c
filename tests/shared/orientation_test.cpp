// corona/orientation.h and corona/segmentation.h: hand-computed cases.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "corona/orientation.h"
#include "corona/preprocess.h"
#include "corona/segmentation.h"

using namespace corona;

TEST(Orientation, DisplayOrientationFromTheAffine) {
  // Identity affine: voxel i runs towards patient right (+x), j towards anterior (+y): both flip.
  Affine id;
  DisplayOrientation o = display_orientation(id);
  EXPECT_FALSE(o.transpose);
  EXPECT_TRUE(o.flip_x);
  EXPECT_TRUE(o.flip_y);
  // LPS-like storage (dcm2niix's typical diag(-sx, -sy, sz)): already radiological.
  Affine lps;
  lps(0, 0) = -0.7;
  lps(1, 1) = -0.7;
  o = display_orientation(lps);
  EXPECT_FALSE(o.transpose || o.flip_x || o.flip_y);
  // i along -y, j along -x: transposed, no flips.
  Affine sw;
  sw(0, 0) = 0;
  sw(1, 1) = 0;
  sw(1, 0) = -1;
  sw(0, 1) = -1;
  o = display_orientation(sw);
  EXPECT_TRUE(o.transpose);
  EXPECT_FALSE(o.flip_x || o.flip_y);
  // Round trips for every combination, on a non-square slice.
  ImageU8 img(3, 2);
  img.pixels = {1, 2, 3, 4, 5, 6};
  for (int t = 0; t < 2; ++t)
    for (int fx = 0; fx < 2; ++fx)
      for (int fy = 0; fy < 2; ++fy) {
        DisplayOrientation d{t == 1, fx == 1, fy == 1};
        const ImageU8 shown = to_display(img, d);
        EXPECT_EQ(shown.width, t ? 2 : 3);
        EXPECT_EQ(from_display(shown, d).pixels, img.pixels);
      }
  // Hand-checked: flip both of [[1 2 3], [4 5 6]] is [[6 5 4], [3 2 1]]; transpose is [[1 4], [2 5], [3 6]].
  EXPECT_EQ(to_display(img, DisplayOrientation{false, true, true}).pixels, (std::vector<std::uint8_t>{6, 5, 4, 3, 2, 1}));
  EXPECT_EQ(to_display(img, DisplayOrientation{true, false, false}).pixels, (std::vector<std::uint8_t>{1, 4, 2, 5, 3, 6}));
}


TEST(Segmentation, LogitsToLabelsAtTheSliceSize) {
  // 2 classes on a 2x2 network grid, upsampled to 4x4: class 1 wins on the right column only.
  const std::vector<float> logits = {0, 5, 0, 5,   // class 0
                                     5, 0, 5, 0};  // class 1 (channel-major)
  const SlicePrediction p = segmentation_from_logits(logits.data(), 2, 2, 4, 4);
  ASSERT_EQ(p.labels.width, 4);
  ASSERT_EQ(p.labels.height, 4);
  for (int y = 0; y < 4; ++y) {
    EXPECT_EQ(p.labels.at(0, y), 1);  // left half: class 1
    EXPECT_EQ(p.labels.at(3, y), 0);
  }
  // softmax(5, 0) for class 1 in the left column, carried through the bilinear upsampling.
  const float p1 = 1.0f / (1.0f + std::exp(-5.0f));
  EXPECT_NEAR(p.lesion_probability.at(0, 0), p1, 1e-6f);
  EXPECT_NEAR(p.lesion_probability.at(3, 3), 1.0f - p1, 1e-6f);
}

TEST(Segmentation, CamIsReluResizedAndScaledToUnitRange) {
  const std::vector<float> evidence = {-3.0f, 1.0f, 2.0f, 4.0f};  // 2x2, one negative
  const ImageF cam = cam_from_evidence(evidence.data(), 2, 2, 2, 2);
  // ReLU -> {0, 1, 2, 4}, same size, min-max -> {0, .25, .5, 1}.
  EXPECT_EQ(cam.pixels, (std::vector<float>{0.0f, 0.25f, 0.5f, 1.0f}));
  const std::vector<float> flat = {-1.0f, -2.0f, -1.0f, -5.0f};  // no positive evidence
  const ImageF zero = cam_from_evidence(flat.data(), 2, 2, 8, 8);
  EXPECT_EQ(zero.width, 8);
  for (float v : zero.pixels) EXPECT_EQ(v, 0.0f);
}

TEST(Segmentation, HuInputEqualsTheEightBitPathOnWindowedValues) {
  // An HU slice whose windowed values are exactly the 8-bit levels gives the PNG path's input.
  const IntensityWindow w{-600.0f, 1500.0f};
  ImageU8 u8(3, 1);
  u8.pixels = {0, 128, 255};
  ImageF hu(3, 1);
  for (int x = 0; x < 3; ++x) hu.pixels[x] = (w.center - w.width / 2) + u8.pixels[x] / 255.0f * w.width;
  const ImageF a = model_input_from_hu(hu, w, 4, 0.5f, 0.25f);
  const ImageF b = model_input_from_u8(u8, 4, 0.5f, 0.25f);
  ASSERT_EQ(a.pixels.size(), b.pixels.size());
  for (std::size_t i = 0; i < a.pixels.size(); ++i) EXPECT_NEAR(a.pixels[i], b.pixels[i], 1e-4f);
  hu.pixels[1] = std::nanf("");  // missing data reads as air (the window's bottom), not NaN
  for (float v : model_input_from_hu(hu, w, 4, 0.5f, 0.25f).pixels) EXPECT_TRUE(std::isfinite(v));
}

TEST(Segmentation, InfectedProbabilityIsTheSigmoid) {
  EXPECT_FLOAT_EQ(infected_probability_from_logit(0.0f), 0.5f);
  EXPECT_NEAR(infected_probability_from_logit(2.0f), 0.880797f, 1e-6f);
}
