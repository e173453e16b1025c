// Tests for corona/postprocess.h: activations, connected components, small-component removal and
// square morphology, as tables with hand-computed expectations.
#include "corona/postprocess.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

namespace corona {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr double kLn3 = 1.0986122886681098;  // softmax(0, ln 3) = (1/4, 3/4)

// Builds a LabelMap from rows of digits ('.' = 0, 'X' = 255), top row first.
LabelMap from_rows(const std::vector<std::string>& rows) {
  LabelMap m(static_cast<int>(rows[0].size()), static_cast<int>(rows.size()));
  for (int y = 0; y < m.height; ++y) {
    for (int x = 0; x < m.width; ++x) {
      const char c = rows[static_cast<std::size_t>(y)][static_cast<std::size_t>(x)];
      m.at(x, y) = c == '.' ? 0 : c == 'X' ? 255 : static_cast<std::uint8_t>(c - '0');
    }
  }
  return m;
}

std::vector<std::string> to_rows(const LabelMap& m) {
  std::vector<std::string> rows;
  for (int y = 0; y < m.height; ++y) {
    std::string r;
    for (int x = 0; x < m.width; ++x) {
      const std::uint8_t v = m.at(x, y);
      r += v == 0 ? '.' : v == 255 ? 'X' : static_cast<char>('0' + v);
    }
    rows.push_back(r);
  }
  return rows;
}

// ---- softmax ---------------------------------------------------------------------------------

struct SoftmaxCase {
  float a, b;   // the two channels' logits at one pixel
  double p0;    // expected probability of channel 0
};

TEST(PostprocessSoftmax, TwoChannelTable) {
  const SoftmaxCase cases[] = {
      {0.0f, 0.0f, 0.5},
      {0.0f, static_cast<float>(kLn3), 0.25},
      {static_cast<float>(kLn3), 0.0f, 0.75},
      {1000.0f, 1000.0f, 0.5},     // would overflow without subtracting the max
      {-1000.0f, -1000.0f, 0.5},   // would underflow to 0/0
      {0.0f, 200.0f, 0.0},         // e^-200 is below float's smallest normal
  };
  for (const auto& c : cases) {
    // One 1x2 image: pixel 0 holds the case, pixel 1 the mirrored case.
    MultiChannelImage logits(2, 2, 1);
    logits.at(0, 0, 0) = c.a;
    logits.at(1, 0, 0) = c.b;
    logits.at(0, 1, 0) = c.b;
    logits.at(1, 1, 0) = c.a;
    const MultiChannelImage p = softmax(logits);
    ASSERT_EQ(p.channels, 2);
    EXPECT_NEAR(p.at(0, 0, 0), c.p0, 1e-6) << c.a << ", " << c.b;
    EXPECT_NEAR(p.at(1, 0, 0), 1.0 - c.p0, 1e-6);
    EXPECT_NEAR(p.at(0, 1, 0), 1.0 - c.p0, 1e-6);
    EXPECT_NEAR(p.at(1, 1, 0), c.p0, 1e-6);
  }
}

TEST(PostprocessSoftmax, NaNLogitPoisonsOnlyItsPixel) {
  MultiChannelImage logits(3, 2, 1);
  logits.at(1, 0, 0) = kNaN;
  const MultiChannelImage p = softmax(logits);
  for (int c = 0; c < 3; ++c) {
    EXPECT_TRUE(std::isnan(p.at(c, 0, 0)));
    EXPECT_NEAR(p.at(c, 1, 0), 1.0 / 3.0, 1e-7);
  }
}

// ---- argmax ----------------------------------------------------------------------------------

struct ArgmaxCase {
  float v[3];
  std::uint8_t expected;
};

TEST(PostprocessArgmax, TiesGoToLowestChannel) {
  const ArgmaxCase cases[] = {
      {{0, 1, 2}, 2},      {{2, 1, 0}, 0},       {{1, 1, 0}, 0},  // tie 0/1 -> 0
      {{0, 2, 2}, 1},      {{3, 3, 3}, 0},       {{-1, -1, -0.5f}, 2},
      {{kNaN, 1, 0}, 1},   {{0, kNaN, 0}, 0},    {{kNaN, kNaN, kNaN}, 0},
  };
  MultiChannelImage s(3, static_cast<int>(std::size(cases)), 1);
  for (int x = 0; x < s.width; ++x) {
    for (int c = 0; c < 3; ++c) s.at(c, x, 0) = cases[x].v[c];
  }
  const LabelMap out = argmax(s);
  ASSERT_EQ(out.width, s.width);
  for (int x = 0; x < s.width; ++x) EXPECT_EQ(out.at(x, 0), cases[x].expected) << "case " << x;
}

// ---- sigmoid / threshold ---------------------------------------------------------------------

TEST(PostprocessSigmoid, Table) {
  const struct {
    float x;
    double y;
  } cases[] = {{0.0f, 0.5}, {static_cast<float>(kLn3), 0.75}, {static_cast<float>(-kLn3), 0.25},
               {100.0f, 1.0}, {-100.0f, 0.0}, {-1000.0f, 0.0}, {1000.0f, 1.0}};
  ImageF img(static_cast<int>(std::size(cases)), 1);
  img.spacing_x = 0.7;
  img.spacing_known = true;
  for (int i = 0; i < img.width; ++i) img.at(i, 0) = cases[i].x;
  const ImageF out = sigmoid(img);
  EXPECT_TRUE(out.spacing_known);
  EXPECT_DOUBLE_EQ(out.spacing_x, 0.7);
  for (int i = 0; i < img.width; ++i) {
    EXPECT_NEAR(out.at(i, 0), cases[i].y, 1e-7) << cases[i].x;
    EXPECT_FALSE(std::isnan(out.at(i, 0)));
  }
}

TEST(PostprocessThreshold, BoundaryIsInside) {
  const float probs[] = {0.0f, 0.49999f, 0.5f, 0.50001f, 1.0f, kNaN};
  const std::uint8_t expected[] = {0, 0, 3, 3, 3, 0};
  ImageF img(6, 1);
  for (int i = 0; i < 6; ++i) img.at(i, 0) = probs[i];
  const LabelMap out = threshold(img, 0.5f, 3);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(out.at(i, 0), expected[i]) << probs[i];
}

// ---- connected components --------------------------------------------------------------------

TEST(PostprocessComponents, FourVersusEightConnectivity) {
  const LabelMap m = from_rows({
      "1.1.",
      ".1..",
      "1..1",
      "..11",
  });
  const struct {
    Connectivity c;
    std::vector<std::uint64_t> sizes;  // raster order of first pixel
  } cases[] = {
      {Connectivity::kFour, {1, 1, 1, 1, 3}},
      {Connectivity::kEight, {4, 3}},  // the four diagonal singles join
  };
  for (const auto& c : cases) {
    const Components cc = connected_components(m, 1, c.c);
    EXPECT_EQ(cc.sizes, c.sizes) << static_cast<int>(c.c);
    // The L-shaped triple is the last component either way.
    const std::size_t k = cc.count() - 1;
    EXPECT_EQ(cc.boxes[k].min_x, 2);
    EXPECT_EQ(cc.boxes[k].max_x, 3);
    EXPECT_EQ(cc.boxes[k].min_y, 2);
    EXPECT_EQ(cc.boxes[k].max_y, 3);
    EXPECT_DOUBLE_EQ(cc.centroid_x[k], 8.0 / 3.0);  // (3 + 2 + 3) / 3
    EXPECT_DOUBLE_EQ(cc.centroid_y[k], 8.0 / 3.0);  // (2 + 3 + 3) / 3
    EXPECT_EQ(cc.ids.at(3, 3), static_cast<std::int32_t>(cc.count()));
    EXPECT_EQ(cc.ids.at(1, 0), 0);
  }
}

TEST(PostprocessComponents, LabelSelectsAndNonzeroMergesClasses) {
  const LabelMap m = from_rows({
      "12.X",
      "2..X",
      "..33",
  });
  const struct {
    const char* name;
    Components cc;
    std::vector<std::uint64_t> sizes;
  } cases[] = {
      {"label 1", connected_components(m, 1, Connectivity::kFour), {1}},
      {"label 2", connected_components(m, 2, Connectivity::kFour), {1, 1}},
      {"label 2, 8-conn", connected_components(m, 2, Connectivity::kEight), {2}},
      {"label 255", connected_components(m, 255, Connectivity::kFour), {2}},
      {"nonzero", connected_components_nonzero(m, Connectivity::kFour), {3, 2}},  // 255 excluded
  };
  for (const auto& c : cases) EXPECT_EQ(c.cc.sizes, c.sizes) << c.name;
}

TEST(PostprocessComponents, WholeImageBlobNeedsNoRecursion) {
  LabelMap m(512, 512, 1);
  const Components cc = connected_components(m, 1, Connectivity::kEight);
  ASSERT_EQ(cc.count(), 1u);
  EXPECT_EQ(cc.sizes[0], 512u * 512u);
  EXPECT_DOUBLE_EQ(cc.centroid_x[0], 255.5);
}

TEST(PostprocessComponents, EmptyAndInconsistentInputs) {
  EXPECT_EQ(connected_components(LabelMap{}, 1, Connectivity::kFour).count(), 0u);
  LabelMap bad(4, 4, 1);
  bad.pixels.resize(3);
  EXPECT_EQ(connected_components(bad, 1, Connectivity::kFour).count(), 0u);
}

// ---- small-component removal -----------------------------------------------------------------

struct RemoveCase {
  const char* name;
  std::vector<std::uint64_t> min_px;  // one value = every class; more = per class
  Connectivity c;
  std::vector<std::string> expected;
};

TEST(PostprocessRemoveSmall, Table) {
  const LabelMap in = from_rows({
      "11.2",
      "...2",
      "3.X2",
      ".3..",
  });
  const RemoveCase cases[] = {
      {"min 1 keeps all", {1}, Connectivity::kFour, {"11.2", "...2", "3.X2", ".3.."}},
      {"min 2, 4-conn", {2}, Connectivity::kFour, {"11.2", "...2", "..X2", "...."}},
      {"min 2, 8-conn: diagonal 3s join", {2}, Connectivity::kEight, {"11.2", "...2", "3.X2", ".3.."}},
      {"min 3", {3}, Connectivity::kFour, {"...2", "...2", "..X2", "...."}},
      {"min 4 removes all but 255", {4}, Connectivity::kFour, {"....", "....", "..X.", "...."}},
      {"per class: only class 1 >= 3", {0, 3}, Connectivity::kFour, {"...2", "...2", "3.X2", ".3.."}},
  };
  for (const auto& c : cases) {
    const LabelMap out = c.min_px.size() == 1 ? remove_small_components(in, c.min_px[0], c.c)
                                              : remove_small_components(in, c.min_px, c.c);
    EXPECT_EQ(to_rows(out), c.expected) << c.name;
  }
}

TEST(PostprocessRemoveSmall, TouchingClassesAreSeparateRegions) {
  // A 1 next to a 2: two regions of one pixel each, not one region of two.
  const LabelMap out = remove_small_components(from_rows({"12"}), 2, Connectivity::kFour);
  EXPECT_EQ(to_rows(out), std::vector<std::string>({".."}));
}

TEST(PostprocessKeepLargest, TiesKeepFirst) {
  const LabelMap in = from_rows({
      "11.1",
      "...1",
      "22.2",
  });
  EXPECT_EQ(to_rows(keep_largest_component(in, 1, Connectivity::kFour)),
            std::vector<std::string>({"11..", "....", "22.2"}));
  // 2s: sizes 2 and 1 -> the pair stays.
  EXPECT_EQ(to_rows(keep_largest_component(in, 2, Connectivity::kFour)),
            std::vector<std::string>({"11.1", "...1", "22.."}));
}

// ---- morphology ------------------------------------------------------------------------------

struct MorphCase {
  const char* name;
  LabelMap (*op)(const LabelMap&, int);
  int r;
  std::vector<std::string> in, expected;
};

TEST(PostprocessMorphology, Table) {
  const MorphCase cases[] = {
      {"dilate point", dilate_square, 1, {".....", ".....", "..1..", ".....", "....."},
       {".....", ".111.", ".111.", ".111.", "....."}},
      {"dilate at border clips", dilate_square, 1, {"1....", ".....", "....."},
       {"11...", "11...", "....."}},
      {"erode block", erode_square, 1, {".....", ".111.", ".111.", ".111.", "....."},
       {".....", ".....", "..1..", ".....", "....."}},
      {"erode full image: outside is foreground", erode_square, 2, {"111", "111"}, {"111", "111"}},
      {"close gap", close_square, 1, {".....", ".....", ".1.1.", ".....", "....."},
       {".....", ".....", ".111.", ".....", "....."}},
      {"close along border, no border artefact", close_square, 1, {"1..", "...", "1..", "..."},
       {"1..", "1..", "1..", "..."}},
      {"close r=2 bridges 3-px gap", close_square, 2, {"1...1"}, {"11111"}},
      {"close r=1 does not bridge 3-px gap", close_square, 1, {"1...1"}, {"1...1"}},
      {"open drops speck", open_square, 1, {"1....", ".....", "..111", "..111", "..111"},
       {".....", ".....", "..111", "..111", "..111"}},
      {"r=0 is identity (as 0/1)", close_square, 0, {"3.X"}, {"1.1"}},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(to_rows(c.op(from_rows(c.in), c.r)), c.expected) << c.name;
  }
}

TEST(PostprocessMorphology, ClosingContainsMaskAndOpeningIsInsideIt) {
  // A fixed pseudo-random mask (LCG, no <random>).
  LabelMap m(37, 23);
  std::uint32_t s = 12345;
  for (auto& v : m.pixels) {
    s = s * 1664525u + 1013904223u;
    v = (s >> 28) < 6 ? 1 : 0;
  }
  for (int r : {1, 2, 5}) {
    const LabelMap c = close_square(m, r);
    const LabelMap o = open_square(m, r);
    for (std::size_t i = 0; i < m.pixels.size(); ++i) {
      if (m.pixels[i]) {
        EXPECT_EQ(c.pixels[i], 1) << "closing must be extensive, r=" << r;
      }
      if (o.pixels[i]) {
        EXPECT_EQ(m.pixels[i], 1) << "opening must be anti-extensive, r=" << r;
      }
    }
  }
}

TEST(PostprocessFillHoles, Table) {
  const struct {
    const char* name;
    std::vector<std::string> in, expected;
  } cases[] = {
      {"ring", {".....", ".111.", ".1.1.", ".111.", "....."},
       {".....", ".111.", ".111.", ".111.", "....."}},
      {"diagonal gap does not leak (background is 4-connected)",
       {".....", ".11..", ".1.1.", "..11.", "....."},
       {".....", ".11..", ".111.", "..11.", "....."}},
      {"open to the border is not a hole", {"1.1", "1.1", "111"}, {"1.1", "1.1", "111"}},
      {"two holes", {"1111111", "1.11.11", "1111111"}, {"1111111", "1111111", "1111111"}},
  };
  for (const auto& c : cases) EXPECT_EQ(to_rows(fill_holes(from_rows(c.in))), c.expected) << c.name;
}

}  // namespace
}  // namespace corona
