// corona/image_io.h: PNG/JPEG slices in and out (stb_image underneath), label masks read by palette
// index, and file-kind sniffing by magic bytes for uploads. Every decoder bounds memory before it allocates.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "corona/image.h"
#include "corona/overlay.h"

namespace corona {

// ---- sniffing --------------------------------------------------------------------------------

enum class FileKind { kUnknown, kPng, kJpeg, kGzip, kNifti1, kNifti2, kGif, kBmp, kTiff, kDicom };

// Magic bytes only, never trusts a file name. NIfTI-1: sizeof_hdr 348 (either byte order) at
// offset 0 and "n+1\0" at 344 (single-file .nii; needs >= 348 bytes). NIfTI-2: sizeof_hdr 540
// (either byte order) and "n+2\0" at 4. DICOM: "DICM" at 128. Gzip: 1f 8b (could be a .nii.gz).
FileKind sniff_file_kind(const std::uint8_t* data, std::size_t size);
const char* file_kind_name(FileKind kind);  // "PNG", "JPEG", "gzip", "NIfTI-1", ..., "unknown"
// The message for a file none of our loaders takes: "not a NIfTI (.nii/.nii.gz), PNG or JPEG file
// (format not recognised)" or "(found GIF)". One wording for the CLI, the server and the viewer.
std::string unsupported_file_message(FileKind kind);

// ---- decoding limits -------------------------------------------------------------------------

// Refused before any pixel allocation, so a tiny file can never ask for gigabytes.
constexpr int kMaxImageSide = 16384;                         // per side, PNG and JPEG
constexpr std::uint64_t kMaxImagePixels = 64ull << 20;       // 64 Mpx (width * height)
// Deflate cannot expand more than ~1032:1, so a PNG whose packed pixel bytes (IHDR's
// width * height * bits per pixel / 8) exceed 1032 * its IDAT bytes is corrupt or truncated.
constexpr std::uint64_t kPngMaxInflateRatio = 1032;
// A JPEG spends at least one Huffman bit per 8x8 block in its DC scan (<= 512 px per byte); real
// files stay far below. We refuse more than 1024 px per file byte (stb zero-fills short scans,
// so without this bound a truncated header-only JPEG would "decode" to a huge gray image).
constexpr std::uint64_t kJpegMaxPixelsPerByte = 1024;

// ---- images ----------------------------------------------------------------------------------

// PNG or JPEG -> 8-bit grayscale; any other format is refused with a message naming what it is.
// Accepts L, LA, RGB, RGBA, palette and 16-bit PNG, baseline and progressive JPEG. Conversion is
// stb's: colour -> (77 R + 150 G + 29 B) >> 8, alpha ignored (not composited); 16-bit samples are
// converted at 16 bit with the same weights and then >> 8; palette entries are expanded first;
// a YCbCr JPEG yields its decoded Y (luma) plane. spacing_known stays false. A PNG first passes
// the same chunk walker as label masks (lengths within the file, IHDR first, IEND required), so
// stb never sees a chunk length that the bytes cannot back. A JPEG whose Huffman table declares more
// than 256 codes is refused before stb sees it (stb 2.27 would overflow a table on it).
Expected<ImageU8> load_image_from_buffer(const std::uint8_t* data, std::size_t size);
Expected<ImageU8> load_image_from_file(const std::string& path);

// Same inputs, same limits, as 8-bit RGBA (gray replicated, missing alpha = 255).
Expected<RgbaImage> load_image_rgba_from_buffer(const std::uint8_t* data, std::size_t size);

// ---- label masks -----------------------------------------------------------------------------

// Label PNGs are read by value, never by colour: a palette PNG (colour type 3, bit depth 1/2/4/8)
// yields its palette INDICES, an 8-bit grayscale PNG its values. Anything else (RGB, LA, RGBA,
// 16-bit, gray below 8 bit, JPEG) is refused: "label masks must be palette or 8-bit grayscale PNG".
// Our own chunk walker (stb cannot return indices): IHDR first, PLTE before IDAT, unknown critical
// chunks refused, IEND required; CRCs are not verified (stb does not either). IDAT is inflated with
// stb's zlib into exactly the bytes IHDR implies, refusing more or fewer. Filters 0-4 and Adam7
// interlacing are supported. A palette index beyond the PLTE entries is an error.
Expected<LabelMap> load_label_png_from_buffer(const std::uint8_t* data, std::size_t size);
Expected<LabelMap> load_label_png_from_file(const std::string& path);

// ---- encoding --------------------------------------------------------------------------------

// In-memory PNG encoders (stb_image_write). No JPEG writer: outputs are masks and overlays that must
// stay exact, and stb's JPEG writer shifts negative ints (UB that our UBSan builds abort on).
// Return an empty vector when the image is inconsistent
// (width/height <= 0 or pixels.size() != width * height) or stb fails; they never throw.
// A LabelMap is an ImageU8: encode_png_gray / save_png write it as 8-bit grayscale PNG with the
// raw values (0 background, 1..3 classes, 255 ignore), which load_label_png_* reads back exactly.
std::vector<std::uint8_t> encode_png_gray(const ImageU8& image);
std::vector<std::uint8_t> encode_png_rgba(const RgbaImage& image);

// Encode and write the file; error names the path and what failed.
Expected<bool> save_png(const std::string& path, const ImageU8& image);
Expected<bool> save_png(const std::string& path, const RgbaImage& image);

}  // namespace corona
