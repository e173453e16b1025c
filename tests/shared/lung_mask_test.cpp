// Tests for corona/lung_mask.h: synthetic slices with hand-computed masks, then the three real
// MedSeg fixture slices (lung sides, plausible sizes, lesion coverage, HU path == 8-bit path).
#include "corona/lung_mask.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>

#include "corona/image_io.h"

namespace corona {
namespace {

constexpr std::uint8_t kAir = 30;      // -1173 HU through the lung window
constexpr std::uint8_t kTissue = 230;  // +3 HU
constexpr std::uint8_t kLesion = 200;  // -173 HU: consolidation, above the -200 HU air threshold

void fill_rect(ImageU8& img, int x0, int y0, int x1, int y1, std::uint8_t v) {
  for (int y = y0; y <= y1; ++y) {
    for (int x = x0; x <= x1; ++x) img.at(x, y) = v;
  }
}

std::uint64_t count(const LabelMap& m, std::uint8_t v) {
  std::uint64_t n = 0;
  for (const std::uint8_t p : m.pixels) n += p == v ? 1 : 0;
  return n;
}

// The MedSeg rendering: byte v <-> -1350 + v / 255 * 1500 HU.
ImageF to_pseudo_hu(const ImageU8& img) {
  ImageF hu(img.width, img.height);
  for (std::size_t i = 0; i < img.pixels.size(); ++i) {
    hu.pixels[i] = -1350.0f + static_cast<float>(img.pixels[i]) / 255.0f * 1500.0f;
  }
  return hu;
}

LungMaskOptions small_options() {
  LungMaskOptions o;
  o.merge_radius_px = 1;
  o.closing_radius_px = 3;
  o.min_lung_fraction = 0.02;  // 82 px of 64x64
  return o;
}

// A 64x64 slice: dark room air around a tissue body (x 4..59, y 8..55).
ImageU8 synthetic_body() {
  ImageU8 img(64, 64, 0);
  fill_rect(img, 4, 8, 59, 55, kTissue);
  return img;
}

TEST(LungMask, SyntheticTwoLungsWithLesions) {
  ImageU8 img = synthetic_body();
  fill_rect(img, 10, 16, 24, 47, kAir);     // right lung (image left): 15 x 32 = 480 px
  fill_rect(img, 38, 16, 53, 47, kAir);     // left lung: 16 x 32 = 512 px
  fill_rect(img, 15, 25, 17, 27, kLesion);  // enclosed lesion: a hole, filled
  fill_rect(img, 50, 30, 53, 35, kLesion);  // subpleural lesion: a notch 4 deep, 6 tall, closed
  fill_rect(img, 30, 12, 32, 14, kAir);     // trachea, 9 px: below min_lung_fraction
  fill_rect(img, 6, 50, 7, 51, kAir);       // air speck in the body wall
  img.spacing_x = 0.75;
  img.spacing_known = true;

  const LabelMap m = lung_mask_from_u8(img, small_options());
  ASSERT_EQ(m.width, 64);
  EXPECT_TRUE(m.spacing_known);
  EXPECT_DOUBLE_EQ(m.spacing_x, 0.75);
  EXPECT_EQ(count(m, kLungRight), 480u);
  EXPECT_EQ(count(m, kLungLeft), 512u);
  for (int y = 0; y < 64; ++y) {
    for (int x = 0; x < 64; ++x) {
      const bool in_right = x >= 10 && x <= 24 && y >= 16 && y <= 47;
      const bool in_left = x >= 38 && x <= 53 && y >= 16 && y <= 47;
      const std::uint8_t want = in_right ? kLungRight : in_left ? kLungLeft : kLungNone;
      ASSERT_EQ(m.at(x, y), want) << "(" << x << ", " << y << ")";
    }
  }
  // The HU entry point decides air per pixel instead of per byte value: same mask.
  EXPECT_EQ(lung_mask_from_hu(to_pseudo_hu(img), small_options()).pixels, m.pixels);
}

TEST(LungMask, TouchingLungsAreCutAtTheThinnestColumn) {
  ImageU8 img = synthetic_body();
  fill_rect(img, 10, 16, 28, 47, kAir);  // 19 x 32 = 608 px
  fill_rect(img, 35, 16, 53, 47, kAir);  // 608 px
  fill_rect(img, 29, 18, 34, 19, kAir);  // anterior junction: 6 x 2 px bridge
  // Body columns 4..59: midline 31.5. Columns 29..34 hold 2 px each; 31 and 32 are equally close
  // to the midline, the lower one wins: x < 31 -> right (608 + 4), x > 31 -> left (608 + 6).
  const LabelMap m = lung_mask_from_u8(img, small_options());
  EXPECT_EQ(count(m, kLungRight), 612u);
  EXPECT_EQ(count(m, kLungLeft), 614u);
  EXPECT_EQ(m.at(31, 18), kLungNone);
  EXPECT_EQ(m.at(30, 18), kLungRight);
  EXPECT_EQ(m.at(32, 19), kLungLeft);
}

TEST(LungMask, DegenerateInputs) {
  // Nothing but tissue: no lung. All air: everything is outside. Inconsistent size: all zero.
  EXPECT_EQ(count(lung_mask_from_u8(synthetic_body(), small_options()), 0), 64u * 64u);
  EXPECT_EQ(count(lung_mask_from_u8(ImageU8(16, 16, 0), small_options()), 0), 256u);
  ImageU8 bad(8, 8, 0);
  bad.pixels.resize(10);
  const LabelMap m = lung_mask_from_u8(bad);
  EXPECT_EQ(m.width, 8);
  EXPECT_EQ(count(m, 0), 64u);
  EXPECT_TRUE(lung_mask_from_u8(ImageU8{}).pixels.empty());
}

TEST(LungMask, OneLungOnlyWhenTheOtherIsMissing) {
  ImageU8 img = synthetic_body();
  fill_rect(img, 38, 16, 53, 47, kAir);  // only the left lung is aerated
  const LabelMap m = lung_mask_from_u8(img, small_options());
  EXPECT_EQ(count(m, kLungRight), 0u);
  EXPECT_EQ(count(m, kLungLeft), 512u);
}

TEST(LungMask, NaNHuIsNotAir) {
  ImageU8 img = synthetic_body();
  fill_rect(img, 10, 16, 24, 47, kAir);
  fill_rect(img, 38, 16, 53, 47, kAir);
  ImageF hu = to_pseudo_hu(img);
  // A NaN column through the left lung is not air: it cuts the lung in two, and the merge
  // closing bridges the 1-px gap; NaN in the body wall stays outside the lungs.
  hu.at(56, 30) = std::numeric_limits<float>::quiet_NaN();
  for (int y = 16; y <= 47; ++y) hu.at(45, y) = std::numeric_limits<float>::quiet_NaN();
  const LabelMap m = lung_mask_from_hu(hu, small_options());
  EXPECT_EQ(count(m, kLungRight), 480u);
  EXPECT_EQ(m.at(45, 30), kLungLeft);  // the 1-px NaN column closed back in
  EXPECT_EQ(m.at(56, 30), kLungNone);
}

// ---- the real MedSeg slices ------------------------------------------------------------------

struct FixtureCase {
  int index;
  double min_fraction, max_fraction;  // of the image, each lung
  // Reference pixels that must fall inside the lung mask: GGO + consolidation (classes 1, 2) and
  // class-unknown foci (255); effusion (3) lies in the pleural space, outside the lung, on purpose.
  double min_coverage;  // < 0: the slice has no such pixels
};

std::string fixture(const std::string& name) { return std::string(CORONA_FIXTURES_DIR) + "/medseg/" + name; }

// Measured with the defaults: 22: right 1.60 %, left 1.86 %, unknown focus 203/203 covered;
// 32: right 13.97 %, left 14.95 %, GGO + consolidation 55686/57339 = 97.1 % covered;
// 48: right 21.21 %, left 17.60 %. Bounds sit a little outside those numbers.
const FixtureCase kFixtureCases[] = {
    {22, 0.01, 0.05, 0.95},  // apical slice: small lungs, 255 focus in the upper right lung
    {32, 0.08, 0.25, 0.95},  // GGO 5998, consolidation 51341, effusion 5561 px
    {48, 0.10, 0.30, -1.0},  // no lesion; lungs touch anteriorly and must be cut apart
};

TEST(LungMaskFixtures, TwoLungsRightOnImageLeftCoveringLesions) {
  for (const FixtureCase& c : kFixtureCases) {
    char num[8];
    std::snprintf(num, sizeof num, "%04d", c.index);
    const auto img = load_image_from_file(fixture(std::string("tr_im_") + num + ".png"));
    const auto ref = load_label_png_from_file(fixture(std::string("tr_mask_4class_") + num + ".png"));
    ASSERT_TRUE(img.ok()) << img.error().message;
    ASSERT_TRUE(ref.ok()) << ref.error().message;
    const LabelMap m = lung_mask_from_u8(*img);
    ASSERT_EQ(m.pixels.size(), ref->pixels.size());

    const double total = static_cast<double>(m.pixels.size());
    std::uint64_t n[3] = {0, 0, 0}, sx[3] = {0, 0, 0}, lesion = 0, covered = 0;
    for (int y = 0; y < m.height; ++y) {
      for (int x = 0; x < m.width; ++x) {
        const std::uint8_t v = m.at(x, y);
        ++n[v];
        sx[v] += static_cast<std::uint64_t>(x);
        const std::uint8_t r = ref->at(x, y);
        if (r == 1 || r == 2 || r == kIgnoreLabel) {
          ++lesion;
          covered += v != 0 ? 1 : 0;
        }
      }
    }
    for (int side : {1, 2}) {
      ASSERT_GT(n[side], 0u) << "slice " << c.index << " lung " << side;
      EXPECT_GE(static_cast<double>(n[side]) / total, c.min_fraction) << "slice " << c.index << " lung " << side;
      EXPECT_LE(static_cast<double>(n[side]) / total, c.max_fraction) << "slice " << c.index << " lung " << side;
    }
    // Patient right on image left: the right lung's centroid is left of the image centre.
    EXPECT_LT(static_cast<double>(sx[1]) / static_cast<double>(n[1]), m.width / 2.0) << "slice " << c.index;
    EXPECT_GT(static_cast<double>(sx[2]) / static_cast<double>(n[2]), m.width / 2.0) << "slice " << c.index;
    if (c.min_coverage >= 0) {
      ASSERT_GT(lesion, 0u);
      EXPECT_GE(static_cast<double>(covered) / static_cast<double>(lesion), c.min_coverage)
          << "slice " << c.index << ": " << covered << " / " << lesion;
    } else {
      EXPECT_EQ(lesion, 0u);
    }
  }
}

TEST(LungMaskFixtures, HuPathEqualsEightBitPath) {
  // Inverting the lung window gives pseudo-HU; the 8-bit path decides per byte value what the HU
  // path decides per pixel, and no byte maps exactly onto -200 HU, so the masks must be identical.
  for (const FixtureCase& c : kFixtureCases) {
    char name[32];
    std::snprintf(name, sizeof name, "tr_im_%04d.png", c.index);
    const auto img = load_image_from_file(fixture(name));
    ASSERT_TRUE(img.ok()) << img.error().message;
    const LabelMap from_u8 = lung_mask_from_u8(*img);
    const LabelMap from_hu = lung_mask_from_hu(to_pseudo_hu(*img));
    std::uint64_t differ = 0;
    for (std::size_t i = 0; i < from_u8.pixels.size(); ++i) differ += from_u8.pixels[i] != from_hu.pixels[i];
    EXPECT_EQ(differ, 0u) << name;
  }
}

}  // namespace
}  // namespace corona
