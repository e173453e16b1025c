// libFuzzer target for the image loaders: arbitrary bytes through the PNG/JPEG decoder (stb, behind
// our size and byte-budget checks) and through our own label PNG chunk walker / un-filter.
#include <cstddef>
#include <cstdint>

#include "corona/image_io.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  (void)corona::sniff_file_kind(data, size);
  (void)corona::load_image_from_buffer(data, size);
  (void)corona::load_label_png_from_buffer(data, size);
  return 0;
}
