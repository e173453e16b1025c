// Overlay rendering: gray slice -> RGBA, labels and activation maps blended in integer arithmetic
// so the wasm viewer and the native `predict` produce identical PNGs.
#include "corona/overlay.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

namespace corona {
namespace {

template <class T>
bool consistent(const Image2D<T>& image) {
  return image.width >= 0 && image.height >= 0 &&
         static_cast<std::uint64_t>(image.width) * static_cast<std::uint64_t>(image.height) ==
             static_cast<std::uint64_t>(image.pixels.size());
}

template <class T>
Expected<bool> check_same_size(const char* what, const ImageU8& base, const Image2D<T>& other_img) {
  if (!consistent(base) || !consistent(other_img) ||
      base.width != other_img.width || base.height != other_img.height) {
    return make_error(std::string(what) + ": base is " + std::to_string(base.width) + "x" +
                      std::to_string(base.height) + " but the overlay is " + std::to_string(other_img.width) + "x" +
                      std::to_string(other_img.height) + " (or a pixel buffer does not match its size)");
  }
  return true;
}

// Opacity in [0, 1] (NaN -> 0) scaled by a 0..255 colour alpha, rounded to a 0..255 weight.
int blend_alpha(float opacity, int colour_alpha) {
  const float o = std::isnan(opacity) ? 0.0f : std::min(1.0f, std::max(0.0f, opacity));
  return static_cast<int>(std::lround(o * static_cast<float>(colour_alpha)));
}

// Round-to-nearest of (base * (255 - alpha) + colour * alpha) / 255; exact halves cannot occur.
std::uint8_t mix(int base, int colour, int alpha) {
  return static_cast<std::uint8_t>((base * (255 - alpha) + colour * alpha + 127) / 255);
}

void blend_pixel(RgbaImage* out, std::size_t i, int gray, const Rgba& colour, int alpha) {
  std::uint8_t* px = out->rgba.data() + 4 * i;
  px[0] = mix(gray, colour.r, alpha);
  px[1] = mix(gray, colour.g, alpha);
  px[2] = mix(gray, colour.b, alpha);
  px[3] = 255;
}

float clamp01(float v) { return std::isnan(v) ? 0.0f : std::min(1.0f, std::max(0.0f, v)); }

std::uint8_t jet_channel(float v, float centre) {
  const float c = std::min(1.0f, std::max(0.0f, 1.5f - std::fabs(4.0f * v - centre)));
  return static_cast<std::uint8_t>(std::lround(255.0f * c));
}

}  // namespace

std::vector<LabelStyle> default_lesion_styles() {
  return {
      LabelStyle{Rgba{0, 0, 0, 0}, false},        // 0 background
      LabelStyle{Rgba{255, 215, 0, 255}, true},   // 1 ground-glass opacity
      LabelStyle{Rgba{230, 25, 75, 255}, true},   // 2 consolidation
      LabelStyle{Rgba{0, 130, 200, 255}, true},   // 3 pleural effusion
  };
}

RgbaImage gray_to_rgba(const ImageU8& gray) {
  RgbaImage out{gray.width, gray.height, std::vector<std::uint8_t>(4 * gray.pixels.size())};
  for (std::size_t i = 0; i < gray.pixels.size(); ++i) {
    std::uint8_t* px = out.rgba.data() + 4 * i;
    px[0] = px[1] = px[2] = gray.pixels[i];
    px[3] = 255;
  }
  return out;
}

Expected<RgbaImage> render_overlay(const ImageU8& base, const LabelMap& labels, const std::vector<LabelStyle>& styles,
                                   float opacity) {
  auto same = check_same_size("render_overlay", base, labels);
  if (!same) return same.error();
  RgbaImage out = gray_to_rgba(base);
  std::vector<int> alpha(styles.size());  // per label, computed once
  for (std::size_t l = 0; l < styles.size(); ++l) alpha[l] = blend_alpha(opacity, styles[l].colour.a);
  for (std::size_t i = 0; i < labels.pixels.size(); ++i) {
    const std::size_t label = labels.pixels[i];
    if (label == 0 || label == kIgnoreLabel || label >= styles.size() || !styles[label].visible) continue;
    blend_pixel(&out, i, base.pixels[i], styles[label].colour, alpha[label]);
  }
  return Expected<RgbaImage>(std::move(out));
}

Rgba jet_colour(float v) {
  const float x = clamp01(v);
  return Rgba{jet_channel(x, 3.0f), jet_channel(x, 2.0f), jet_channel(x, 1.0f), 255};
}

Expected<RgbaImage> render_heatmap(const ImageU8& base, const ImageF& map01, float opacity) {
  auto same = check_same_size("render_heatmap", base, map01);
  if (!same) return same.error();
  RgbaImage out = gray_to_rgba(base);
  const int alpha = blend_alpha(opacity, 255);
  for (std::size_t i = 0; i < map01.pixels.size(); ++i) {
    blend_pixel(&out, i, base.pixels[i], jet_colour(map01.pixels[i]), alpha);
  }
  return Expected<RgbaImage>(std::move(out));
}

}  // namespace corona
