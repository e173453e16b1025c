// corona/augment.h: seeded, cross-build-deterministic data augmentation for (image, mask) pairs:
// flips, rotation/scale/shift, random crop and elastic deformation as one warp, plus intensity jitter.
#pragma once

#include <cstdint>

#include "corona/image.h"

namespace corona {

// ---- random numbers --------------------------------------------------------------------------

// Full generator state, for checkpoints: training can resume the exact augmentation sequence.
struct RngState {
  std::uint64_t state = 0;
  std::uint64_t inc = 0;
};

// PCG32 (O'Neill, XSH-RR 64/32) with its reference seeding, so Rng(42, 54) reproduces the
// published pcg32 demo sequence. All draws are built from next_u32() with integer and IEEE
// arithmetic only (no <random> distributions, no libm), so every build sees the same numbers.
// Copyable: a copy is a snapshot that continues the same sequence.
class Rng {
 public:
  explicit Rng(std::uint64_t seed = 0, std::uint64_t stream = 0);

  std::uint32_t next_u32();
  std::uint64_t next_u64();  // two draws, high word first

  float uniform();                      // [0, 1) on a 2^-24 grid, one draw
  double uniform_double();              // [0, 1) on a 2^-53 grid, two draws
  float uniform(float lo, float hi);    // lo + (hi - lo) * uniform(); one draw
  std::uint32_t uniform_int(std::uint32_t n);  // [0, n) without modulo bias (rejection); n == 0 -> 0
  int uniform_int(int lo, int hi);      // [lo, hi] inclusive; hi < lo -> lo
  float normal();                       // N(0, 1), Box–Muller on two 53-bit uniforms (4 draws)
  float normal(float mean, float std);
  bool bernoulli(float p);              // uniform() < p: p <= 0 never, p >= 1 always; one draw

  RngState state() const { return {state_, inc_}; }
  void set_state(const RngState& s) { state_ = s.state; inc_ = s.inc; }

 private:
  std::uint64_t state_ = 0;
  std::uint64_t inc_ = 1;
};

// ---- the geometric core ----------------------------------------------------------------------

// An image with its label map. mask may be empty (classification data); a non-empty mask must
// have the image's size, otherwise transforms return an empty mask.
struct Sample {
  ImageF image;
  LabelMap mask;
};

// Inverse map of a warp, output pixel -> source pixel, in pixel-centre coordinates (pixel (i, j)
// is the point (i, j)): source = (a x + b y + c, d x + e y + f).
struct Affine2D {
  double a = 1.0, b = 0.0, c = 0.0;
  double d = 0.0, e = 1.0, f = 0.0;
};

// First apply `inner` (output -> intermediate), then `outer` (intermediate -> source).
Affine2D compose(const Affine2D& outer, const Affine2D& inner);

// The inverse map of: flip (about the centre), then rotate counter-clockwise as displayed
// (y points down, as scipy/torchvision), then zoom by `scale` (> 1 enlarges) about the centre,
// then shift by (shift_x, shift_y) pixels, for an image of width x height. Exact for flips and
// multiples of 90 degrees (odd sizes keep the centre on a pixel).
Affine2D geometric_inverse(int width, int height, bool flip_h, bool flip_v, double degrees,
                           double scale, double shift_x, double shift_y);

// The one resampling routine. Output pixel (x, y) reads the source at
// out_to_src(x + dx(x, y), y + dy(x, y)) (dx/dy empty: no displacement; else out_w x out_h).
// Image: bilinear, the source padded with `fill` outside. Mask: nearest, floor(s + 0.5) per axis
// (ties round up), source pixels outside the image read as 0; 255 is copied like any label.
// Spacing is carried unchanged (augmentation does not claim new geometry).
Sample warp(const Sample& in, const Affine2D& out_to_src, int out_w, int out_h, float fill = 0.0f,
            const ImageF& dx = ImageF(), const ImageF& dy = ImageF());

// Deterministic transforms built on warp.
Sample flip(const Sample& in, bool horizontal, bool vertical);
Sample rotate(const Sample& in, double degrees, float fill = 0.0f);  // counter-clockwise
Sample scale_shift(const Sample& in, double scale, double shift_x, double shift_y,
                   float fill = 0.0f);

// Separable Gaussian blur, radius ceil(3 sigma), replicated border, fixed summation order.
// sigma <= 0 returns the input.
ImageF gaussian_smooth(const ImageF& img, float sigma);

// x' = (x - mean) * contrast + mean + brightness (mean: the image's, summed in order in double);
// then, when gamma != 1, lo + (hi - lo) * t^gamma with t = clamp((x' - lo) / (hi - lo), 0, 1);
// then clamped to [lo, hi] when clip.
ImageF adjust_intensity(const ImageF& img, float brightness, float contrast, float gamma, float lo,
                        float hi, bool clip);

// ---- random transforms: configurations -------------------------------------------------------
// Defaults are for 256x256 lung-window CT slices with intensities in 0..255.

struct FlipAug {
  float prob_horizontal = 0.5f;  // left/right lungs are near mirror images
  float prob_vertical = 0.0f;    // anterior/posterior is never flipped in real scans
};

// Rotation, zoom and shift, drawn together and applied as one warp.
struct AffineAug {
  float prob = 0.7f;
  float max_rotation_degrees = 15.0f;  // uniform in [-max, max]; patient positioning varies little
  float scale_min = 0.85f;             // uniform zoom in [scale_min, scale_max]: body size
  float scale_max = 1.15f;
  float max_shift_fraction = 0.08f;    // uniform shift in [-f, f] * width (height): ~20 px
};

// Simard's elastic deformation: per-pixel displacements uniform in [-1, 1], Gaussian-smoothed
// with sigma (pixels), times alpha; rms displacement per axis ~ alpha * 0.577 / (3.54 sigma).
// Defaults: ~1.6-2.5 px rms, rarely above 7 px, local stretch within about +-40%: soft-tissue
// wobble that keeps lesion shapes plausible (alpha 300, sigma 10 starts to look unnatural).
struct ElasticAug {
  float prob = 0.25f;
  float alpha = 100.0f;
  float sigma = 10.0f;
};

// Random crop to width x height (0 keeps that axis's size); an image smaller than the crop is
// padded (fill / mask 0) at a random offset.
struct CropAug {
  int width = 0;
  int height = 0;
};

// Brightness/contrast jitter and an optional gamma curve, image only.
struct IntensityAug {
  float prob = 0.8f;
  float max_brightness = 20.0f;  // uniform additive shift in [-max, max] (~8% of 255)
  float contrast_min = 0.85f;    // uniform factor about the image mean
  float contrast_max = 1.15f;
  float prob_gamma = 0.3f;       // given prob fired
  float gamma_min = 0.7f;        // uniform exponent on the [lo, hi]-normalised image
  float gamma_max = 1.5f;
  float lo = 0.0f;               // the intensity range gamma normalises by and clip keeps
  float hi = 255.0f;
  bool clip = true;
};

struct AugmentConfig {
  FlipAug flip;
  AffineAug affine;
  ElasticAug elastic;
  CropAug crop;
  IntensityAug intensity;
  float fill = 0.0f;  // image value for pixels from outside (0 = air in 0..255 lung window)
};

// ---- random transforms -----------------------------------------------------------------------
// Each draws a fixed number of values whether or not it fires, so the sequence after it does not
// depend on what fired: flip 2 draws, affine 5, elastic 3, crop 2, intensity 5.

Sample rand_flip(const Sample& in, const FlipAug& cfg, Rng& rng);
Sample rand_affine(const Sample& in, const AffineAug& cfg, Rng& rng, float fill = 0.0f);
// rand_affine with only rotation (|angle| <= max_degrees), resp. only zoom and shift.
Sample rand_rotate(const Sample& in, float prob, float max_degrees, Rng& rng, float fill = 0.0f);
Sample rand_scale_shift(const Sample& in, float prob, float scale_min, float scale_max,
                        float max_shift_fraction, Rng& rng, float fill = 0.0f);
// The field is generated from a child Rng seeded by one 64-bit draw.
Sample rand_elastic(const Sample& in, const ElasticAug& cfg, Rng& rng, float fill = 0.0f);
Sample rand_crop(const Sample& in, int width, int height, Rng& rng, float fill = 0.0f);
ImageF rand_intensity(const ImageF& img, const IntensityAug& cfg, Rng& rng);

// The training augmentation. Draws, always in this order: flip, affine, elastic, crop,
// intensity (17 draws per call). Applies: flip, rotation/zoom/shift, crop, then elastic
// displacement on the output grid — all as ONE warp (one interpolation, least blur) — then
// intensity jitter on the image. With nothing firing the output equals the input exactly.
Sample augment(const Sample& in, const AugmentConfig& cfg, Rng& rng);

}  // namespace corona
