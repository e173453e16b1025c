// preprocess.cpp: intensity mapping, resizing, cropping and padding shared by every front-end.
#include "corona/preprocess.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

namespace corona {
namespace {

// Same geometry, new pixel type: the output of a per-pixel map.
template <class Out, class In>
Image2D<Out> like(const Image2D<In>& img) {
  Image2D<Out> out(img.width, img.height);
  out.spacing_x = img.spacing_x;
  out.spacing_y = img.spacing_y;
  out.spacing_known = img.spacing_known;
  return out;
}

// The MONAI formula on one value, in float like MONAI on float32 tensors.
struct IntensityMap {
  float a_min, a_max, b_min, b_max;
  bool clip;
  float operator()(float x) const {
    float y;
    if (a_max == a_min) {
      y = x - a_min + b_min;  // MONAI's fallback: the range is degenerate, just shift
    } else {
      y = (x - a_min) / (a_max - a_min);
      y = y * (b_max - b_min) + b_min;
    }
    if (clip) y = std::min(std::max(y, std::min(b_min, b_max)), std::max(b_min, b_max));
    return y;
  }
};

std::uint8_t round_to_u8(float v) {
  if (!(v > 0.0f)) return 0;  // also NaN
  if (v >= 255.0f) return 255;
  return static_cast<std::uint8_t>(std::floor(v + 0.5f));
}

// Resize geometry: PyTorch's float scale in / out, used for both coordinates and spacing.
float pixel_scale(int in, int out) { return static_cast<float>(in) / static_cast<float>(out); }

template <class T>
Image2D<T> resized_like(const Image2D<T>& img, int width, int height) {
  if (width <= 0 || height <= 0) return Image2D<T>();
  Image2D<T> out(width, height);
  out.spacing_known = img.spacing_known;
  out.spacing_x = img.width > 0 ? img.spacing_x * img.width / width : img.spacing_x;
  out.spacing_y = img.height > 0 ? img.spacing_y * img.height / height : img.spacing_y;
  return out;
}

// One axis of bilinear sampling, PyTorch's area_pixel_compute_source_index + neighbour clamp.
struct LinearTap {
  int i0, i1;
  float w0, w1;
};

std::vector<LinearTap> linear_taps(int in, int out) {
  std::vector<LinearTap> taps(static_cast<std::size_t>(out));
  const float scale = pixel_scale(in, out);
  for (int d = 0; d < out; ++d) {
    float src = scale * (static_cast<float>(d) + 0.5f) - 0.5f;
    if (src < 0.0f) src = 0.0f;
    const int i0 = std::min(static_cast<int>(src), in - 1);  // src >= 0: truncation is floor
    const int i1 = i0 + (i0 < in - 1 ? 1 : 0);
    const float w1 = src - static_cast<float>(i0);
    taps[static_cast<std::size_t>(d)] = {i0, i1, 1.0f - w1, w1};
  }
  return taps;
}

// PyTorch's nearest_idx: the exact-multiple shortcuts matter because the float product can land
// a hair below an integer.
int nearest_index(int d, int in, int out) {
  if (in == out) return d;
  if (out == 2 * in) return d >> 1;
  const float scale = pixel_scale(in, out);
  return std::min(static_cast<int>(std::floor(static_cast<float>(d) * scale)), in - 1);
}

template <class T>
Image2D<T> crop_impl(const Image2D<T>& img, int x, int y, int width, int height, T fill) {
  if (width <= 0 || height <= 0) return Image2D<T>();
  Image2D<T> out(width, height, fill);
  out.spacing_x = img.spacing_x;
  out.spacing_y = img.spacing_y;
  out.spacing_known = img.spacing_known;
  // Copy the overlap row by row; everything else keeps the fill.
  const int x0 = std::max(0, x), x1 = std::min(img.width, x + width);
  const int y0 = std::max(0, y), y1 = std::min(img.height, y + height);
  for (int sy = y0; sy < y1; ++sy) {
    for (int sx = x0; sx < x1; ++sx) out.at(sx - x, sy - y) = img.at(sx, sy);
  }
  return out;
}

template <class T>
Image2D<T> pad_impl(const Image2D<T>& img, int left, int top, int right, int bottom, T value) {
  return crop_impl(img, -left, -top, img.width + left + right, img.height + top + bottom, value);
}

// Start of the centred window on one axis: crop drops floor(d/2) first, pad adds floor(d/2) first.
int centred_start(int in, int out) { return in >= out ? (in - out) / 2 : -((out - in) / 2); }

template <class T>
Image2D<T> center_impl(const Image2D<T>& img, int width, int height, T value) {
  return crop_impl(img, centred_start(img.width, width), centred_start(img.height, height), width,
                   height, value);
}

}  // namespace

ImageF scale_intensity_range(const ImageF& img, float a_min, float a_max, float b_min, float b_max,
                             bool clip) {
  const IntensityMap map{a_min, a_max, b_min, b_max, clip};
  ImageF out = like<float>(img);
  std::transform(img.pixels.begin(), img.pixels.end(), out.pixels.begin(), map);
  return out;
}

VolumeF scale_intensity_range(const VolumeF& vol, float a_min, float a_max, float b_min,
                              float b_max, bool clip) {
  const IntensityMap map{a_min, a_max, b_min, b_max, clip};
  VolumeF out = vol;
  std::transform(vol.voxels.begin(), vol.voxels.end(), out.voxels.begin(), map);
  return out;
}

ImageF apply_window(const ImageF& hu, IntensityWindow w, float out_min, float out_max) {
  return scale_intensity_range(hu, w.lower(), w.upper(), out_min, out_max, true);
}

VolumeF apply_window(const VolumeF& hu, IntensityWindow w, float out_min, float out_max) {
  return scale_intensity_range(hu, w.lower(), w.upper(), out_min, out_max, true);
}

ImageU8 window_to_u8(const ImageF& hu, IntensityWindow w) {
  return float_to_u8(apply_window(hu, w, 0.0f, 255.0f));
}

ImageF u8_to_float(const ImageU8& img) {
  ImageF out = like<float>(img);
  std::transform(img.pixels.begin(), img.pixels.end(), out.pixels.begin(),
                 [](std::uint8_t v) { return static_cast<float>(v); });
  return out;
}

ImageU8 float_to_u8(const ImageF& img) {
  ImageU8 out = like<std::uint8_t>(img);
  std::transform(img.pixels.begin(), img.pixels.end(), out.pixels.begin(), round_to_u8);
  return out;
}

ImageF normalize_intensity(const ImageF& img, float mean, float std, float input_max) {
  const float divisor = std == 0.0f ? 1.0f : std;
  const float scale = input_max == 0.0f ? 1.0f : input_max;
  ImageF out = like<float>(img);
  std::transform(img.pixels.begin(), img.pixels.end(), out.pixels.begin(),
                 [=](float x) { return (x / scale - mean) / divisor; });
  return out;
}

ImageF model_input_from_float(const ImageF& img0_255, int size, float mean, float std) {
  return normalize_intensity(resize_bilinear(img0_255, size, size), mean, std, 255.0f);
}

ImageF model_input_from_u8(const ImageU8& img, int size, float mean, float std) {
  return model_input_from_float(u8_to_float(img), size, mean, std);
}

ImageF resize_bilinear(const ImageF& img, int width, int height) {
  ImageF out = resized_like(img, width, height);
  if (out.empty() || img.empty()) return out;
  const std::vector<LinearTap> tx = linear_taps(img.width, width);
  const std::vector<LinearTap> ty = linear_taps(img.height, height);
  for (int y = 0; y < height; ++y) {
    const LinearTap& v = ty[static_cast<std::size_t>(y)];
    for (int x = 0; x < width; ++x) {
      const LinearTap& h = tx[static_cast<std::size_t>(x)];
      // PyTorch's summation order: each row blended horizontally, then the two rows vertically.
      const float top = h.w0 * img.at(h.i0, v.i0) + h.w1 * img.at(h.i1, v.i0);
      const float bottom = h.w0 * img.at(h.i0, v.i1) + h.w1 * img.at(h.i1, v.i1);
      out.at(x, y) = v.w0 * top + v.w1 * bottom;
    }
  }
  return out;
}

LabelMap resize_nearest(const LabelMap& mask, int width, int height) {
  LabelMap out = resized_like(mask, width, height);
  if (out.empty() || mask.empty()) return out;
  std::vector<int> sx(static_cast<std::size_t>(width));
  for (int x = 0; x < width; ++x) sx[static_cast<std::size_t>(x)] = nearest_index(x, mask.width, width);
  for (int y = 0; y < height; ++y) {
    const int sy = nearest_index(y, mask.height, height);
    for (int x = 0; x < width; ++x) out.at(x, y) = mask.at(sx[static_cast<std::size_t>(x)], sy);
  }
  return out;
}

ImageF crop(const ImageF& img, int x, int y, int width, int height, float fill) {
  return crop_impl(img, x, y, width, height, fill);
}
LabelMap crop(const LabelMap& img, int x, int y, int width, int height, std::uint8_t fill) {
  return crop_impl(img, x, y, width, height, fill);
}

ImageF pad(const ImageF& img, int left, int top, int right, int bottom, float value) {
  return pad_impl(img, left, top, right, bottom, value);
}
LabelMap pad(const LabelMap& img, int left, int top, int right, int bottom, std::uint8_t value) {
  return pad_impl(img, left, top, right, bottom, value);
}

ImageF center_crop_or_pad(const ImageF& img, int width, int height, float value) {
  return center_impl(img, width, height, value);
}
LabelMap center_crop_or_pad(const LabelMap& img, int width, int height, std::uint8_t value) {
  return center_impl(img, width, height, value);
}

}  // namespace corona
