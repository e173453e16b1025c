// The one translation unit that compiles stb_image / stb_image_write (Debian's libstb-dev headers):
// built from source in both the native and the wasm build, so both decode with the same code.
#include "corona/image_io.h"

// PNG and JPEG only: less attack surface for uploads. No stdio: we read files ourselves.
// No SIMD: the scalar JPEG IDCT is the one wasm runs, so native and browser agree to the bit.
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_NO_STDIO
#define STBI_NO_LINEAR
#define STBI_NO_HDR
#define STBI_NO_SIMD
#define STBI_MAX_DIMENSIONS 16384
#define STB_IMAGE_IMPLEMENTATION
#define STBI_WRITE_NO_STDIO
#define STB_IMAGE_WRITE_IMPLEMENTATION

#ifdef CORONA_HAVE_ZLIB
// Natively, PNGs are deflated by zlib at level 1 (stb's own deflate, level 8, took 4.7 ms for a
// 512² mask and 32 ms for an overlay, on the server's request path). The browser build has no zlib
// and keeps stb's deflate: its PNGs differ in bytes, never in pixels.
#include <cstdlib>
#include <zlib.h>
static unsigned char* corona_zlib_compress(unsigned char* data, int size, int* out_size, int /*quality*/) {
  uLongf capacity = compressBound(static_cast<uLong>(size));
  auto* out = static_cast<unsigned char*>(std::malloc(capacity));  // stb frees it with free()
  if (out == nullptr) return nullptr;
  if (compress2(out, &capacity, data, static_cast<uLong>(size), Z_BEST_SPEED) != Z_OK) {
    std::free(out);
    return nullptr;
  }
  *out_size = static_cast<int>(capacity);
  return out;
}
#define STBIW_ZLIB_COMPRESS corona_zlib_compress
#define STBIW_CRC32(buffer, len) static_cast<unsigned int>(crc32(0L, buffer, static_cast<uInt>(len)))
#endif

static_assert(STBI_MAX_DIMENSIONS == corona::kMaxImageSide, "stb's cap must match image_io.h");

// Third-party code: keep our -Wall -Wextra -Wpedantic output about our own code.
#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Weverything"
// stb's IDCT and bit readers overflow ints / shift negatives on corrupt JPEGs (wrapping garbage
// pixels, no memory effect). Under clang (fuzzer, wasm) we keep UBSan's bounds and other checks on
// stb but silence these two so fuzzing reaches memory bugs; GCC has no per-region equivalent.
#pragma clang attribute push(__attribute__((no_sanitize("signed-integer-overflow", "shift"))), apply_to = function)
#elif defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wall"
#pragma GCC diagnostic ignored "-Wextra"
#pragma GCC diagnostic ignored "-Wpedantic"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#endif

#include <stb_image.h>
#include <stb_image_write.h>

#ifdef CORONA_HAVE_ZLIB
// PNG row filter 0 (none) for every row: stb's per-row choice tries all five filters, 3 of the
// mask's 4.7 ms; label maps (runs of equal values) and overlays deflate as well or better without.
static const bool kPngFilterForced = (stbi_write_force_png_filter = 0, true);
#endif

#if defined(__clang__)
#pragma clang attribute pop
#pragma clang diagnostic pop
#elif defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
