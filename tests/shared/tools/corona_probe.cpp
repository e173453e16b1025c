// corona_probe FIXTURES_DIR: runs the core's preprocessing, augmentation, postprocessing and
// metrics on the real fixture slices and prints the results as one JSON object. Built natively
// and with Emscripten; tests/shared/parity/compare_builds.py requires both outputs to agree
// (<= 1e-6), which is how we know the browser computes what training and the server compute.
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "corona/augment.h"
#include "corona/image_io.h"
#include "corona/lung_mask.h"
#include "corona/metrics.h"
#include "corona/overlay.h"
#include "corona/postprocess.h"
#include "corona/preprocess.h"
#include "corona/severity.h"

namespace {

using namespace corona;

// A tiny JSON writer: flat sections of named numbers and number arrays are all the probe needs.
class JsonOut {
 public:
  void begin_section(const std::string& name) {
    std::printf("%s\n  \"%s\": {", first_section_ ? "{" : ",", name.c_str());
    first_section_ = false;
    first_field_ = true;
  }
  void end_section() { std::printf("\n  }"); }
  void number(const std::string& key, double v) {
    field(key);
    if (std::isnan(v)) {
      std::printf("NaN");
    } else {
      std::printf("%.17g", v);
    }
  }
  template <class Vec>
  void numbers(const std::string& key, const Vec& values) {
    field(key);
    std::printf("[");
    for (std::size_t i = 0; i < values.size(); ++i) std::printf("%s%.9g", i ? "," : "", static_cast<double>(values[i]));
    std::printf("]");
  }
  void finish() { std::printf("\n}\n"); }

 private:
  void field(const std::string& key) {
    std::printf("%s\n    \"%s\": ", first_field_ ? "" : ",", key.c_str());
    first_field_ = false;
  }
  bool first_section_ = true;
  bool first_field_ = true;
};

// Every stride-th value: enough to catch a shifted or resampled pixel without megabytes of JSON.
template <class T>
std::vector<double> strided(const std::vector<T>& v, std::size_t stride) {
  std::vector<double> out;
  for (std::size_t i = 0; i < v.size(); i += stride) out.push_back(static_cast<double>(v[i]));
  return out;
}

template <class T>
double sum_of(const std::vector<T>& v) {
  double s = 0.0;
  for (T x : v) s += static_cast<double>(x);
  return s;
}

std::vector<double> label_histogram(const LabelMap& m) {
  std::vector<double> h(256, 0.0);
  for (auto v : m.pixels) h[v] += 1.0;
  return h;
}

// Synthetic 4-class logits derived from the image, so softmax/argmax/metrics see realistic maps.
MultiChannelImage logits_from(const ImageF& img) {
  MultiChannelImage logits(4, img.width, img.height);
  for (int y = 0; y < img.height; ++y) {
    for (int x = 0; x < img.width; ++x) {
      const float v = img.at(x, y) / 255.0f;
      logits.at(0, x, y) = 2.0f * (0.6f - v);
      logits.at(1, x, y) = 4.0f * v - 2.4f;
      logits.at(2, x, y) = 6.0f * v - 4.5f;
      logits.at(3, x, y) = 0.5f * std::sin(0.05f * static_cast<float>(x + y));
    }
  }
  return logits;
}

void probe_slice(JsonOut& out, const std::string& dir, const std::string& id) {
  auto image = load_image_from_file(dir + "/medseg/tr_im_" + id + ".png");
  auto labels = load_label_png_from_file(dir + "/medseg/tr_mask_4class_" + id + ".png");
  if (!image || !labels) {
    std::fprintf(stderr, "cannot load fixture %s: %s\n", id.c_str(),
                 (!image ? image.error() : labels.error()).message.c_str());
    std::exit(1);
  }
  // Preprocessing as training and inference do it: 8-bit -> float, resize to 256, normalise.
  const ImageF as_float = u8_to_float(*image);
  const ImageF small = resize_bilinear(as_float, 256, 256);
  const ImageF normalised = normalize_intensity(small, 0.5f, 0.25f);
  const LabelMap small_labels = resize_nearest(*labels, 256, 256);
  // HU path: invert the lung window to pseudo-HU, window it back.
  const ImageF hu = scale_intensity_range(as_float, 0.0f, 255.0f, kLungWindow.lower(), kLungWindow.upper(), false);
  const ImageF rewindowed = apply_window(hu, kLungWindow);

  out.begin_section("preprocess_" + id);
  out.number("resized_sum", sum_of(small.pixels));
  out.numbers("resized_samples", strided(small.pixels, 61));
  out.numbers("normalised_samples", strided(normalised.pixels, 67));
  out.numbers("nearest_histogram", label_histogram(small_labels));
  out.number("rewindowed_sum", sum_of(rewindowed.pixels));
  out.numbers("hu_samples", strided(hu.pixels, 997));
  out.end_section();

  Rng rng(20261125u + static_cast<std::uint64_t>(std::stoi(id)));
  AugmentConfig config;
  config.elastic.prob = 1.0f;
  Sample sample{small, small_labels};
  out.begin_section("augment_" + id);
  for (int round = 0; round < 3; ++round) {
    sample = augment(sample, config, rng);
    const std::string r = std::to_string(round);
    out.number("image_sum_" + r, sum_of(sample.image.pixels));
    out.numbers("image_samples_" + r, strided(sample.image.pixels, 131));
    out.numbers("mask_histogram_" + r, label_histogram(sample.mask));
    out.numbers("mask_samples_" + r, strided(sample.mask.pixels, 37));
  }
  out.end_section();

  const MultiChannelImage probs = softmax(logits_from(small));
  const LabelMap predicted = argmax(probs);
  const LabelMap cleaned = remove_small_components(predicted, 20, Connectivity::kEight);
  const Components components = connected_components_nonzero(cleaned, Connectivity::kEight);
  const LabelMap lungs = lung_mask_from_u8(*image);
  const LabelMap lungs_hu = lung_mask_from_hu(hu);
  const SeverityReport severity = assess_severity(*labels, lungs);
  out.begin_section("postprocess_" + id);
  out.numbers("prob_samples", strided(probs.data, 211));
  out.numbers("argmax_histogram", label_histogram(predicted));
  out.numbers("cleaned_histogram", label_histogram(cleaned));
  out.numbers("component_sizes", components.sizes);
  out.numbers("lung_histogram", label_histogram(lungs));
  out.numbers("lung_hu_histogram", label_histogram(lungs_hu));
  out.numbers("lung_samples", strided(lungs.pixels, 101));
  for (const auto* lung : {&severity.right, &severity.left, &severity.total}) {
    const std::string k = lung == &severity.right ? "right" : lung == &severity.left ? "left" : "total";
    out.number(k + "_lung_px", static_cast<double>(lung->lung_px));
    out.number(k + "_lesion_px", static_cast<double>(lung->lesion_px));
    out.number(k + "_percent", lung->percent);
    out.number(k + "_band", lung->severity_band);
  }
  const RgbaImage overlay = render_overlay(*image, *labels, default_lesion_styles(), 0.45f).value();
  out.number("overlay_sum", sum_of(overlay.rgba));
  out.end_section();

  // Metrics: the synthetic prediction against the (resized) reference.
  SegmentationOptions options;
  options.classes = {1, 2, 3};
  const auto seg = segmentation_metrics(predicted, small_labels, options).value();
  ImageF lesion_prob(256, 256);
  LabelMap lesion_ref(256, 256);
  for (std::size_t i = 0; i < lesion_prob.pixels.size(); ++i) {
    lesion_prob.pixels[i] = 1.0f - probs.data[i];  // 1 - P(background)
    const std::uint8_t ref = small_labels.pixels[i];
    lesion_ref.pixels[i] = ref == kIgnoreLabel ? kIgnoreLabel : (ref > 0 ? 1 : 0);
  }
  const auto infnet = infnet_evaluate(lesion_prob, lesion_ref).value();
  out.begin_section("metrics_" + id);
  for (const auto& c : seg.per_class) {
    const std::string k = "class" + std::to_string(c.label) + "_";
    out.number(k + "dice", c.values.dice);
    out.number(k + "iou", c.values.iou);
    out.number(k + "sensitivity", c.values.sensitivity);
    out.number(k + "specificity", c.values.specificity);
    out.number(k + "precision", c.values.precision);
  }
  out.number("rand_error", seg.rand_error);
  out.number("binary_dice", binary_dice(lesion_prob, lesion_ref).value());
  out.number("infnet_mean_dice", infnet.mean_dice);
  out.numbers("infnet_curve_samples", strided(std::vector<double>(infnet.dice.begin(), infnet.dice.end()), 5));
  out.end_section();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: corona_probe FIXTURES_DIR\n");
    return 2;
  }
  JsonOut out;
  for (const char* id : {"0022", "0032", "0048"}) probe_slice(out, argv[1], id);
  out.finish();
  return 0;
}
