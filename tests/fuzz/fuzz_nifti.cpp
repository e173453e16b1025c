// Fuzz target for the NIfTI-1 loader: any bytes must give a volume or an Error, never a crash,
// an out-of-bounds read or an allocation the input cannot justify; what loads must re-encode.
#include <cstddef>
#include <cstdint>

#include "corona/nifti.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  corona::NiftiLoadOptions options;
  options.max_voxel_bytes = std::uint64_t{256} << 20;  // stay under the fuzzer's malloc limit
  auto image = corona::load_nifti_from_buffer(data, size, options);
  if (!image) return 0;
  // Re-encoding fails only on geometry the writer refuses (e.g. a singular sform); it must not crash.
  auto bytes = corona::encode_nifti(image->volume);
  if (bytes) {
    auto again = corona::load_nifti_from_buffer(bytes->data(), bytes->size(), options);
    (void)again;
  }
  return 0;
}
