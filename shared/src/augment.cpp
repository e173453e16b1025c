// augment.cpp: PCG32, the single inverse-mapping warp, and the random transforms built on them.
// Everything here uses integer and IEEE +,-,*,/ arithmetic (plus det_math) in fixed loop order,
// so a seed gives the same sample natively and in WebAssembly.
#include "corona/augment.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

#include "det_math.h"

namespace corona {

// ---- Rng -------------------------------------------------------------------------------------

Rng::Rng(std::uint64_t seed, std::uint64_t stream) {
  // pcg32_srandom_r: the reference seeding, so published test vectors apply.
  state_ = 0;
  inc_ = (stream << 1u) | 1u;
  next_u32();
  state_ += seed;
  next_u32();
}

std::uint32_t Rng::next_u32() {
  const std::uint64_t old = state_;
  state_ = old * 6364136223846793005ULL + inc_;
  const auto xorshifted = static_cast<std::uint32_t>(((old >> 18u) ^ old) >> 27u);
  const auto rot = static_cast<std::uint32_t>(old >> 59u);
  return (xorshifted >> rot) | (xorshifted << ((32u - rot) & 31u));
}

std::uint64_t Rng::next_u64() {
  const std::uint64_t hi = next_u32();
  const std::uint64_t lo = next_u32();
  return (hi << 32u) | lo;
}

float Rng::uniform() { return static_cast<float>(next_u32() >> 8u) * 0x1p-24f; }

double Rng::uniform_double() {
  const std::uint64_t hi = next_u32() >> 5u;  // 27 bits
  const std::uint64_t lo = next_u32() >> 6u;  // 26 bits
  return static_cast<double>((hi << 26u) | lo) * 0x1p-53;
}

float Rng::uniform(float lo, float hi) { return lo + (hi - lo) * uniform(); }

std::uint32_t Rng::uniform_int(std::uint32_t n) {
  if (n == 0) return 0;
  // Reject the 2^32 mod n lowest values so every residue is equally likely.
  const std::uint32_t threshold = (0u - n) % n;
  for (;;) {
    const std::uint32_t r = next_u32();
    if (r >= threshold) return r % n;
  }
}

int Rng::uniform_int(int lo, int hi) {
  if (hi <= lo) return lo;
  const std::int64_t span = static_cast<std::int64_t>(hi) - lo + 1;  // <= 2^32
  const std::uint32_t offset =
      span > 0xFFFFFFFFLL ? next_u32() : uniform_int(static_cast<std::uint32_t>(span));
  return static_cast<int>(static_cast<std::int64_t>(lo) + offset);
}

float Rng::normal() {
  const double u1 = 1.0 - uniform_double();  // (0, 1]: log stays finite
  const double u2 = uniform_double();
  const double radius = std::sqrt(-2.0 * detmath::log(u1));
  return static_cast<float>(radius * detmath::cos(detmath::kTwoPi * u2));
}

float Rng::normal(float mean, float std) { return mean + std * normal(); }

bool Rng::bernoulli(float p) { return uniform() < p; }

// ---- warp ------------------------------------------------------------------------------------

namespace {

Image2D<float> with_geometry(const ImageF& like, int w, int h, float fill) {
  ImageF out(w, h, fill);
  out.spacing_x = like.spacing_x;
  out.spacing_y = like.spacing_y;
  out.spacing_known = like.spacing_known;
  return out;
}

LabelMap mask_with_geometry(const LabelMap& like, int w, int h) {
  LabelMap out(w, h, 0);
  out.spacing_x = like.spacing_x;
  out.spacing_y = like.spacing_y;
  out.spacing_known = like.spacing_known;
  return out;
}

bool has_mask(const Sample& s) {
  return !s.mask.empty() && s.mask.width == s.image.width && s.mask.height == s.image.height;
}

float pixel_or_fill(const ImageF& img, long x, long y, float fill) {
  if (x < 0 || y < 0 || x >= img.width || y >= img.height) return fill;
  return img.at(static_cast<int>(x), static_cast<int>(y));
}

// Bilinear on the source padded with fill; zero-weight taps are not read, so an exact integer
// coordinate returns the pixel itself bit for bit.
float sample_bilinear(const ImageF& img, double sx, double sy, float fill) {
  if (!(sx > -1.0 && sy > -1.0 && sx < img.width && sy < img.height)) return fill;  // also NaN
  const double fx0 = std::floor(sx), fy0 = std::floor(sy);
  const double fx = sx - fx0, fy = sy - fy0;
  const long x0 = static_cast<long>(fx0), y0 = static_cast<long>(fy0);
  auto row = [&](long y) -> double {
    const double v0 = pixel_or_fill(img, x0, y, fill);
    if (fx == 0.0) return v0;
    return (1.0 - fx) * v0 + fx * static_cast<double>(pixel_or_fill(img, x0 + 1, y, fill));
  };
  const double top = row(y0);
  if (fy == 0.0) return static_cast<float>(top);
  return static_cast<float>((1.0 - fy) * top + fy * row(y0 + 1));
}

// Nearest with floor(s + 0.5): ties go up on both axes, the same on every platform.
std::uint8_t sample_nearest(const LabelMap& mask, double sx, double sy) {
  const double nx = std::floor(sx + 0.5), ny = std::floor(sy + 0.5);
  if (!(nx >= 0.0 && ny >= 0.0 && nx < mask.width && ny < mask.height)) return 0;
  return mask.at(static_cast<int>(nx), static_cast<int>(ny));
}

Affine2D translation(double tx, double ty) { return Affine2D{1.0, 0.0, tx, 0.0, 1.0, ty}; }

}  // namespace

Affine2D compose(const Affine2D& o, const Affine2D& i) {
  Affine2D r;
  r.a = o.a * i.a + o.b * i.d;
  r.b = o.a * i.b + o.b * i.e;
  r.c = o.a * i.c + o.b * i.f + o.c;
  r.d = o.d * i.a + o.e * i.d;
  r.e = o.d * i.b + o.e * i.e;
  r.f = o.d * i.c + o.e * i.f + o.f;
  return r;
}

Affine2D geometric_inverse(int width, int height, bool flip_h, bool flip_v, double degrees,
                           double scale, double shift_x, double shift_y) {
  // source = c + F S^-1 R^-1 (out - c - t); R^-1 of a displayed counter-clockwise rotation with
  // y down is [[cos, -sin], [sin, cos]].
  const double cx = (width - 1) / 2.0, cy = (height - 1) / 2.0;
  const double cs = detmath::cos_deg(degrees), sn = detmath::sin_deg(degrees);
  const double inv_s = scale == 0.0 ? 1.0 : 1.0 / scale;
  const double fh = flip_h ? -1.0 : 1.0, fv = flip_v ? -1.0 : 1.0;
  Affine2D m;
  m.a = fh * inv_s * cs;
  m.b = -fh * inv_s * sn;
  m.d = fv * inv_s * sn;
  m.e = fv * inv_s * cs;
  const double ox = cx + shift_x, oy = cy + shift_y;
  m.c = cx - (m.a * ox + m.b * oy);
  m.f = cy - (m.d * ox + m.e * oy);
  return m;
}

Sample warp(const Sample& in, const Affine2D& A, int out_w, int out_h, float fill,
            const ImageF& dx, const ImageF& dy) {
  Sample out;
  if (out_w <= 0 || out_h <= 0) return out;
  out.image = with_geometry(in.image, out_w, out_h, fill);
  const bool mask = has_mask(in);
  if (mask) out.mask = mask_with_geometry(in.mask, out_w, out_h);
  const bool displaced = dx.width == out_w && dx.height == out_h && dy.width == out_w &&
                         dy.height == out_h && !dx.empty();
  for (int y = 0; y < out_h; ++y) {
    for (int x = 0; x < out_w; ++x) {
      double qx = x, qy = y;
      if (displaced) {
        qx += dx.at(x, y);
        qy += dy.at(x, y);
      }
      const double sx = A.a * qx + A.b * qy + A.c;
      const double sy = A.d * qx + A.e * qy + A.f;
      out.image.at(x, y) = sample_bilinear(in.image, sx, sy, fill);
      if (mask) out.mask.at(x, y) = sample_nearest(in.mask, sx, sy);
    }
  }
  return out;
}

Sample flip(const Sample& in, bool horizontal, bool vertical) {
  const Affine2D A =
      geometric_inverse(in.image.width, in.image.height, horizontal, vertical, 0.0, 1.0, 0.0, 0.0);
  return warp(in, A, in.image.width, in.image.height);
}

Sample rotate(const Sample& in, double degrees, float fill) {
  const Affine2D A =
      geometric_inverse(in.image.width, in.image.height, false, false, degrees, 1.0, 0.0, 0.0);
  return warp(in, A, in.image.width, in.image.height, fill);
}

Sample scale_shift(const Sample& in, double scale, double shift_x, double shift_y, float fill) {
  const Affine2D A = geometric_inverse(in.image.width, in.image.height, false, false, 0.0, scale,
                                       shift_x, shift_y);
  return warp(in, A, in.image.width, in.image.height, fill);
}

// ---- smoothing and intensity -----------------------------------------------------------------

namespace {

std::vector<double> gaussian_kernel(float sigma, int radius) {
  std::vector<double> k(static_cast<std::size_t>(2 * radius + 1));
  const double two_var = 2.0 * static_cast<double>(sigma) * sigma;
  double sum = 0.0;
  for (int i = -radius; i <= radius; ++i) {
    const double v = detmath::exp(-static_cast<double>(i) * i / two_var);
    k[static_cast<std::size_t>(i + radius)] = v;
    sum += v;
  }
  for (double& v : k) v /= sum;
  return k;
}

// One 1D pass along rows (along_x) or columns, border replicated. Each line is copied into a
// buffer padded with its edge values so the inner loop is a plain dot product, summed from
// tap -radius to +radius.
ImageF convolve_axis(const ImageF& img, const std::vector<double>& k, bool along_x) {
  ImageF out = img;
  const int radius = static_cast<int>(k.size() / 2);
  const int n = along_x ? img.width : img.height;      // line length
  const int lines = along_x ? img.height : img.width;
  std::vector<float> line(static_cast<std::size_t>(n + 2 * radius));
  for (int l = 0; l < lines; ++l) {
    auto pixel = [&](int p) -> float& { return along_x ? out.at(p, l) : out.at(l, p); };
    for (int j = -radius; j < n + radius; ++j) {
      const int p = std::min(std::max(j, 0), n - 1);
      line[static_cast<std::size_t>(j + radius)] = along_x ? img.at(p, l) : img.at(l, p);
    }
    for (int p = 0; p < n; ++p) {
      const float* src = &line[static_cast<std::size_t>(p)];
      double acc = 0.0;
      for (std::size_t i = 0; i < k.size(); ++i) acc += k[i] * src[i];
      pixel(p) = static_cast<float>(acc);
    }
  }
  return out;
}

}  // namespace

ImageF gaussian_smooth(const ImageF& img, float sigma) {
  if (!(sigma > 0.0f) || img.empty()) return img;
  // Beyond the image the replicated border adds nothing new: cap the radius there.
  const int max_radius = std::max(img.width, img.height);
  const int radius = static_cast<int>(std::min<double>(std::ceil(3.0 * sigma), max_radius));
  const std::vector<double> k = gaussian_kernel(sigma, radius);
  return convolve_axis(convolve_axis(img, k, true), k, false);
}

ImageF adjust_intensity(const ImageF& img, float brightness, float contrast, float gamma, float lo,
                        float hi, bool clip) {
  double sum = 0.0;
  for (float v : img.pixels) sum += v;
  const double mean = img.empty() ? 0.0 : sum / static_cast<double>(img.size());
  const double range = static_cast<double>(hi) - lo;
  ImageF out = img;
  for (float& p : out.pixels) {
    double v = (p - mean) * contrast + mean + brightness;
    if (gamma != 1.0f && range > 0.0) {
      const double t = std::min(std::max((v - lo) / range, 0.0), 1.0);
      v = lo + range * detmath::pow(t, gamma);
    }
    if (clip) v = std::min(std::max(v, static_cast<double>(lo)), static_cast<double>(hi));
    p = static_cast<float>(v);
  }
  return out;
}

// ---- random draws ----------------------------------------------------------------------------
// Each draw_* consumes a fixed number of values, independent of the outcome.

namespace {

struct FlipDraw {
  bool horizontal, vertical;
};

FlipDraw draw_flip(const FlipAug& cfg, Rng& rng) {
  const bool h = rng.bernoulli(cfg.prob_horizontal);
  const bool v = rng.bernoulli(cfg.prob_vertical);
  return {h, v};
}

struct AffineDraw {
  double degrees = 0.0, scale = 1.0, shift_x = 0.0, shift_y = 0.0;  // shifts: fractions of size
};

AffineDraw draw_affine(const AffineAug& cfg, Rng& rng) {
  const bool fire = rng.bernoulli(cfg.prob);
  AffineDraw d;
  const float degrees = rng.uniform(-cfg.max_rotation_degrees, cfg.max_rotation_degrees);
  const float scale = rng.uniform(cfg.scale_min, cfg.scale_max);
  const float shift_x = rng.uniform(-cfg.max_shift_fraction, cfg.max_shift_fraction);
  const float shift_y = rng.uniform(-cfg.max_shift_fraction, cfg.max_shift_fraction);
  if (fire) d = {degrees, scale, shift_x, shift_y};
  return d;
}

Affine2D affine_inverse(const AffineDraw& d, const FlipDraw& f, int w, int h) {
  return geometric_inverse(w, h, f.horizontal, f.vertical, d.degrees, d.scale, d.shift_x * w,
                           d.shift_y * h);
}

struct ElasticDraw {
  bool fire;
  std::uint64_t seed;
};

ElasticDraw draw_elastic(const ElasticAug& cfg, Rng& rng) {
  const bool fire = rng.bernoulli(cfg.prob);
  const std::uint64_t seed = rng.next_u64();
  return {fire, seed};
}

// Simard: uniform [-1, 1] noise per pixel (all of dx, then all of dy, row-major), smoothed,
// times alpha. The noise is drawn on a grid padded by the kernel radius and only the interior is
// kept: with a replicated (or zero) border the few edge noise values would dominate the corners
// (tens of pixels of displacement, folds); this way the field is statistically the same
// everywhere.
void elastic_field(int w, int h, const ElasticAug& cfg, std::uint64_t seed, ImageF* dx,
                   ImageF* dy) {
  Rng child(seed);
  const double reach = std::ceil(3.0 * std::max(cfg.sigma, 0.0f));
  const int margin = static_cast<int>(std::min<double>(reach, 2.0 * std::max(w, h)));
  for (ImageF* field : {dx, dy}) {
    ImageF noise(w + 2 * margin, h + 2 * margin);
    for (float& v : noise.pixels) v = child.uniform(-1.0f, 1.0f);
    noise = gaussian_smooth(noise, cfg.sigma);
    *field = ImageF(w, h);
    for (int y = 0; y < h; ++y) {
      for (int x = 0; x < w; ++x) field->at(x, y) = noise.at(x + margin, y + margin) * cfg.alpha;
    }
  }
}

struct CropDraw {
  float ux, uy;
};

CropDraw draw_crop(Rng& rng) {
  const float ux = rng.uniform();
  const float uy = rng.uniform();
  return {ux, uy};
}

// Offset of the crop window in [min(0, in - out), max(0, in - out)], uniform over integers.
int crop_offset(int in, int out, float u) {
  const int lo = std::min(0, in - out);
  const int span = std::abs(in - out) + 1;
  const int k = static_cast<int>(std::floor(static_cast<double>(u) * span));
  return lo + std::min(k, span - 1);
}

struct IntensityDraw {
  bool fire = false;
  float brightness = 0.0f, contrast = 1.0f, gamma = 1.0f;
};

IntensityDraw draw_intensity(const IntensityAug& cfg, Rng& rng) {
  IntensityDraw d;
  d.fire = rng.bernoulli(cfg.prob);
  d.brightness = rng.uniform(-cfg.max_brightness, cfg.max_brightness);
  d.contrast = rng.uniform(cfg.contrast_min, cfg.contrast_max);
  const bool gamma_fires = rng.bernoulli(cfg.prob_gamma);
  const float gamma = rng.uniform(cfg.gamma_min, cfg.gamma_max);
  d.gamma = gamma_fires ? gamma : 1.0f;
  return d;
}

ImageF apply_intensity(const ImageF& img, const IntensityDraw& d, const IntensityAug& cfg) {
  if (!d.fire) return img;
  return adjust_intensity(img, d.brightness, d.contrast, d.gamma, cfg.lo, cfg.hi, cfg.clip);
}

int out_size(int requested, int in) { return requested > 0 ? requested : in; }

}  // namespace

// ---- random transforms -----------------------------------------------------------------------

Sample rand_flip(const Sample& in, const FlipAug& cfg, Rng& rng) {
  const FlipDraw f = draw_flip(cfg, rng);
  return flip(in, f.horizontal, f.vertical);
}

Sample rand_affine(const Sample& in, const AffineAug& cfg, Rng& rng, float fill) {
  const AffineDraw d = draw_affine(cfg, rng);
  const int w = in.image.width, h = in.image.height;
  return warp(in, affine_inverse(d, FlipDraw{false, false}, w, h), w, h, fill);
}

Sample rand_rotate(const Sample& in, float prob, float max_degrees, Rng& rng, float fill) {
  return rand_affine(in, AffineAug{prob, max_degrees, 1.0f, 1.0f, 0.0f}, rng, fill);
}

Sample rand_scale_shift(const Sample& in, float prob, float scale_min, float scale_max,
                        float max_shift_fraction, Rng& rng, float fill) {
  return rand_affine(in, AffineAug{prob, 0.0f, scale_min, scale_max, max_shift_fraction}, rng,
                     fill);
}

Sample rand_elastic(const Sample& in, const ElasticAug& cfg, Rng& rng, float fill) {
  const ElasticDraw e = draw_elastic(cfg, rng);
  const int w = in.image.width, h = in.image.height;
  ImageF dx, dy;
  if (e.fire) elastic_field(w, h, cfg, e.seed, &dx, &dy);
  return warp(in, Affine2D{}, w, h, fill, dx, dy);
}

Sample rand_crop(const Sample& in, int width, int height, Rng& rng, float fill) {
  const CropDraw c = draw_crop(rng);
  const int w = out_size(width, in.image.width), h = out_size(height, in.image.height);
  const Affine2D A = translation(crop_offset(in.image.width, w, c.ux),
                                 crop_offset(in.image.height, h, c.uy));
  return warp(in, A, w, h, fill);
}

ImageF rand_intensity(const ImageF& img, const IntensityAug& cfg, Rng& rng) {
  return apply_intensity(img, draw_intensity(cfg, rng), cfg);
}

Sample augment(const Sample& in, const AugmentConfig& cfg, Rng& rng) {
  // All draws first, in the documented order.
  const FlipDraw f = draw_flip(cfg.flip, rng);
  const AffineDraw a = draw_affine(cfg.affine, rng);
  const ElasticDraw e = draw_elastic(cfg.elastic, rng);
  const CropDraw c = draw_crop(rng);
  const IntensityDraw i = draw_intensity(cfg.intensity, rng);

  const int w = in.image.width, h = in.image.height;
  const int ow = out_size(cfg.crop.width, w), oh = out_size(cfg.crop.height, h);
  // Output (crop) pixel -> full augmented frame -> source: one affine map.
  const Affine2D A = compose(affine_inverse(a, f, w, h),
                             translation(crop_offset(w, ow, c.ux), crop_offset(h, oh, c.uy)));
  ImageF dx, dy;
  if (e.fire) elastic_field(ow, oh, cfg.elastic, e.seed, &dx, &dy);
  Sample out = warp(in, A, ow, oh, cfg.fill, dx, dy);
  out.image = apply_intensity(out.image, i, cfg.intensity);
  return out;
}

}  // namespace corona
