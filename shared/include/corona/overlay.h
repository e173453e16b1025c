// corona/overlay.h: what the viewer and `predict` draw: a gray CT slice turned to RGBA with lesion
// labels or a class activation map alpha-blended on top, all in exact, platform-independent integers.
#pragma once

#include <cstdint>
#include <vector>

#include "corona/image.h"

namespace corona {

struct Rgba {
  std::uint8_t r = 0;
  std::uint8_t g = 0;
  std::uint8_t b = 0;
  std::uint8_t a = 255;
};

// Interleaved 8-bit RGBA, row-major: pixel (x, y) starts at rgba[4 * (y * width + x)].
struct RgbaImage {
  int width = 0;
  int height = 0;
  std::vector<std::uint8_t> rgba;

  Rgba at(int x, int y) const {
    const std::size_t i = 4 * (static_cast<std::size_t>(y) * static_cast<std::size_t>(width) + x);
    return Rgba{rgba[i], rgba[i + 1], rgba[i + 2], rgba[i + 3]};
  }
};

// How one label value is drawn. colour.a scales the global opacity (255 = full opacity).
struct LabelStyle {
  Rgba colour;
  bool visible = true;
};

// Styles indexed by label: 0 background (not visible), 1 ground-glass opacity (gold),
// 2 consolidation (red), 3 pleural effusion (blue). Fallback when plans.json names no colours.
std::vector<LabelStyle> default_lesion_styles();

// Gray to opaque RGBA: r = g = b = value, a = 255.
RgbaImage gray_to_rgba(const ImageU8& gray);

// Alpha-blends each visible label's colour over the gray base. Never drawn: label 0
// (background), kIgnoreLabel (255), labels >= styles.size(), and styles with visible == false.
// Blending is integer so the browser and native builds agree to the bit:
//   alpha = round(clamp(opacity, 0, 1) * colour.a)               in 0..255
//   out   = (base * (255 - alpha) + colour * alpha + 127) / 255  (round to nearest)
// Output alpha is always 255. Error when base and labels differ in size or are inconsistent.
Expected<RgbaImage> render_overlay(const ImageU8& base, const LabelMap& labels,
                                   const std::vector<LabelStyle>& styles, float opacity);

// The fixed colormap for activation maps: piecewise-linear "jet", v clamped to [0, 1]
// (NaN counts as 0): r = clamp(1.5 - |4v - 3|), g = clamp(1.5 - |4v - 2|), b = clamp(1.5 - |4v - 1|),
// each channel = round(255 * c). So 0 -> (0,0,128), 0.5 -> (128,255,128), 1 -> (128,0,0). a = 255.
Rgba jet_colour(float v);

// Blends jet_colour(map01(x, y)) over the gray base with the same integer rule as
// render_overlay, alpha = round(clamp(opacity, 0, 1) * 255) everywhere (low activations are
// dark blue, not transparent). Error when the sizes differ.
Expected<RgbaImage> render_heatmap(const ImageU8& base, const ImageF& map01, float opacity);

}  // namespace corona
