// Network input and output conversions shared by every runtime (see corona/segmentation.h).
#include "corona/segmentation.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "corona/postprocess.h"

namespace corona {

ImageF model_input_from_hu(const ImageF& hu, IntensityWindow window, int size, float mean, float std) {
  ImageF w = apply_window(hu, window);  // 0..255 floats, clipped
  for (float& v : w.pixels) {
    if (!std::isfinite(v)) v = 0.0f;  // NaN HU (missing data) reads as air, not as a NaN input
  }
  return model_input_from_float(w, size, mean, std);
}

SlicePrediction segmentation_from_logits(const float* logits, int num_classes, int size, int width, int height) {
  const std::size_t plane = static_cast<std::size_t>(size) * size;
  MultiChannelImage lg(num_classes, size, size);
  std::memcpy(lg.data.data(), logits, num_classes * plane * sizeof(float));
  const MultiChannelImage prob = softmax(lg);
  SlicePrediction p;
  p.probabilities = MultiChannelImage(num_classes, width, height);
  const std::size_t out_plane = p.probabilities.plane_size();
  for (int k = 0; k < num_classes; ++k) {
    ImageF channel(size, size);
    std::copy(prob.data.begin() + static_cast<std::ptrdiff_t>(k * plane),
              prob.data.begin() + static_cast<std::ptrdiff_t>((k + 1) * plane), channel.pixels.begin());
    const ImageF up = resize_bilinear(channel, width, height);
    std::copy(up.pixels.begin(), up.pixels.end(),
              p.probabilities.data.begin() + static_cast<std::ptrdiff_t>(k * out_plane));
  }
  p.labels = argmax(p.probabilities);
  p.lesion_probability = ImageF(width, height);
  for (std::size_t q = 0; q < out_plane; ++q) p.lesion_probability.pixels[q] = 1.0f - p.probabilities.data[q];
  return p;
}

ImageF cam_from_evidence(const float* evidence, int map_w, int map_h, int width, int height) {
  ImageF map(map_w, map_h);
  for (std::size_t i = 0; i < map.pixels.size(); ++i) map.pixels[i] = std::max(0.0f, evidence[i]);
  ImageF cam = resize_bilinear(map, width, height);
  const auto [lo_it, hi_it] = std::minmax_element(cam.pixels.begin(), cam.pixels.end());
  const float lo = cam.pixels.empty() ? 0.0f : *lo_it;
  const float range = cam.pixels.empty() ? 0.0f : *hi_it - lo;
  for (float& v : cam.pixels) v = range > 1e-12f ? (v - lo) / range : 0.0f;
  return cam;
}

float infected_probability_from_logit(float logit) { return 1.0f / (1.0f + std::exp(-logit)); }

}  // namespace corona
