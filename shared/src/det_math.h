// det_math.h (internal): exp, log, pow, sin, cos written with +, -, *, /, floor, frexp, ldexp and
// fmod only, so native (glibc) and WebAssembly (musl) builds produce bit-identical results.
#pragma once

// Why not <cmath>: libm transcendentals are not correctly rounded and glibc and musl differ in the
// last ulp; in a warp that flips a nearest-neighbour label and breaks the cross-build guarantee.
// The operations used here are IEEE-exact (or exactly specified: floor, frexp, ldexp, fmod).
// Accuracy is ~1e-15 relative for the ranges augmentation uses (tests check 1e-12 against libm).
// Build note: a compiler allowed to fuse a*b+c into FMA (gcc's default for C++ when FMA is
// available, e.g. -march=native) would change results; the baseline x86-64 and wasm32 targets
// have no FMA, so keep -ffp-contract=off if such flags are ever added.

#include <cmath>
#include <limits>

namespace corona {
namespace detmath {

constexpr double kPi = 3.14159265358979323846;
constexpr double kTwoPi = 6.28318530717958647692;

// ln 2 split so that k * kLn2Hi is exact for |k| < 2^20 (fdlibm's constants).
constexpr double kLn2Hi = 6.93147180369123816490e-01;
constexpr double kLn2Lo = 1.90821492927058770002e-10;
constexpr double kInvLn2 = 1.44269504088896338700e+00;

// exp(x) = 2^k * exp(r), r = x - k ln2 in [-ln2/2, ln2/2]; Taylor to degree 13 (error < 1e-17).
inline double exp(double x) {
  if (x != x) return x;
  if (x > 709.782712893384) return std::numeric_limits<double>::infinity();
  if (x < -745.2) return 0.0;
  const double k = std::floor(x * kInvLn2 + 0.5);
  const double r = (x - k * kLn2Hi) - k * kLn2Lo;
  double p = 1.0 / 6227020800.0;  // 1/13!
  p = p * r + 1.0 / 479001600.0;
  p = p * r + 1.0 / 39916800.0;
  p = p * r + 1.0 / 3628800.0;
  p = p * r + 1.0 / 362880.0;
  p = p * r + 1.0 / 40320.0;
  p = p * r + 1.0 / 5040.0;
  p = p * r + 1.0 / 720.0;
  p = p * r + 1.0 / 120.0;
  p = p * r + 1.0 / 24.0;
  p = p * r + 1.0 / 6.0;
  p = p * r + 0.5;
  p = p * r + 1.0;
  p = p * r + 1.0;
  return std::ldexp(p, static_cast<int>(k));
}

// log(x) = e ln2 + log(m), m in [sqrt(1/2), sqrt(2)); log(m) = 2 atanh(s), s = (m-1)/(m+1),
// |s| <= 0.1716, odd series to s^23 (error < 1e-18).
inline double log(double x) {
  if (x != x || x < 0.0) return std::numeric_limits<double>::quiet_NaN();
  if (x == 0.0) return -std::numeric_limits<double>::infinity();
  if (x == std::numeric_limits<double>::infinity()) return x;
  int e = 0;
  double m = std::frexp(x, &e);  // m in [0.5, 1)
  if (m < 0.70710678118654752440) {
    m *= 2.0;
    e -= 1;
  }
  const double f = m - 1.0;  // exact (Sterbenz)
  const double s = f / (2.0 + f);
  const double z = s * s;
  double q = 1.0 / 23.0;
  q = q * z + 1.0 / 21.0;
  q = q * z + 1.0 / 19.0;
  q = q * z + 1.0 / 17.0;
  q = q * z + 1.0 / 15.0;
  q = q * z + 1.0 / 13.0;
  q = q * z + 1.0 / 11.0;
  q = q * z + 1.0 / 9.0;
  q = q * z + 1.0 / 7.0;
  q = q * z + 1.0 / 5.0;
  q = q * z + 1.0 / 3.0;
  // log(m) = 2s + 2s*z*q; adding the small part last keeps the rounding error relative to log(m).
  const double log_m = 2.0 * s + 2.0 * s * (z * q);
  const double de = static_cast<double>(e);
  return de * kLn2Hi + (de * kLn2Lo + log_m);
}

// x^y for x >= 0 (all this project needs: gamma curves on [0, 1]); NaN for x < 0.
inline double pow(double x, double y) {
  if (y == 0.0) return 1.0;
  if (x == 0.0) return y > 0.0 ? 0.0 : std::numeric_limits<double>::infinity();
  if (x == 1.0) return 1.0;
  return detmath::exp(y * detmath::log(x));
}

// sin and cos of r in [-pi/4, pi/4]: Taylor to degree 17 / 18 (error < 1e-19).
inline double sin_kernel(double r) {
  const double z = r * r;
  double p = -1.0 / 355687428096000.0;  // -1/17!
  p = p * z + 1.0 / 1307674368000.0;
  p = p * z - 1.0 / 6227020800.0;
  p = p * z + 1.0 / 39916800.0;
  p = p * z - 1.0 / 362880.0;
  p = p * z + 1.0 / 5040.0;
  p = p * z - 1.0 / 120.0;
  p = p * z + 1.0 / 6.0;
  return r - r * (z * p);
}

inline double cos_kernel(double r) {
  const double z = r * r;
  double p = 1.0 / 6402373705728000.0;  // 1/18!
  p = p * z - 1.0 / 20922789888000.0;
  p = p * z + 1.0 / 87178291200.0;
  p = p * z - 1.0 / 479001600.0;
  p = p * z + 1.0 / 3628800.0;
  p = p * z - 1.0 / 40320.0;
  p = p * z + 1.0 / 720.0;
  p = p * z - 1.0 / 24.0;
  p = p * z + 0.5;
  return 1.0 - z * p;
}

// sin/cos of r + quadrant * pi/2.
inline double sin_quadrant(double r, long quadrant) {
  switch (((quadrant % 4) + 4) % 4) {
    case 0: return sin_kernel(r);
    case 1: return cos_kernel(r);
    case 2: return -sin_kernel(r);
    default: return -cos_kernel(r);
  }
}

// Cody–Waite reduction by pi/2 in three parts (fdlibm's constants; the first two have 33
// significant bits so n * part is exact). Accurate for |x| < 2^20, ample for angles here.
constexpr double kInvPio2 = 6.36619772367581382433e-01;
constexpr double kPio2_1 = 1.57079632673412561417e+00;
constexpr double kPio2_2 = 6.07710050630396597660e-11;
constexpr double kPio2_3 = 2.02226624879595063154e-21;

inline double reduce_pio2(double x, long* quadrant) {
  const double n = std::floor(x * kInvPio2 + 0.5);
  *quadrant = static_cast<long>(n);
  return ((x - n * kPio2_1) - n * kPio2_2) - n * kPio2_3;
}

inline double sin(double x) {
  if (!(x - x == 0.0)) return std::numeric_limits<double>::quiet_NaN();  // inf or NaN
  long q = 0;
  const double r = reduce_pio2(x, &q);
  return sin_quadrant(r, q);
}

inline double cos(double x) {
  if (!(x - x == 0.0)) return std::numeric_limits<double>::quiet_NaN();
  long q = 0;
  const double r = reduce_pio2(x, &q);
  return sin_quadrant(r, q + 1);
}

// Degrees reduced exactly (fmod is exact) to a quadrant and |r| <= 45 degrees, so multiples of
// 90 give exact 0 and +-1: a 90-degree rotation then maps pixels onto pixels with no blur.
inline double sin_deg_quadrant(double degrees, long extra_quadrant) {
  if (!(degrees - degrees == 0.0)) return std::numeric_limits<double>::quiet_NaN();
  const double d = std::fmod(degrees, 360.0);
  const double n = std::floor(d / 90.0 + 0.5);
  const double r = (d - 90.0 * n) * (kPi / 180.0);
  return sin_quadrant(r, static_cast<long>(n) + extra_quadrant);
}

inline double sin_deg(double degrees) { return sin_deg_quadrant(degrees, 0); }
inline double cos_deg(double degrees) { return sin_deg_quadrant(degrees, 1); }

}  // namespace detmath
}  // namespace corona
