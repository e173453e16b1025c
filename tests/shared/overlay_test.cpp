// Tests for corona/overlay.h: gray -> RGBA, label blending with hand-computed integer results,
// visibility and ignore rules, the jet colormap and heatmap blending, size checks.
#include "corona/overlay.h"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <set>
#include <string>
#include <tuple>
#include <vector>

namespace corona {
namespace {

using Px = std::array<int, 3>;

Px rgb(const RgbaImage& img, int x, int y) {
  const Rgba c = img.at(x, y);
  return {c.r, c.g, c.b};
}

TEST(OverlayGray, ReplicatesGrayOpaque) {
  ImageU8 gray(2, 1);
  gray.pixels = {7, 250};
  const RgbaImage out = gray_to_rgba(gray);
  EXPECT_EQ(out.width, 2);
  EXPECT_EQ(out.height, 1);
  EXPECT_EQ(out.rgba, (std::vector<std::uint8_t>{7, 7, 7, 255, 250, 250, 250, 255}));
}

// Base 4x2; labels cover background, a red label, an invisible label, a half-alpha green label,
// the ignore label 255 and a label beyond the styles.
struct Scene {
  ImageU8 base{4, 2, 100};
  LabelMap labels{4, 2};
  std::vector<LabelStyle> styles;
  Scene() {
    base.pixels[6] = 0;
    labels.pixels = {0, 1, 2, 3, 255, 4, 1, 2};
    styles = {
        {Rgba{255, 255, 255, 255}, true},  // 0: visible on purpose, still never drawn
        {Rgba{255, 0, 0, 255}, true},
        {Rgba{0, 0, 0, 255}, false},
        {Rgba{0, 255, 0, 128}, true},
    };
  }
};

TEST(OverlayLabels, HandComputedBlends) {
  // out = (base * (255 - a) + colour * a + 127) / 255, a = round(opacity * colour.a).
  //   opacity 0.5: red a = 128 -> base 100: (100*127 + 255*128 + 127)/255 = 178, (100*127 + 127)/255 = 50;
  //                base 0: (255*128 + 127)/255 = 128.  green a = round(0.5*128) = 64 -> base 100:
  //                (100*191 + 127)/255 = 75, (100*191 + 255*64 + 127)/255 = 139.
  //   opacity 1:   red a = 255 -> exact colour; green a = 128 -> 50, 178, 50.
  const Px base{100, 100, 100};
  const struct { float opacity; std::vector<Px> expected; } cases[] = {
      {0.5f, {base, {178, 50, 50}, base, {75, 139, 75}, base, base, {128, 0, 0}, base}},
      {1.0f, {base, {255, 0, 0}, base, {50, 178, 50}, base, base, {255, 0, 0}, base}},
      {2.0f, {base, {255, 0, 0}, base, {50, 178, 50}, base, base, {255, 0, 0}, base}},  // clamped
      {0.0f, {base, base, base, base, base, base, {0, 0, 0}, base}},
      {std::nanf(""), {base, base, base, base, base, base, {0, 0, 0}, base}},
  };
  const Scene s;
  for (const auto& c : cases) {
    auto out = render_overlay(s.base, s.labels, s.styles, c.opacity);
    ASSERT_TRUE(out.ok()) << out.error().message;
    ASSERT_EQ(out->width, 4);
    ASSERT_EQ(out->height, 2);
    for (int i = 0; i < 8; ++i) {
      EXPECT_EQ(rgb(*out, i % 4, i / 4), c.expected[static_cast<std::size_t>(i)]) << "opacity " << c.opacity << " px " << i;
      EXPECT_EQ(out->at(i % 4, i / 4).a, 255);
    }
  }
}

TEST(OverlayLabels, VisibilityToggles) {
  Scene s;
  s.styles[1].visible = false;
  s.styles[2].visible = true;  // black, full alpha
  auto out = render_overlay(s.base, s.labels, s.styles, 1.0f);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(rgb(*out, 1, 0), (Px{100, 100, 100}));  // label 1 hidden
  EXPECT_EQ(rgb(*out, 2, 0), (Px{0, 0, 0}));        // label 2 shown
  EXPECT_EQ(rgb(*out, 3, 1), (Px{0, 0, 0}));
  EXPECT_EQ(rgb(*out, 2, 1), (Px{0, 0, 0}));        // label 1 hidden over a black base
  EXPECT_EQ(rgb(*out, 0, 1), (Px{100, 100, 100}));  // 255 never drawn
}

TEST(OverlayLabels, EmptyStylesDrawNothing) {
  const Scene s;
  auto out = render_overlay(s.base, s.labels, {}, 1.0f);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->rgba, gray_to_rgba(s.base).rgba);
}

TEST(OverlayLabels, SizeMismatchIsAnError) {
  const Scene s;
  LabelMap wrong(3, 2);
  auto out = render_overlay(s.base, wrong, s.styles, 0.5f);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.error().message.find("render_overlay"), std::string::npos);
  EXPECT_NE(out.error().message.find("4x2"), std::string::npos);
  LabelMap inconsistent(4, 2);
  inconsistent.pixels.resize(3);
  EXPECT_FALSE(render_overlay(s.base, inconsistent, s.styles, 0.5f).ok());
}

TEST(OverlayLabels, DefaultLesionStyles) {
  const auto styles = default_lesion_styles();
  ASSERT_EQ(styles.size(), 4u);
  EXPECT_FALSE(styles[0].visible);
  std::set<std::tuple<int, int, int>> colours;
  for (std::size_t l = 1; l < 4; ++l) {
    EXPECT_TRUE(styles[l].visible);
    EXPECT_EQ(styles[l].colour.a, 255);
    colours.insert({styles[l].colour.r, styles[l].colour.g, styles[l].colour.b});
  }
  EXPECT_EQ(colours.size(), 3u);
}

TEST(OverlayHeatmap, JetTable) {
  const struct { float v; Px colour; } cases[] = {
      {0.0f, {0, 0, 128}},    {0.25f, {0, 128, 255}}, {0.5f, {128, 255, 128}}, {0.75f, {255, 128, 0}},
      {1.0f, {128, 0, 0}},    {-3.0f, {0, 0, 128}},   {7.0f, {128, 0, 0}},      {std::nanf(""), {0, 0, 128}},
  };
  for (const auto& c : cases) {
    const Rgba got = jet_colour(c.v);
    EXPECT_EQ((Px{got.r, got.g, got.b}), c.colour) << c.v;
    EXPECT_EQ(got.a, 255);
  }
}

TEST(OverlayHeatmap, HandComputedBlends) {
  ImageU8 base(2, 1);
  base.pixels = {0, 200};
  ImageF map(2, 1);
  map.pixels = {1.0f, 0.0f};
  // opacity 1: pure jet. opacity 0.5 (a = 128): px0 base 0 over (128,0,0): (128*128 + 127)/255 = 64;
  // px1 base 200 over (0,0,128): (200*127 + 127)/255 = 100, (200*127 + 128*128 + 127)/255 = 164.
  const struct { float opacity; Px p0, p1; } cases[] = {
      {1.0f, {128, 0, 0}, {0, 0, 128}},
      {0.5f, {64, 0, 0}, {100, 100, 164}},
      {0.0f, {0, 0, 0}, {200, 200, 200}},
  };
  for (const auto& c : cases) {
    auto out = render_heatmap(base, map, c.opacity);
    ASSERT_TRUE(out.ok()) << out.error().message;
    EXPECT_EQ(rgb(*out, 0, 0), c.p0) << c.opacity;
    EXPECT_EQ(rgb(*out, 1, 0), c.p1) << c.opacity;
  }
  EXPECT_FALSE(render_heatmap(base, ImageF(1, 2), 0.5f).ok());
}

}  // namespace
}  // namespace corona
