// Tests for corona/augment.h and the deterministic math behind it (shared/src/det_math.h):
// the RNG, exact geometric cases, image/mask alignment, and seed reproducibility.
#include "corona/augment.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <set>
#include <vector>

#include "../../shared/src/det_math.h"

namespace corona {
namespace {

// ---- det_math against libm ---------------------------------------------------------------------

TEST(DetMath, ExpMatchesLibmRelative) {
  for (double x = -700.0; x <= 700.0; x += 0.3137) {
    const double ref = std::exp(x);
    EXPECT_NEAR(detmath::exp(x) / ref, 1.0, 1e-12) << x;
  }
  for (double x = -1.0; x <= 1.0; x += 0.001) EXPECT_NEAR(detmath::exp(x), std::exp(x), 1e-12) << x;
  EXPECT_EQ(detmath::exp(0.0), 1.0);
  EXPECT_TRUE(std::isinf(detmath::exp(1000.0)));
  EXPECT_EQ(detmath::exp(-1000.0), 0.0);
}

TEST(DetMath, LogMatchesLibm) {
  for (double x = 1e-300; x < 1e300; x *= 1.37) {
    const double ref = std::log(x);
    EXPECT_NEAR(detmath::log(x), ref, 1e-12 * std::max(1.0, std::fabs(ref))) << x;
  }
  for (double x = 0.001; x <= 4.0; x += 0.0007) EXPECT_NEAR(detmath::log(x), std::log(x), 1e-12) << x;
  EXPECT_EQ(detmath::log(1.0), 0.0);
  EXPECT_TRUE(std::isinf(detmath::log(0.0)));
  EXPECT_TRUE(std::isnan(detmath::log(-1.0)));
}

TEST(DetMath, PowMatchesLibmOnGammaRange) {
  for (double x = 0.0005; x <= 1.0; x += 0.0031) {
    for (double y : {0.5, 0.7, 1.0, 1.3, 1.5, 2.0, 3.7}) {
      EXPECT_NEAR(detmath::pow(x, y), std::pow(x, y), 1e-12) << x << "^" << y;
    }
  }
  EXPECT_EQ(detmath::pow(0.0, 1.5), 0.0);
  EXPECT_EQ(detmath::pow(0.3, 0.0), 1.0);
}

TEST(DetMath, SinCosMatchLibm) {
  for (double x = -50.0; x <= 50.0; x += 0.0123) {
    EXPECT_NEAR(detmath::sin(x), std::sin(x), 1e-12) << x;
    EXPECT_NEAR(detmath::cos(x), std::cos(x), 1e-12) << x;
  }
  const double pi = detmath::kPi;
  for (double d = -720.0; d <= 720.0; d += 0.37) {
    EXPECT_NEAR(detmath::sin_deg(d), std::sin(d * pi / 180.0), 1e-12) << d;
    EXPECT_NEAR(detmath::cos_deg(d), std::cos(d * pi / 180.0), 1e-12) << d;
  }
}

TEST(DetMath, DegreesExactAtQuadrants) {
  struct Case {
    double deg, sin, cos;
  };
  const Case cases[] = {{0, 0, 1},   {90, 1, 0},  {180, 0, -1}, {270, -1, 0},
                        {-90, -1, 0}, {360, 0, 1}, {450, 1, 0},  {-180, 0, -1}};
  for (const Case& c : cases) {
    EXPECT_EQ(detmath::sin_deg(c.deg), c.sin) << c.deg;  // == treats -0 as 0
    EXPECT_EQ(detmath::cos_deg(c.deg), c.cos) << c.deg;
  }
}

// ---- Rng ---------------------------------------------------------------------------------------

TEST(AugmentRng, MatchesPcg32ReferenceVector) {
  // pcg32-demo: pcg32_srandom_r(&rng, 42u, 54u), first six outputs.
  Rng rng(42, 54);
  const std::uint32_t expected[] = {0xa15c02b7u, 0x7b47f409u, 0xba1d3330u,
                                    0x83d2f293u, 0xbfa4784bu, 0xcbed606eu};
  for (std::uint32_t e : expected) EXPECT_EQ(rng.next_u32(), e);
}

TEST(AugmentRng, UniformRanges) {
  Rng rng(7);
  double sum = 0.0;
  for (int i = 0; i < 100000; ++i) {
    const float u = rng.uniform();
    ASSERT_GE(u, 0.0f);
    ASSERT_LT(u, 1.0f);
    const double d = rng.uniform_double();
    ASSERT_GE(d, 0.0);
    ASSERT_LT(d, 1.0);
    const float ab = rng.uniform(-3.0f, 5.0f);
    ASSERT_GE(ab, -3.0f);
    ASSERT_LE(ab, 5.0f);
    sum += u;
  }
  EXPECT_NEAR(sum / 100000.0, 0.5, 0.005);
}

TEST(AugmentRng, UniformIntIsUnbiasedAndInRange) {
  Rng rng(123);
  const int n = 6, draws = 60000;
  std::vector<int> counts(n, 0);
  for (int i = 0; i < draws; ++i) {
    const std::uint32_t k = rng.uniform_int(static_cast<std::uint32_t>(n));
    ASSERT_LT(k, static_cast<std::uint32_t>(n));
    ++counts[k];
  }
  // Binomial sd = sqrt(60000 * 1/6 * 5/6) ~ 91: allow 5 sd.
  for (int c : counts) EXPECT_NEAR(c, draws / n, 460);
  std::set<int> seen;
  for (int i = 0; i < 2000; ++i) {
    const int v = rng.uniform_int(-2, 2);
    ASSERT_GE(v, -2);
    ASSERT_LE(v, 2);
    seen.insert(v);
  }
  EXPECT_EQ(seen.size(), 5u);
  EXPECT_EQ(rng.uniform_int(0u), 0u);
  EXPECT_EQ(rng.uniform_int(4, 4), 4);
}

TEST(AugmentRng, NormalMeanAndVariance) {
  Rng rng(2024);
  const int n = 100000;
  double sum = 0.0, sum_sq = 0.0;
  for (int i = 0; i < n; ++i) {
    const double z = rng.normal();
    sum += z;
    sum_sq += z * z;
  }
  const double mean = sum / n, var = sum_sq / n - mean * mean;
  EXPECT_NEAR(mean, 0.0, 0.015);  // standard error 0.0032
  EXPECT_NEAR(var, 1.0, 0.02);    // standard error 0.0045
  Rng r2(5);
  double s2 = 0.0;
  for (int i = 0; i < 20000; ++i) s2 += r2.normal(10.0f, 2.0f);
  EXPECT_NEAR(s2 / 20000.0, 10.0, 0.1);
}

TEST(AugmentRng, BernoulliCopySnapshotAndStateResume) {
  Rng rng(99);
  for (int i = 0; i < 1000; ++i) {
    EXPECT_FALSE(rng.bernoulli(0.0f));
    EXPECT_TRUE(rng.bernoulli(1.0f));
  }
  Rng snapshot = rng;
  const RngState saved = rng.state();
  std::vector<std::uint32_t> a, b, c;
  for (int i = 0; i < 10; ++i) a.push_back(rng.next_u32());
  for (int i = 0; i < 10; ++i) b.push_back(snapshot.next_u32());
  Rng resumed(0);
  resumed.set_state(saved);
  for (int i = 0; i < 10; ++i) c.push_back(resumed.next_u32());
  EXPECT_EQ(a, b);
  EXPECT_EQ(a, c);
  EXPECT_NE(Rng(1).next_u32(), Rng(2).next_u32());
  EXPECT_NE(Rng(1, 0).next_u32(), Rng(1, 1).next_u32());
}

// ---- exact geometry ----------------------------------------------------------------------------

// Image value 10 y + x, mask (x + 2 y) % 4 with the last pixel 255.
Sample grid_sample(int w, int h) {
  Sample s{ImageF(w, h), LabelMap(w, h)};
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      s.image.at(x, y) = static_cast<float>(10 * y + x);
      s.mask.at(x, y) = static_cast<std::uint8_t>((x + 2 * y) % 4);
    }
  }
  s.mask.pixels.back() = 255;
  return s;
}

// Expects out(x, y) == in(src(x, y)) for image and mask exactly.
template <class Src>
void expect_pixel_map(const Sample& in, const Sample& out, Src src) {
  ASSERT_EQ(out.image.width, in.image.width);
  ASSERT_EQ(out.image.height, in.image.height);
  for (int y = 0; y < out.image.height; ++y) {
    for (int x = 0; x < out.image.width; ++x) {
      int sx = 0, sy = 0;
      src(x, y, &sx, &sy);
      EXPECT_EQ(out.image.at(x, y), in.image.at(sx, sy)) << x << "," << y;
      EXPECT_EQ(out.mask.at(x, y), in.mask.at(sx, sy)) << x << "," << y;
    }
  }
}

TEST(AugmentGeometry, FlipsAreExact) {
  const Sample in = grid_sample(4, 3);
  expect_pixel_map(in, flip(in, true, false), [](int x, int y, int* sx, int* sy) {
    *sx = 3 - x;
    *sy = y;
  });
  expect_pixel_map(in, flip(in, false, true), [](int x, int y, int* sx, int* sy) {
    *sx = x;
    *sy = 2 - y;
  });
  expect_pixel_map(in, flip(in, true, true), [](int x, int y, int* sx, int* sy) {
    *sx = 3 - x;
    *sy = 2 - y;
  });
  const Sample same = flip(in, false, false);
  EXPECT_EQ(same.image.pixels, in.image.pixels);
  EXPECT_EQ(same.mask.pixels, in.mask.pixels);
}

TEST(AugmentGeometry, Rotate90OnOddSizesMapsPixelsLikeRot90) {
  // 3x3 by +90 (counter-clockwise as displayed), numpy.rot90 by hand: rows
  // [2 12 22] [1 11 21] [0 10 20].
  const Sample in3 = grid_sample(3, 3);
  const Sample r3 = rotate(in3, 90.0);
  EXPECT_EQ(r3.image.pixels, (std::vector<float>{2, 12, 22, 1, 11, 21, 0, 10, 20}));
  for (int n : {3, 5}) {
    const Sample in = grid_sample(n, n);
    const int last = n - 1;  // 2c
    // +90: out(x, y) = in(2c - y, x); -90: in(y, 2c - x); 180: in(2c - x, 2c - y).
    expect_pixel_map(in, rotate(in, 90.0), [=](int x, int y, int* sx, int* sy) {
      *sx = last - y;
      *sy = x;
    });
    expect_pixel_map(in, rotate(in, -90.0), [=](int x, int y, int* sx, int* sy) {
      *sx = y;
      *sy = last - x;
    });
    expect_pixel_map(in, rotate(in, 180.0), [=](int x, int y, int* sx, int* sy) {
      *sx = last - x;
      *sy = last - y;
    });
    expect_pixel_map(in, rotate(in, 360.0), [](int x, int y, int* sx, int* sy) {
      *sx = x;
      *sy = y;
    });
  }
}

TEST(AugmentGeometry, OutsideBecomesFillAndMaskZero) {
  const Sample in = grid_sample(5, 5);
  // Shift right by one whole pixel: column 0 comes from outside.
  const Sample s = scale_shift(in, 1.0, 1.0, 0.0, -7.0f);
  for (int y = 0; y < 5; ++y) {
    EXPECT_EQ(s.image.at(0, y), -7.0f);
    EXPECT_EQ(s.mask.at(0, y), 0);
    for (int x = 1; x < 5; ++x) {
      EXPECT_EQ(s.image.at(x, y), in.image.at(x - 1, y));
      EXPECT_EQ(s.mask.at(x, y), in.mask.at(x - 1, y));
    }
  }
  // 45 degrees on 7x7: corner (0, 0) reads source (3, 3 - 3 sqrt 2) = (3, -1.24), fully outside;
  // on 5x5 it reads (2, -0.83): the mask rounds to row -1 (outside, 0), the image blends with
  // fill. The centre stays.
  const Sample r7 = rotate(grid_sample(7, 7), 45.0, -1.0f);
  EXPECT_EQ(r7.image.at(0, 0), -1.0f);
  EXPECT_EQ(r7.mask.at(0, 0), 0);
  const Sample r = rotate(in, 45.0, -1.0f);
  EXPECT_EQ(r.mask.at(0, 0), 0);
  const double w = 3.0 - 2.0 * std::sqrt(2.0);  // fractional row: -0.83 = -1 + 0.17
  EXPECT_NEAR(r.image.at(0, 0), (1.0 - w) * -1.0 + w * in.image.at(2, 0), 1e-5);
  EXPECT_EQ(r.image.at(2, 2), in.image.at(2, 2));
}

TEST(AugmentGeometry, HalfPixelShiftBlendsImageAndRoundsMaskTiesUp) {
  // shift -0.5: out(x) reads source x + 0.5: image averages x and x+1, mask takes x+1
  // (floor(x + 0.5 + 0.5)); the last column reads half outside (fill 0).
  const Sample in = grid_sample(4, 1);  // image 0 1 2 3, mask 0 1 2 255
  const Sample s = scale_shift(in, 1.0, -0.5, 0.0);
  EXPECT_EQ(s.image.pixels, (std::vector<float>{0.5f, 1.5f, 2.5f, 1.5f}));
  EXPECT_EQ(s.mask.pixels, (std::vector<std::uint8_t>{1, 2, 255, 0}));
}

TEST(AugmentGeometry, ScaleTwoAboutCentre) {
  // Zoom 2 on 5 px: source = 2 + (x - 2) / 2 = 1, 1.5, 2, 2.5, 3.
  Sample in{ImageF(5, 1), LabelMap(5, 1)};
  in.image.pixels = {0, 10, 20, 30, 40};
  in.mask.pixels = {0, 1, 2, 3, 255};
  const Sample s = scale_shift(in, 2.0, 0.0, 0.0);
  EXPECT_EQ(s.image.pixels, (std::vector<float>{10, 15, 20, 25, 30}));
  EXPECT_EQ(s.mask.pixels, (std::vector<std::uint8_t>{1, 2, 2, 3, 3}));
}

TEST(AugmentGeometry, ComposeAppliesInnerFirst) {
  const Affine2D shift{1, 0, 3, 0, 1, -1};
  const Affine2D swap{0, 1, 0, 1, 0, 0};  // (x, y) -> (y, x)
  const Affine2D m = compose(swap, shift);  // (x, y) -> (x + 3, y - 1) -> (y - 1, x + 3)
  EXPECT_EQ(m.a * 2 + m.b * 5 + m.c, 4.0);
  EXPECT_EQ(m.d * 2 + m.e * 5 + m.f, 5.0);
}

TEST(AugmentSmoothing, GaussianPreservesConstantsAndMass) {
  ImageF flat(9, 7, 3.5f);
  for (float v : gaussian_smooth(flat, 2.0f).pixels) EXPECT_NEAR(v, 3.5f, 1e-5);
  ImageF impulse(41, 41, 0.0f);
  impulse.at(20, 20) = 1.0f;
  const ImageF g = gaussian_smooth(impulse, 3.0f);
  double mass = 0.0;
  for (float v : g.pixels) mass += v;
  EXPECT_NEAR(mass, 1.0, 1e-5);
  EXPECT_EQ(g.at(17, 20), g.at(23, 20));  // symmetric
  EXPECT_FLOAT_EQ(g.at(20, 17), g.at(17, 20));  // same kernel on both axes
  EXPECT_GT(g.at(20, 20), g.at(21, 20));
  EXPECT_EQ(gaussian_smooth(impulse, 0.0f).pixels, impulse.pixels);
}

TEST(AugmentIntensity, AdjustIntensityTable) {
  ImageF img(3, 1);
  img.pixels = {0, 100, 200};  // mean 100
  struct Case {
    float brightness, contrast, gamma, lo, hi;
    bool clip;
    std::vector<float> expected;
  };
  const Case cases[] = {
      {0, 1, 1, 0, 255, true, {0, 100, 200}},           // identity
      {10, 2, 1, 0, 255, false, {-90, 110, 310}},        // (x - 100) * 2 + 100 + 10
      {10, 2, 1, 0, 255, true, {0, 110, 255}},           // clipped
      {0, 1, 2, 0, 200, true, {0, 50, 200}},             // t = 0, .5, 1 -> t^2 * 200
      {0, 1, 0.5f, 0, 400, true, {0, 200, 400 * 0.70710678f}},  // sqrt(t) * 400
  };
  for (const Case& c : cases) {
    const ImageF out = adjust_intensity(img, c.brightness, c.contrast, c.gamma, c.lo, c.hi, c.clip);
    for (std::size_t i = 0; i < 3; ++i) EXPECT_NEAR(out.pixels[i], c.expected[i], 1e-3) << i;
  }
}

// ---- random transforms and augment -------------------------------------------------------------

// A 128x128 slice: background 0, discs/rectangles of labels 1, 2, 3 and an ignore (255) block;
// image = 100 * label so the intensity says which label a pixel came from.
Sample labelled_phantom() {
  const int n = 128;
  Sample s{ImageF(n, n), LabelMap(n, n)};
  for (int y = 0; y < n; ++y) {
    for (int x = 0; x < n; ++x) {
      std::uint8_t l = 0;
      if ((x - 40) * (x - 40) + (y - 40) * (y - 40) < 20 * 20) l = 1;
      if (x >= 70 && x < 110 && y >= 20 && y < 60) l = 2;
      if ((x - 85) * (x - 85) + (y - 90) * (y - 90) < 18 * 18) l = 3;
      if (x >= 20 && x < 52 && y >= 76 && y < 108) l = 255;
      s.mask.at(x, y) = l;
      s.image.at(x, y) = 100.0f * l;
    }
  }
  return s;
}

AugmentConfig geometric_only() {
  AugmentConfig cfg;
  cfg.intensity.prob = 0.0f;
  cfg.affine.prob = 1.0f;
  cfg.affine.max_rotation_degrees = 30.0f;
  cfg.elastic.prob = 0.5f;
  cfg.crop = {112, 112};
  return cfg;
}

bool same(const Sample& a, const Sample& b) {
  return a.image.width == b.image.width && a.image.height == b.image.height &&
         a.mask.pixels == b.mask.pixels &&
         std::memcmp(a.image.pixels.data(), b.image.pixels.data(),
                     a.image.pixels.size() * sizeof(float)) == 0;
}

TEST(AugmentAugment, SameSeedSameOutputDifferentSeedDifferent) {
  const Sample in = labelled_phantom();
  AugmentConfig cfg;  // defaults, all transforms possible
  cfg.elastic.prob = 1.0f;
  Rng a(11), b(11), c(12);
  for (int i = 0; i < 3; ++i) {
    const Sample sa = augment(in, cfg, a), sb = augment(in, cfg, b), sc = augment(in, cfg, c);
    EXPECT_TRUE(same(sa, sb)) << i;
    EXPECT_FALSE(same(sa, sc)) << i;
  }
}

TEST(AugmentAugment, DrawCountIsIndependentOfWhatFires) {
  const Sample in = grid_sample(16, 16);
  AugmentConfig never;
  never.flip = {0.0f, 0.0f};
  never.affine.prob = 0.0f;
  never.elastic.prob = 0.0f;
  never.intensity.prob = 0.0f;
  AugmentConfig always;
  always.flip = {1.0f, 1.0f};
  always.affine.prob = 1.0f;
  always.elastic.prob = 1.0f;
  always.intensity.prob = 1.0f;
  always.intensity.prob_gamma = 1.0f;
  always.crop = {8, 8};
  Rng a(5), b(5);
  augment(in, never, a);
  augment(in, always, b);
  EXPECT_EQ(a.state().state, b.state().state);
  // 17 draws per call, as documented.
  Rng c(5);
  for (int i = 0; i < 17; ++i) c.next_u32();
  EXPECT_EQ(a.state().state, c.state().state);
}

TEST(AugmentAugment, NothingFiringIsExactIdentity) {
  const Sample in = labelled_phantom();
  AugmentConfig cfg;
  cfg.flip = {0.0f, 0.0f};
  cfg.affine.prob = 0.0f;
  cfg.elastic.prob = 0.0f;
  cfg.intensity.prob = 0.0f;
  Rng rng(1);
  EXPECT_TRUE(same(augment(in, cfg, rng), in));
}

// Where the output mask is uniformly k around a pixel, the bilinear image there must be exactly
// 100 k: both read the same source point. The neighbourhood is 5x5, not 3x3: under a 30-degree
// rotation with zoom-out (source step up to 1.18 px) the nearest pixels of a 3x3 neighbourhood
// can miss a diagonal corner of the 2x2 bilinear cell, e.g. the corner pixel of the 255 block,
// whose 25500 leaks in with weight ~1e-3. Any misalignment of a pixel or more still fails.
TEST(AugmentAugment, ImageAndMaskStayAligned) {
  const Sample in = labelled_phantom();
  const std::set<std::uint8_t> input_labels(in.mask.pixels.begin(), in.mask.pixels.end());
  const AugmentConfig cfg = geometric_only();
  Rng rng(77);
  int checked = 0, with_ignore = 0;
  for (int iter = 0; iter < 12; ++iter) {
    const Sample out = augment(in, cfg, rng);
    ASSERT_EQ(out.image.width, 112);
    ASSERT_EQ(out.mask.height, 112);
    for (std::uint8_t l : out.mask.pixels) EXPECT_EQ(input_labels.count(l), 1u) << int(l);
    if (std::find(out.mask.pixels.begin(), out.mask.pixels.end(), 255) != out.mask.pixels.end())
      ++with_ignore;
    for (int y = 2; y < 110; ++y) {
      for (int x = 2; x < 110; ++x) {
        const std::uint8_t k = out.mask.at(x, y);
        bool uniform = true;
        for (int dy = -2; dy <= 2; ++dy)
          for (int dx = -2; dx <= 2; ++dx) uniform = uniform && out.mask.at(x + dx, y + dy) == k;
        if (!uniform) continue;
        ++checked;
        ASSERT_NEAR(out.image.at(x, y), 100.0f * k, 1e-2) << "iter " << iter << " at " << x << "," << y;
      }
    }
  }
  EXPECT_GT(checked, 12 * 90 * 90);  // most pixels are interior
  EXPECT_EQ(with_ignore, 12);          // the ignore block survives as 255
}

TEST(AugmentAugment, ImageOnlySamplesAndEmptyInput) {
  Sample in = labelled_phantom();
  in.mask = LabelMap();
  Rng rng(3);
  const Sample out = augment(in, AugmentConfig(), rng);
  EXPECT_EQ(out.image.width, 128);
  EXPECT_TRUE(out.mask.empty());
  Rng rng2(3);
  EXPECT_TRUE(augment(Sample{}, AugmentConfig(), rng2).image.empty());
}

TEST(AugmentRandom, CropIsAWindowAndPadsWhenLarger) {
  const Sample in = grid_sample(10, 8);
  Rng rng(8);
  std::set<int> offsets;
  for (int i = 0; i < 50; ++i) {
    const Sample c = rand_crop(in, 4, 3, rng);
    ASSERT_EQ(c.image.width, 4);
    ASSERT_EQ(c.image.height, 3);
    const float origin = c.image.at(0, 0);  // 10 oy + ox
    offsets.insert(static_cast<int>(origin));
    for (int y = 0; y < 3; ++y)
      for (int x = 0; x < 4; ++x) EXPECT_EQ(c.image.at(x, y), origin + 10 * y + x);
  }
  EXPECT_GT(offsets.size(), 10u);  // 7 x 6 possible windows
  const Sample big = rand_crop(in, 14, 8, rng, -5.0f);  // pads 4 columns in total
  ASSERT_EQ(big.image.width, 14);
  int fill_columns = 0;
  for (int x = 0; x < 14; ++x) fill_columns += big.image.at(x, 0) == -5.0f ? 1 : 0;
  EXPECT_EQ(fill_columns, 4);
}

TEST(AugmentRandom, IndividualTransformsRespectProbability) {
  const Sample in = labelled_phantom();
  Rng rng(21);
  EXPECT_TRUE(same(rand_flip(in, FlipAug{0.0f, 0.0f}, rng), in));
  EXPECT_TRUE(same(rand_rotate(in, 0.0f, 30.0f, rng), in));
  EXPECT_TRUE(same(rand_scale_shift(in, 0.0f, 0.8f, 1.2f, 0.1f, rng), in));
  EXPECT_TRUE(same(rand_elastic(in, ElasticAug{0.0f, 100.0f, 10.0f}, rng), in));
  EXPECT_EQ(rand_intensity(in.image, IntensityAug{0.0f}, rng).pixels, in.image.pixels);
  const Sample flipped = rand_flip(in, FlipAug{1.0f, 0.0f}, rng);
  EXPECT_TRUE(same(flipped, flip(in, true, false)));
  EXPECT_FALSE(same(rand_rotate(in, 1.0f, 30.0f, rng), in));
  EXPECT_FALSE(same(rand_elastic(in, ElasticAug{1.0f, 100.0f, 10.0f}, rng), in));
  // Elastic keeps the label set within the input's plus 0.
  const Sample e = rand_elastic(in, ElasticAug{1.0f, 300.0f, 8.0f}, rng);
  const std::set<std::uint8_t> labels(e.mask.pixels.begin(), e.mask.pixels.end());
  for (std::uint8_t l : labels) EXPECT_TRUE(l == 0 || l == 1 || l == 2 || l == 3 || l == 255);
}

// The field must be the same everywhere: drawn on a padded grid, so corners do not blow up
// (a replicated border once gave 40 px there). A ramp image = x reads back the x displacement.
TEST(AugmentRandom, ElasticDisplacementIsModerateEverywhere) {
  const int n = 96;
  Sample ramp{ImageF(n, n), LabelMap()};
  for (int y = 0; y < n; ++y)
    for (int x = 0; x < n; ++x) ramp.image.at(x, y) = static_cast<float>(x);
  Rng rng(2);
  for (int iter = 0; iter < 4; ++iter) {
    const Sample out = rand_elastic(ramp, ElasticAug{1.0f, 100.0f, 10.0f}, rng);
    double sum_sq = 0.0, max_abs = 0.0;
    int count = 0;
    for (int y = 10; y < n - 10; ++y) {  // margin: keep reads away from the fill
      for (int x = 10; x < n - 10; ++x) {
        const double d = out.image.at(x, y) - x;
        sum_sq += d * d;
        max_abs = std::max(max_abs, std::fabs(d));
        ++count;
      }
    }
    const double rms = std::sqrt(sum_sq / count);
    EXPECT_GT(rms, 0.3) << iter;
    EXPECT_LT(rms, 5.0) << iter;
    EXPECT_LT(max_abs, 10.0) << iter;
  }
}

TEST(AugmentRandom, IntensityJitterStaysInRangeAndLeavesMaskAlone) {
  Sample in = labelled_phantom();
  for (float& v : in.image.pixels) v = std::min(v, 255.0f);
  AugmentConfig cfg;
  cfg.intensity.prob = 1.0f;
  cfg.intensity.prob_gamma = 1.0f;
  cfg.flip = {0.0f, 0.0f};
  cfg.affine.prob = 0.0f;
  cfg.elastic.prob = 0.0f;
  Rng rng(4);
  const Sample out = augment(in, cfg, rng);
  EXPECT_EQ(out.mask.pixels, in.mask.pixels);
  EXPECT_NE(out.image.pixels, in.image.pixels);
  for (float v : out.image.pixels) {
    EXPECT_GE(v, 0.0f);
    EXPECT_LE(v, 255.0f);
  }
}

}  // namespace
}  // namespace corona
