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

#if defined(__clang__)
#pragma clang attribute pop
#pragma clang diagnostic pop
#elif defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
