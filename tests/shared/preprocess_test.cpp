// Tests for corona/preprocess.h: intensity windows, PyTorch-identical resizing, crop/pad.
// Expectations are computed by hand from the documented formulas (shown next to each case).
#include "corona/preprocess.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <set>
#include <vector>

namespace corona {
namespace {

ImageF make_image(int w, int h, std::vector<float> values) {
  ImageF img(w, h);
  img.pixels = std::move(values);
  return img;
}

ImageF one_pixel(float v) { return make_image(1, 1, {v}); }

// ---- scale_intensity_range / windows ---------------------------------------------------------

struct ScaleCase {
  float x, a_min, a_max, b_min, b_max;
  bool clip;
  float expected;
};

TEST(PreprocessScaleIntensityRange, TableOfHandComputedValues) {
  const ScaleCase cases[] = {
      {-1000, -1000, 1000, 0, 1, false, 0.0f},   // a_min -> b_min
      {0, -1000, 1000, 0, 1, false, 0.5f},       // midpoint
      {1000, -1000, 1000, 0, 1, false, 1.0f},    // a_max -> b_max
      {1500, -1000, 1000, 0, 1, false, 1.25f},   // 2500/2000, no clip
      {1500, -1000, 1000, 0, 1, true, 1.0f},     // clipped
      {-3000, -1000, 1000, 0, 1, true, 0.0f},    // clipped below
      {50, 0, 100, -1, 1, false, 0.0f},          // 0.5 * 2 - 1
      {25, 0, 100, 10, 20, false, 12.5f},        // 0.25 * 10 + 10
      {25, 0, 100, 20, 10, true, 17.5f},         // reversed output range: 0.25 * -10 + 20
      {7, 5, 5, 1, 2, false, 3.0f},              // a_max == a_min: x - a_min + b_min (MONAI)
      {7, 5, 5, 1, 2, true, 2.0f},               // ... then clipped
  };
  for (const ScaleCase& c : cases) {
    const ImageF out = scale_intensity_range(one_pixel(c.x), c.a_min, c.a_max, c.b_min, c.b_max,
                                             c.clip);
    EXPECT_NEAR(out.pixels[0], c.expected, 1e-6) << "x=" << c.x << " a=[" << c.a_min << ","
                                                  << c.a_max << "] clip=" << c.clip;
  }
}

TEST(PreprocessScaleIntensityRange, CarriesGeometryAndWorksOnVolumes) {
  ImageF img = make_image(2, 1, {0, 10});
  img.spacing_x = 0.7;
  img.spacing_known = true;
  const ImageF out = scale_intensity_range(img, 0, 10, 0, 1, false);
  EXPECT_EQ(out.width, 2);
  EXPECT_DOUBLE_EQ(out.spacing_x, 0.7);
  EXPECT_TRUE(out.spacing_known);
  VolumeF vol(1, 1, 2);
  vol.voxels = {0, 10};
  vol.spacing = {0.5, 0.5, 3.0};
  const VolumeF v = scale_intensity_range(vol, 0, 10, 0, 2, false);
  EXPECT_FLOAT_EQ(v.voxels[1], 2.0f);
  EXPECT_DOUBLE_EQ(v.spacing[2], 3.0);
}

struct WindowCase {
  IntensityWindow w;
  float hu;
  float expected;  // apply_window to 0..255
};

TEST(PreprocessWindow, LungAndMediastinumPresets) {
  EXPECT_FLOAT_EQ(kLungWindow.lower(), -1350.0f);
  EXPECT_FLOAT_EQ(kLungWindow.upper(), 150.0f);
  EXPECT_FLOAT_EQ(kMediastinumWindow.lower(), -160.0f);
  EXPECT_FLOAT_EQ(kMediastinumWindow.upper(), 240.0f);
  // Lung: (hu + 1350) / 1500 * 255 = (hu + 1350) * 0.17. Mediastinum: (hu + 160) / 400 * 255.
  const WindowCase cases[] = {
      {kLungWindow, -1350, 0.0f},    {kLungWindow, 150, 255.0f},
      {kLungWindow, -600, 127.5f},   {kLungWindow, -1000, 59.5f},
      {kLungWindow, 0, 229.5f},      {kLungWindow, 1000, 255.0f},  // bone: clipped
      {kLungWindow, -2000, 0.0f},                                  // outside FOV: clipped
      {kMediastinumWindow, 40, 127.5f}, {kMediastinumWindow, 0, 102.0f},
      {kMediastinumWindow, 100, 165.75f}, {kMediastinumWindow, -500, 0.0f},
  };
  for (const WindowCase& c : cases) {
    EXPECT_NEAR(apply_window(one_pixel(c.hu), c.w).pixels[0], c.expected, 1e-4) << c.hu;
  }
  // A custom output range: lung window to [0, 1].
  EXPECT_NEAR(apply_window(one_pixel(-600), kLungWindow, 0, 1).pixels[0], 0.5f, 1e-6);
}

TEST(PreprocessWindow, WindowToU8RoundsHalfUpAndSaturates) {
  // Lung: -1330 -> 3.4 -> 3; -1340 -> 1.7 -> 2; 120 -> 249.9 -> 250; -480 -> 147.9 -> 148.
  const ImageF hu = make_image(6, 1, {-1330, -1340, 120, -480, -3000, 3000});
  const ImageU8 u8 = window_to_u8(hu, kLungWindow);
  const std::vector<std::uint8_t> expected = {3, 2, 250, 148, 0, 255};
  EXPECT_EQ(u8.pixels, expected);
  // Mediastinum: 100 HU -> 165.75 -> 166.
  EXPECT_EQ(window_to_u8(one_pixel(100), kMediastinumWindow).pixels[0], 166);
}

TEST(PreprocessConvert, U8RoundTripAndFloatToU8Table) {
  ImageU8 u8(3, 1);
  u8.pixels = {0, 128, 255};
  u8.spacing_y = 2.5;
  const ImageF f = u8_to_float(u8);
  EXPECT_EQ(f.pixels, (std::vector<float>{0.0f, 128.0f, 255.0f}));
  EXPECT_DOUBLE_EQ(f.spacing_y, 2.5);
  const ImageF g = make_image(6, 1, {-3.0f, 0.49f, 0.5f, 254.5f, 300.0f,
                                     std::numeric_limits<float>::quiet_NaN()});
  EXPECT_EQ(float_to_u8(g).pixels, (std::vector<std::uint8_t>{0, 0, 1, 255, 255, 0}));
  EXPECT_EQ(float_to_u8(f).pixels, u8.pixels);
}

TEST(PreprocessNormalize, DividesBy255ThenStandardises) {
  struct Case {
    float x, mean, std, input_max, expected;
  };
  const Case cases[] = {
      {255, 0.5f, 0.25f, 255, 2.0f},   // (1 - 0.5) / 0.25
      {0, 0.5f, 0.25f, 255, -2.0f},
      {127.5f, 0.5f, 0.25f, 255, 0.0f},
      {3, 1, 2, 1, 1.0f},              // input_max 1: plain (x - mean) / std
      {3, 1, 0, 1, 2.0f},              // std 0 counts as 1
  };
  for (const Case& c : cases) {
    EXPECT_NEAR(normalize_intensity(one_pixel(c.x), c.mean, c.std, c.input_max).pixels[0],
                c.expected, 1e-6);
  }
}

// ---- resizing ----------------------------------------------------------------------------------

TEST(PreprocessResizeBilinear, TwoByTwoToFourByFourMatchesHalfPixelFormula) {
  // src = (dst + 0.5) * 2/4 - 0.5 = 0.5 dst - 0.25 -> -0.25 (clamped to 0), 0.25, 0.75, 1.25
  // (neighbour clamped: reads pixel 1). The input is f(x, y) = 4x + 8y, bilinear reproduces it
  // at those positions: x -> 0, 1, 3, 4 and y -> 0, 2, 6, 8. PyTorch
  // F.interpolate(t, size=4, mode='bilinear', align_corners=False) gives the same table.
  const ImageF in = make_image(2, 2, {0, 4, 8, 12});
  const ImageF out = resize_bilinear(in, 4, 4);
  const std::vector<float> expected = {0, 1, 3, 4,   //
                                       2, 3, 5, 6,   //
                                       6, 7, 9, 10,  //
                                       8, 9, 11, 12};
  ASSERT_EQ(out.width, 4);
  ASSERT_EQ(out.height, 4);
  for (std::size_t i = 0; i < expected.size(); ++i) EXPECT_FLOAT_EQ(out.pixels[i], expected[i]) << i;
}

TEST(PreprocessResizeBilinear, DownscaleAndNonIntegerRatios) {
  // 4 -> 2: src = 2 (dst + 0.5) - 0.5 = 0.5, 2.5: means of neighbouring pairs.
  EXPECT_EQ(resize_bilinear(make_image(4, 1, {0, 1, 2, 3}), 2, 1).pixels,
            (std::vector<float>{0.5f, 2.5f}));
  // 3 -> 2: src = 1.5 (dst + 0.5) - 0.5 = 0.25, 1.75: 0.25*3 = 0.75, 3 + 0.75*3 = 5.25.
  const ImageF r = resize_bilinear(make_image(3, 1, {0, 3, 6}), 2, 1);
  EXPECT_NEAR(r.pixels[0], 0.75f, 1e-6);
  EXPECT_NEAR(r.pixels[1], 5.25f, 1e-6);
}

TEST(PreprocessResizeBilinear, SameSizeIsIdentityAndSpacingScales) {
  ImageF in = make_image(3, 2, {1.5f, -2, 7, 0.25f, 9, 100});
  in.spacing_x = 0.8;
  in.spacing_y = 0.6;
  in.spacing_known = true;
  EXPECT_EQ(resize_bilinear(in, 3, 2).pixels, in.pixels);
  const ImageF big = resize_bilinear(in, 6, 1);
  EXPECT_DOUBLE_EQ(big.spacing_x, 0.4);  // 0.8 * 3 / 6
  EXPECT_DOUBLE_EQ(big.spacing_y, 1.2);  // 0.6 * 2 / 1
  EXPECT_TRUE(big.spacing_known);
  EXPECT_TRUE(resize_bilinear(in, 0, 5).empty());
}

TEST(PreprocessResizeNearest, PyTorchIndexTable) {
  struct Case {
    int in, out;
    std::vector<std::uint8_t> expected;  // source index per output pixel, values = index
  };
  const Case cases[] = {
      {4, 2, {0, 2}},           // floor(d * 2)
      {2, 4, {0, 0, 1, 1}},     // exact 2x: d >> 1
      {3, 2, {0, 1}},           // floor(d * 1.5) = 0, 1
      {2, 3, {0, 0, 1}},        // floor(d * 0.667) = 0, 0, 1
      {5, 3, {0, 1, 3}},        // floor(d * 1.667) = 0, 1, 3
  };
  for (const Case& c : cases) {
    LabelMap m(c.in, 1);
    for (int i = 0; i < c.in; ++i) m.pixels[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(i);
    EXPECT_EQ(resize_nearest(m, c.out, 1).pixels, c.expected) << c.in << "->" << c.out;
  }
}

TEST(PreprocessResizeNearest, KeepsLabelSetIncludingIgnore) {
  LabelMap m(7, 5);
  for (int y = 0; y < 5; ++y)
    for (int x = 0; x < 7; ++x) m.at(x, y) = static_cast<std::uint8_t>(x < 2 ? 255 : (x + y) % 4);
  for (int size : {3, 11, 16}) {
    const LabelMap r = resize_nearest(m, size, size + 1);
    const std::set<std::uint8_t> labels(r.pixels.begin(), r.pixels.end());
    for (std::uint8_t l : labels) EXPECT_TRUE(l == 255 || l <= 3);
    EXPECT_EQ(labels.count(255), 1u) << size;
    EXPECT_EQ(r.at(0, 0), 255);
  }
}

// ---- crop and pad ------------------------------------------------------------------------------

ImageF grid4x3() {  // value = 10 y + x
  ImageF img(4, 3);
  for (int y = 0; y < 3; ++y)
    for (int x = 0; x < 4; ++x) img.at(x, y) = static_cast<float>(10 * y + x);
  img.spacing_x = 0.5;
  img.spacing_known = true;
  return img;
}

TEST(PreprocessCropPad, CropTable) {
  struct Case {
    int x, y, w, h;
    std::vector<float> expected;  // fill -1
  };
  const Case cases[] = {
      {1, 1, 2, 2, {11, 12, 21, 22}},
      {0, 0, 4, 1, {0, 1, 2, 3}},
      {3, 2, 2, 2, {23, -1, -1, -1}},  // past the bottom-right corner: fill
      {-1, 0, 2, 1, {-1, 0}},          // past the left edge
  };
  const ImageF img = grid4x3();
  for (const Case& c : cases) {
    const ImageF out = crop(img, c.x, c.y, c.w, c.h, -1.0f);
    EXPECT_EQ(out.width, c.w);
    EXPECT_EQ(out.pixels, c.expected) << c.x << "," << c.y;
    EXPECT_DOUBLE_EQ(out.spacing_x, 0.5);
  }
}

TEST(PreprocessCropPad, PadTable) {
  const ImageF img = grid4x3();
  const ImageF p = pad(img, 1, 0, 0, 1, 9.0f);  // 5 x 4
  ASSERT_EQ(p.width, 5);
  ASSERT_EQ(p.height, 4);
  const std::vector<float> expected = {9, 0,  1,  2,  3,   //
                                       9, 10, 11, 12, 13,  //
                                       9, 20, 21, 22, 23,  //
                                       9, 9,  9,  9,  9};
  EXPECT_EQ(p.pixels, expected);
  EXPECT_TRUE(p.spacing_known);
  // Negative margins crop.
  EXPECT_EQ(pad(img, -1, -2, -1, 0, 0.0f).pixels, (std::vector<float>{21, 22}));
  LabelMap m(2, 1);
  m.pixels = {1, 255};
  EXPECT_EQ(pad(m, 0, 0, 1, 0).pixels, (std::vector<std::uint8_t>{1, 255, 0}));
}

TEST(PreprocessCropPad, CenterCropOrPadPerAxis) {
  // 4x3 -> 2x5: x crops d=2 (start 1), y pads d=2 (one row above, one below).
  const ImageF out = center_crop_or_pad(grid4x3(), 2, 5, -1.0f);
  const std::vector<float> expected = {-1, -1,  //
                                       1,  2,   //
                                       11, 12,  //
                                       21, 22,  //
                                       -1, -1};
  EXPECT_EQ(out.pixels, expected);
  // Odd differences: crop 4 -> 1 drops floor(3/2) = 1 on the left; pad 3 -> 6 adds 1 on top.
  EXPECT_EQ(center_crop_or_pad(grid4x3(), 1, 3).pixels, (std::vector<float>{1, 11, 21}));
  const ImageF tall = center_crop_or_pad(grid4x3(), 4, 6, -1.0f);
  EXPECT_FLOAT_EQ(tall.at(0, 0), -1.0f);
  EXPECT_FLOAT_EQ(tall.at(0, 1), 0.0f);
  EXPECT_FLOAT_EQ(tall.at(0, 4), -1.0f);
  // Pad then crop back is the identity, for odd and even differences.
  for (int grow : {1, 2, 3, 4}) {
    const ImageF back = center_crop_or_pad(center_crop_or_pad(grid4x3(), 4 + grow, 3 + grow), 4, 3);
    EXPECT_EQ(back.pixels, grid4x3().pixels) << grow;
  }
  LabelMap m(3, 1);
  m.pixels = {255, 2, 1};
  EXPECT_EQ(center_crop_or_pad(m, 5, 1).pixels, (std::vector<std::uint8_t>{0, 255, 2, 1, 0}));
}


TEST(PreprocessModelInput, U8ToFloatResizeNormalize) {
  // 2x2 bytes -> 4x4 bilinear (half-pixel) -> (x / 255 - 0.5) / 0.25.
  ImageU8 img(2, 2);
  img.pixels = {0, 255, 255, 0};
  const ImageF out = model_input_from_u8(img, 4, 0.5f, 0.25f);
  ASSERT_EQ(out.width, 4);
  ASSERT_EQ(out.height, 4);
  // Corner pixels read the corner source pixel only: 0 -> -2, 255 -> +2.
  EXPECT_FLOAT_EQ(out.at(0, 0), -2.0f);
  EXPECT_FLOAT_EQ(out.at(3, 0), 2.0f);
  EXPECT_FLOAT_EQ(out.at(0, 3), 2.0f);
  // (1, 1): src (0.25, 0.25): 0.75*0.75*0 + 2*0.75*0.25*255 + 0.25*0.25*0 = 95.625 -> -0.5.
  EXPECT_NEAR(out.at(1, 1), (95.625f / 255.0f - 0.5f) / 0.25f, 1e-6f);
  // Same as the three steps spelled out.
  const ImageF ref = normalize_intensity(resize_bilinear(u8_to_float(img), 4, 4), 0.5f, 0.25f, 255.0f);
  EXPECT_EQ(out.pixels, ref.pixels);
  // Identity size: only the normalisation.
  const ImageF same = model_input_from_u8(img, 2, 0.0f, 1.0f);
  EXPECT_EQ(same.pixels, (std::vector<float>{0.0f, 1.0f, 1.0f, 0.0f}));
  EXPECT_TRUE(model_input_from_u8(img, 0, 0.5f, 0.25f).empty());
}

TEST(PreprocessModelInput, FloatPathIsTheU8PathWithoutRounding) {
  // Integer-valued floats give exactly the u8 path's numbers.
  ImageU8 img(3, 2);
  img.pixels = {0, 10, 255, 128, 64, 1};
  EXPECT_EQ(model_input_from_float(u8_to_float(img), 4, 0.5f, 0.25f).pixels,
            model_input_from_u8(img, 4, 0.5f, 0.25f).pixels);
  // HU through the lung window, unrounded: -1350 HU -> 0 -> -2; 150 HU -> 255 -> +2;
  // -600 HU (the centre) -> 127.5 -> 0 (same size: no resampling).
  ImageF hu(3, 1);
  hu.pixels = {-1350.0f, 150.0f, -600.0f};
  const ImageF x = model_input_from_float(apply_window(hu, kLungWindow), 3, 0.5f, 0.25f);
  ASSERT_EQ(x.width, 3);
  ASSERT_EQ(x.height, 3);
  EXPECT_FLOAT_EQ(x.at(0, 0), -2.0f);
  EXPECT_FLOAT_EQ(x.at(1, 0), 2.0f);
  EXPECT_NEAR(x.at(2, 0), 0.0f, 1e-6f);
  EXPECT_TRUE(model_input_from_float(hu, 0, 0.5f, 0.25f).empty());
}

}  // namespace
}  // namespace corona
