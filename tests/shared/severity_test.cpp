// Tests for corona/severity.h: class areas with and without spacing, band boundaries, and lung
// involvement on a synthetic two-lung slice with hand-computed counts.
#include "corona/severity.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "corona/image_io.h"
#include "corona/lung_mask.h"

namespace corona {
namespace {

TEST(SeverityBand, BoundariesAreHalfOpen) {
  const struct {
    double percent;
    int band;
  } cases[] = {
      {0.0, 0},     {-1.0, 0},    {std::numeric_limits<double>::quiet_NaN(), 0},
      {0.001, 1},   {25.0, 1},    {25.0001, 2},
      {50.0, 2},    {50.0001, 3}, {75.0, 3},
      {75.0001, 4}, {100.0, 4},
  };
  for (const auto& c : cases) EXPECT_EQ(severity_band(c.percent), c.band) << c.percent;
}

TEST(SeverityClassAreas, WithAndWithoutSpacing) {
  // 2 x 3: values 0 0 1 / 2 255 7 -> bg 2, class1 1, class2 1; 255 and 7 (>= num_classes) nowhere.
  LabelMap m(3, 2);
  m.pixels = {0, 0, 1, 2, 255, 7};
  const struct {
    bool known;
    double sx, sy;
    std::vector<double> mm2;
  } cases[] = {
      {false, 1.0, 1.0, {0.0, 0.0, 0.0, 0.0}},
      {true, 0.7, 0.8, {2 * 0.56, 0.56, 0.56, 0.0}},
      {true, 0.5, 0.5, {0.5, 0.25, 0.25, 0.0}},
  };
  const std::vector<std::uint64_t> px = {2, 1, 1, 0};
  for (const auto& c : cases) {
    m.spacing_known = c.known;
    m.spacing_x = c.sx;
    m.spacing_y = c.sy;
    const std::vector<ClassArea> a = class_areas(m, 4);
    ASSERT_EQ(a.size(), 4u);
    for (std::size_t k = 0; k < 4; ++k) {
      EXPECT_EQ(a[k].px, px[k]) << k;
      EXPECT_EQ(a[k].mm2_known, c.known);
      EXPECT_NEAR(a[k].mm2, c.mm2[k], 1e-12) << k;
    }
  }
  EXPECT_TRUE(class_areas(m, 0).empty());
}

// 10 x 4 slice: right lung columns 0..3, left lung columns 6..9 (16 px each), a gap at 4..5.
// Centroid columns 1.5 and 7.5: outside lesions at x < 4.5 belong to the right lung.
LabelMap two_lungs() {
  LabelMap lungs(10, 4, 0);
  for (int y = 0; y < 4; ++y) {
    for (int x = 0; x < 4; ++x) lungs.at(x, y) = 1;
    for (int x = 6; x < 10; ++x) lungs.at(x, y) = 2;
  }
  return lungs;
}

TEST(SeverityAssess, TwoLungsHandComputed) {
  LabelMap les(10, 4, 0);
  les.at(0, 0) = 1;    // right lung, GGO
  les.at(1, 0) = 1;
  les.at(2, 0) = 2;    // right lung, consolidation
  les.at(3, 0) = 2;
  les.at(4, 1) = 3;    // outside, x 4 < 4.5 -> right (its area grows by one)
  les.at(5, 1) = 3;    // outside, x 5 > 4.5 -> left
  les.at(6, 0) = 1;    // left lung
  les.at(7, 0) = 255;  // unknown inside the left lung: not lesion, not lung
  les.at(4, 3) = 255;  // unknown outside: nothing
  const SeverityReport r = assess_severity(les, two_lungs());

  const struct {
    const char* name;
    const LungInvolvement& got;
    std::uint64_t lung_px, lesion_px, outside;
    double percent;
    int band;
  } cases[] = {
      {"right", r.right, 17, 5, 1, 500.0 / 17.0, 2},  // 29.4 %
      {"left", r.left, 16, 2, 1, 12.5, 1},            // 16 - 1 unknown + 1 outside
      {"total", r.total, 33, 7, 2, 700.0 / 33.0, 1},  // 21.2 %
  };
  for (const auto& c : cases) {
    EXPECT_EQ(c.got.lung_px, c.lung_px) << c.name;
    EXPECT_EQ(c.got.lesion_px, c.lesion_px) << c.name;
    EXPECT_EQ(c.got.outside_lesion_px, c.outside) << c.name;
    EXPECT_DOUBLE_EQ(c.got.percent, c.percent) << c.name;
    EXPECT_EQ(c.got.severity_band, c.band) << c.name;
  }
  // Classes 0..3 over the 38 pixels that are not 255.
  const std::vector<std::uint64_t> px = {31, 3, 2, 2};
  ASSERT_EQ(r.classes.size(), 4u);
  for (std::size_t k = 0; k < 4; ++k) EXPECT_EQ(r.classes[k].px, px[k]) << k;
  EXPECT_FALSE(r.classes[1].mm2_known);
}

TEST(SeverityAssess, ExactQuarterIsBandOne) {
  LabelMap lungs(4, 1, 1);
  LabelMap les(4, 1, 0);
  les.at(2, 0) = 1;
  const SeverityReport r = assess_severity(les, lungs);
  EXPECT_DOUBLE_EQ(r.right.percent, 25.0);
  EXPECT_EQ(r.right.severity_band, 1);
  EXPECT_TRUE(r.right.lung_found);
  // No left lung in the mask: nothing to grade there.
  EXPECT_EQ(r.left.lung_px, 0u);
  EXPECT_FALSE(r.left.lung_found);
  EXPECT_TRUE(std::isnan(r.left.percent));
  EXPECT_EQ(r.left.severity_band, kNoSeverityBand);
  EXPECT_TRUE(r.total.lung_found);
  EXPECT_DOUBLE_EQ(r.total.percent, 25.0);
}

TEST(SeverityAssess, MissingLungs) {
  // Only a right lung: an outside lesion on the far image right still goes to it.
  LabelMap lungs(10, 1, 0);
  lungs.at(0, 0) = 1;
  LabelMap les(10, 1, 0);
  les.at(9, 0) = 3;
  SeverityReport r = assess_severity(les, lungs);
  EXPECT_EQ(r.right.lung_px, 2u);
  EXPECT_EQ(r.right.lesion_px, 1u);
  EXPECT_DOUBLE_EQ(r.right.percent, 50.0);
  EXPECT_EQ(r.left.lung_px, 0u);
  EXPECT_EQ(r.lesion_px_without_lung, 0u);
  // No lung at all (an abdominal slice): no percentage and no band, never "100 %"; the lesion
  // pixels stay counted, for no lung.
  les.at(1, 0) = 2;
  r = assess_severity(les, LabelMap(10, 1, 0));
  EXPECT_EQ(r.lesion_px_without_lung, 2u);
  for (const LungInvolvement* l : {&r.right, &r.left, &r.total}) {
    EXPECT_FALSE(l->lung_found);
    EXPECT_EQ(l->lung_px, 0u);
    EXPECT_EQ(l->lesion_px, 0u);
    EXPECT_TRUE(std::isnan(l->percent));
    EXPECT_EQ(l->severity_band, kNoSeverityBand);
  }
  EXPECT_EQ(r.classes[2].px, 1u);
  EXPECT_EQ(r.classes[3].px, 1u);
}

TEST(SeverityAssess, SizeMismatchGivesZeros) {
  LabelMap les(4, 4, 1);
  const SeverityReport r = assess_severity(les, LabelMap(4, 3, 1));
  EXPECT_EQ(r.total.lung_px, 0u);
  EXPECT_FALSE(r.total.lung_found);
  EXPECT_EQ(r.total.severity_band, kNoSeverityBand);
  EXPECT_EQ(r.classes.size(), 4u);
  EXPECT_EQ(r.classes[1].px, 0u);
}

TEST(SeverityFixtures, Slice32WithClassicLungMask) {
  // Reference lesions of the real slice 32 against the classic lung mask. Measured: right
  // 31578 / 43323 = 72.9 % (band 3), left 31322 / 39559 = 79.2 % (band 4), total 75.9 % (4);
  // 7059 lesion px (mostly effusion) lay outside both masks and were attributed by side.
  const std::string dir = std::string(CORONA_FIXTURES_DIR) + "/medseg/";
  const auto img = load_image_from_file(dir + "tr_im_0032.png");
  const auto ref = load_label_png_from_file(dir + "tr_mask_4class_0032.png");
  ASSERT_TRUE(img.ok()) << img.error().message;
  ASSERT_TRUE(ref.ok()) << ref.error().message;
  const SeverityReport r = assess_severity(*ref, lung_mask_from_u8(*img));
  // slices.csv: GGO 5998, consolidation 51341, effusion 5561.
  EXPECT_EQ(r.classes[1].px, 5998u);
  EXPECT_EQ(r.classes[2].px, 51341u);
  EXPECT_EQ(r.classes[3].px, 5561u);
  EXPECT_EQ(r.total.lesion_px, 5998u + 51341u + 5561u);  // every lesion pixel goes to one lung
  EXPECT_GE(r.right.severity_band, 3);
  EXPECT_GE(r.left.severity_band, 3);
  EXPECT_GT(r.total.percent, 60.0);
  EXPECT_LT(r.total.percent, 90.0);
}

TEST(SeveritySum, AddsPixelsAndRecomputesPercentFromTheSums) {
  // Two slices: right lung 10 px with 1 lesion px, then 30 px with 9: the volume is 10 / 40 =
  // 25 % (band 1), not the mean of 10 % and 30 % (20 %) nor their max.
  SeverityReport a, b;
  a.classes = {ClassArea{39, 19.5, true}, ClassArea{1, 0.5, true}};
  b.classes = {ClassArea{21, 10.5, true}, ClassArea{9, 4.5, true}};
  a.right.lung_px = 10;
  a.right.lesion_px = 1;
  a.right.lung_found = b.right.lung_found = true;
  b.right.lung_px = 30;
  b.right.lesion_px = 9;
  b.right.outside_lesion_px = 2;
  a.total = a.right;
  b.total = b.right;
  const SeverityReport s = sum_severity({a, b}, 2);
  ASSERT_EQ(s.classes.size(), 2u);
  EXPECT_EQ(s.classes[0].px, 60u);
  EXPECT_EQ(s.classes[1].px, 10u);
  EXPECT_DOUBLE_EQ(s.classes[1].mm2, 5.0);
  EXPECT_TRUE(s.classes[1].mm2_known);
  EXPECT_EQ(s.right.lung_px, 40u);
  EXPECT_EQ(s.right.lesion_px, 10u);
  EXPECT_EQ(s.right.outside_lesion_px, 2u);
  EXPECT_DOUBLE_EQ(s.right.percent, 25.0);
  EXPECT_EQ(s.right.severity_band, 1);
  EXPECT_EQ(s.left.lung_px, 0u);
  EXPECT_FALSE(s.left.lung_found);  // no slice found a left lung
  EXPECT_EQ(s.left.severity_band, kNoSeverityBand);
  EXPECT_DOUBLE_EQ(s.total.percent, 25.0);
}

TEST(SeveritySum, SlicesWithoutLungsAddNoInvolvement) {
  // A chest slice (right lung 4 px, 1 lesion) and an abdominal one (no lung, 3 lesion pixels):
  // the volume is 25 % involved, and the abdominal lesions are kept apart.
  LabelMap lungs(4, 1), no_lungs(4, 1, 0), chest(4, 1, 0), belly(4, 1, 0);
  lungs.pixels = {1, 1, 1, 1};
  chest.pixels = {1, 0, 0, 0};
  belly.pixels = {2, 2, 1, 0};
  const SeverityReport s = sum_severity({assess_severity(chest, lungs), assess_severity(belly, no_lungs)}, 4);
  EXPECT_TRUE(s.total.lung_found);
  EXPECT_DOUBLE_EQ(s.total.percent, 25.0);
  EXPECT_EQ(s.total.severity_band, 1);
  EXPECT_EQ(s.lesion_px_without_lung, 3u);
  EXPECT_EQ(s.classes[2].px, 2u);
}

TEST(SeveritySum, NoSlicesGivesZerosWithEveryClass) {
  const SeverityReport s = sum_severity({}, 4);
  ASSERT_EQ(s.classes.size(), 4u);
  EXPECT_EQ(s.classes[3].px, 0u);
  EXPECT_FALSE(s.classes[3].mm2_known);
  EXPECT_FALSE(s.total.lung_found);
  EXPECT_EQ(s.total.severity_band, kNoSeverityBand);
}

TEST(SeveritySum, OneSliceEqualsItsOwnReport) {
  LabelMap lesions(4, 1), lungs(4, 1);
  lesions.pixels = {0, 1, 0, 2};
  lungs.pixels = {1, 1, 2, 2};
  const SeverityReport one = assess_severity(lesions, lungs, 3);
  const SeverityReport s = sum_severity({one}, 3);
  EXPECT_EQ(s.right.lesion_px, one.right.lesion_px);
  EXPECT_DOUBLE_EQ(s.right.percent, one.right.percent);
  EXPECT_DOUBLE_EQ(s.left.percent, 50.0);
  EXPECT_EQ(s.total.severity_band, one.total.severity_band);
  for (std::size_t c = 0; c < 3; ++c) EXPECT_EQ(s.classes[c].px, one.classes[c].px);
}

}  // namespace
}  // namespace corona
