// PNG/JPEG decoding and encoding on top of stb, plus our own PNG chunk walker for label masks
// (stb always expands palettes to colours; labels need the indices).
#include "corona/image_io.h"

#include "corona/file_io.h"

#include <climits>
#include <cstdio>
#include <cstring>
#include <utility>

#include <stb_image.h>
#include <stb_image_write.h>

namespace corona {
namespace {

constexpr std::uint8_t kPngSignature[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
constexpr const char* kLabelFormatMessage = "label masks must be palette or 8-bit grayscale PNG";

std::uint32_t read_be32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}

std::uint32_t read_le32(const std::uint8_t* p) {
  return (std::uint32_t{p[3]} << 24) | (std::uint32_t{p[2]} << 16) | (std::uint32_t{p[1]} << 8) | p[0];
}

const char* stb_reason() {
  const char* reason = stbi_failure_reason();
  return reason != nullptr ? reason : "unknown reason";
}

// ---- files -------------------------------------------------------------------------------------

// stb takes int lengths; images beyond 2 GiB are far beyond our pixel cap anyway.
constexpr std::uint64_t kMaxImageFileBytes = static_cast<std::uint64_t>(INT_MAX);

template <class T>
Expected<T> with_path_prefix(const std::string& path, Expected<T> result) {
  if (result.ok()) return result;
  return make_error(path + ": " + result.error().message);
}

// ---- PNG header --------------------------------------------------------------------------------

struct PngHeader {
  std::uint32_t width = 0;
  std::uint32_t height = 0;
  int bit_depth = 0;
  int colour_type = 0;
  bool interlaced = false;
};

int png_channels(int colour_type) {
  switch (colour_type) {
    case 0: return 1;  // gray
    case 2: return 3;  // RGB
    case 3: return 1;  // palette index
    case 4: return 2;  // gray + alpha
    case 6: return 4;  // RGBA
    default: return 0;
  }
}

bool png_depth_allowed(int colour_type, int depth) {
  switch (colour_type) {
    case 0: return depth == 1 || depth == 2 || depth == 4 || depth == 8 || depth == 16;
    case 3: return depth == 1 || depth == 2 || depth == 4 || depth == 8;
    case 2: case 4: case 6: return depth == 8 || depth == 16;
    default: return false;
  }
}

std::string dims_text(std::uint64_t w, std::uint64_t h) {
  return std::to_string(w) + "x" + std::to_string(h);
}

// Same caps for every decoder, checked before any pixel buffer exists.
Expected<bool> check_dimensions(const char* what, std::uint64_t w, std::uint64_t h) {
  if (w == 0 || h == 0) return make_error(std::string(what) + ": zero image dimension " + dims_text(w, h));
  if (w > static_cast<std::uint64_t>(kMaxImageSide) || h > static_cast<std::uint64_t>(kMaxImageSide) ||
      w * h > kMaxImagePixels) {
    return make_error(std::string(what) + ": image " + dims_text(w, h) + " exceeds the limit of " +
                      std::to_string(kMaxImageSide) + " px per side and " +
                      std::to_string(kMaxImagePixels) + " px in total");
  }
  return true;
}

// Reads and validates IHDR, which PNG requires to be the first chunk, right after the signature.
Expected<PngHeader> parse_png_header(const std::uint8_t* data, std::size_t size) {
  if (size < 8 + 8 + 13 + 4) return make_error("PNG truncated: " + std::to_string(size) + " bytes, IHDR needs 33");
  if (std::memcmp(data + 12, "IHDR", 4) != 0 || read_be32(data + 8) != 13) {
    return make_error("PNG: first chunk at offset 8 must be IHDR with length 13");
  }
  const std::uint8_t* p = data + 16;
  PngHeader h;
  h.width = read_be32(p);
  h.height = read_be32(p + 4);
  h.bit_depth = p[8];
  h.colour_type = p[9];
  if (!png_depth_allowed(h.colour_type, h.bit_depth)) {
    return make_error("PNG IHDR: invalid colour type " + std::to_string(h.colour_type) + " with bit depth " +
                      std::to_string(h.bit_depth));
  }
  if (p[10] != 0 || p[11] != 0 || p[12] > 1) {
    return make_error("PNG IHDR: unsupported compression/filter/interlace method " + std::to_string(p[10]) + "/" +
                      std::to_string(p[11]) + "/" + std::to_string(p[12]));
  }
  h.interlaced = p[12] == 1;
  auto dims = check_dimensions("PNG IHDR", h.width, h.height);
  if (!dims) return dims.error();
  return h;
}

std::uint64_t png_bits_per_pixel(const PngHeader& h) {
  return static_cast<std::uint64_t>(png_channels(h.colour_type)) * static_cast<std::uint64_t>(h.bit_depth);
}

std::uint64_t png_row_bytes(std::uint64_t width, const PngHeader& h) {
  return (width * png_bits_per_pixel(h) + 7) / 8;
}

// A tiny file must not be allowed to make stb allocate gigabytes: no valid PNG of `size` bytes
// can hold more packed pixel bytes than deflate's maximum ratio allows.
Expected<bool> check_png_byte_budget(const PngHeader& h, std::uint64_t compressed_bytes, const char* of_what) {
  const std::uint64_t packed = png_row_bytes(h.width, h) * h.height;
  if (packed > kPngMaxInflateRatio * compressed_bytes) {
    return make_error("PNG: " + dims_text(h.width, h.height) + " needs " + std::to_string(packed) +
                      " pixel bytes, more than " + std::string(of_what) + " of " + std::to_string(compressed_bytes) +
                      " bytes can hold at deflate's " + std::to_string(kPngMaxInflateRatio) +
                      ":1 (truncated or corrupt)");
  }
  return true;
}

// ---- PNG chunk walker ---- -----------------------------------------------------------------

struct PngChunks {
  PngHeader header;
  int palette_entries = 0;
  bool seen_idat = false;
  std::uint64_t idat_bytes = 0;
  bool collect_idat = false;   // labels need the bytes; the stb path only their count
  std::vector<std::uint8_t> idat;
};

bool is_critical(const std::uint8_t* type) { return (type[0] & 0x20) == 0; }

std::string chunk_name(const std::uint8_t* type) {
  std::string name;
  for (int i = 0; i < 4; ++i) {
    const char c = static_cast<char>(type[i]);
    name += (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  return name;
}

// Handles one chunk's payload; returns true on IEND.
Expected<bool> take_chunk(const std::uint8_t* type, const std::uint8_t* body, std::uint32_t length,
                          std::size_t offset, PngChunks* out) {
  const std::string at = " at offset " + std::to_string(offset);
  if (std::memcmp(type, "IEND", 4) == 0) return true;
  if (std::memcmp(type, "IHDR", 4) == 0) return make_error("PNG: second IHDR chunk" + at);
  if (std::memcmp(type, "PLTE", 4) == 0) {
    if (length == 0 || length % 3 != 0 || length > 256 * 3 || out->palette_entries != 0 || out->seen_idat) {
      return make_error("PNG: invalid PLTE chunk (length " + std::to_string(length) + ")" + at);
    }
    out->palette_entries = static_cast<int>(length / 3);
    return false;
  }
  if (std::memcmp(type, "IDAT", 4) == 0) {
    out->seen_idat = true;
    out->idat_bytes += length;
    if (out->collect_idat) out->idat.insert(out->idat.end(), body, body + length);
    return false;
  }
  if (is_critical(type)) return make_error("PNG: unknown critical chunk '" + chunk_name(type) + "'" + at);
  return false;  // ancillary chunks (tRNS, gAMA, tEXt...) do not change label values
}

// Validates the whole chunk structure (every length within the file) before anything allocates by
// it: stb alone would realloc whatever an IDAT length claims, e.g. 1.3 GB for a 150-byte file.
Expected<PngChunks> walk_png_chunks(const std::uint8_t* data, std::size_t size, bool collect_idat) {
  PngChunks chunks;
  chunks.collect_idat = collect_idat;
  auto header = parse_png_header(data, size);
  if (!header) return header.error();
  chunks.header = *header;
  std::size_t offset = 8 + 8 + 13 + 4;  // signature, IHDR
  for (;;) {
    if (size - offset < 12) {
      return make_error("PNG truncated: no IEND chunk, " + std::to_string(size - offset) + " bytes left at offset " +
                        std::to_string(offset));
    }
    const std::uint32_t length = read_be32(data + offset);
    const std::uint8_t* type = data + offset + 4;
    if (length > 0x7fffffffu || static_cast<std::uint64_t>(length) + 12 > size - offset) {
      return make_error("PNG truncated: chunk '" + chunk_name(type) + "' at offset " + std::to_string(offset) +
                        " declares " + std::to_string(length) + " bytes, only " + std::to_string(size - offset - 12) +
                        " left");
    }
    auto taken = take_chunk(type, data + offset + 8, length, offset, &chunks);
    if (!taken) return taken.error();
    if (*taken) break;
    offset += 12 + static_cast<std::size_t>(length);
  }
  if (chunks.idat_bytes == 0) return make_error("PNG: no IDAT data");
  if (chunks.header.colour_type == 3 && chunks.palette_entries == 0) {
    return make_error("PNG: palette image without a PLTE chunk before IDAT");
  }
  return Expected<PngChunks>(std::move(chunks));
}

// ---- JPEG pre-check ----------------------------------------------------------------------------

// stb_image 2.27 (Debian's) writes past its 257-entry Huffman size table when a DHT table declares
// more than 256 codes (found by our fuzzer; fixed upstream in 2.28). stb may meet a DHT between
// any two scans, so we check every FF C4 in the file, reading the tables exactly as stb would.
// A table stb itself rejects (class > 1 or id > 3) ends a walk, and so does the end of the data
// (stb reads zeros there: zero codes). Crafted files could make the overlapping walks quadratic,
// so the work is capped at a budget no real JPEG (a handful of DHT markers) comes close to.
Expected<bool> check_jpeg_huffman_tables(const std::uint8_t* data, std::size_t size) {
  auto byte_at = [&](std::uint64_t i) -> int { return i < size ? data[i] : 0; };
  std::uint64_t budget = 16 * static_cast<std::uint64_t>(size) + 65536;  // bytes read by the walks
  for (std::size_t p = 0; p + 1 < size; ++p) {
    if (data[p] != 0xFF || data[p + 1] != 0xC4) continue;
    std::uint64_t pos = static_cast<std::uint64_t>(p) + 4;
    long remaining = ((byte_at(p + 2) << 8) | byte_at(p + 3)) - 2;
    while (remaining > 0 && pos < size) {
      if (budget < 17) return make_error("JPEG: implausibly many Huffman table (DHT) markers");
      budget -= 17;
      const int q = byte_at(pos++);
      if ((q >> 4) > 1 || (q & 15) > 3) break;
      long codes = 0;
      for (int i = 0; i < 16; ++i) codes += byte_at(pos++);
      if (codes > 256) {
        return make_error("JPEG: Huffman table (DHT) at offset " + std::to_string(p) + " declares " +
                          std::to_string(codes) + " codes, at most 256 are valid");
      }
      pos += static_cast<std::uint64_t>(codes);
      remaining -= 17 + codes;
    }
  }
  return true;
}

// ---- stb decoding ------------------------------------------------------------------------------

// Sniff, refuse non-PNG/JPEG, check dimensions and the byte budget, then let stb decode.
Expected<std::vector<std::uint8_t>> decode_with_stb(const std::uint8_t* data, std::size_t size, int channels,
                                                    int* width, int* height) {
  if (data == nullptr || size == 0) return make_error("image buffer is empty");
  const FileKind kind = sniff_file_kind(data, size);
  if (kind != FileKind::kPng && kind != FileKind::kJpeg) {
    return make_error(std::string("expected a PNG or JPEG image, found ") + file_kind_name(kind) + " data");
  }
  const char* name = file_kind_name(kind);
  if (static_cast<std::uint64_t>(size) > static_cast<std::uint64_t>(INT_MAX)) {
    return make_error(std::string(name) + ": buffer over 2 GiB");
  }
  const int len = static_cast<int>(size);
  if (kind == FileKind::kPng) {
    auto chunks = walk_png_chunks(data, size, false);
    if (!chunks) return chunks.error();
    auto budget = check_png_byte_budget(chunks->header, chunks->idat_bytes, "IDAT data");
    if (!budget) return budget.error();
  } else {
    auto tables = check_jpeg_huffman_tables(data, size);  // before stbi_info: it parses DHTs too
    if (!tables) return tables.error();
  }
  int w = 0, h = 0, n = 0;
  if (stbi_info_from_memory(data, len, &w, &h, &n) == 0) {
    return make_error(std::string(name) + " header unreadable: " + stb_reason());
  }
  auto dims = check_dimensions(name, static_cast<std::uint64_t>(w), static_cast<std::uint64_t>(h));
  if (!dims) return dims.error();
  const std::uint64_t pixels = static_cast<std::uint64_t>(w) * static_cast<std::uint64_t>(h);
  if (kind == FileKind::kJpeg && pixels > kJpegMaxPixelsPerByte * size) {
    return make_error("JPEG: " + dims_text(w, h) + " is more than " + std::to_string(kJpegMaxPixelsPerByte) +
                      " px per byte of a " + std::to_string(size) + "-byte file (truncated or corrupt)");
  }
  stbi_uc* decoded = stbi_load_from_memory(data, len, &w, &h, &n, channels);
  if (decoded == nullptr) return make_error(std::string(name) + " decode failed: " + stb_reason());
  std::vector<std::uint8_t> out(decoded, decoded + pixels * static_cast<std::uint64_t>(channels));
  stbi_image_free(decoded);
  *width = w;
  *height = h;
  return Expected<std::vector<std::uint8_t>>(std::move(out));
}

// ---- un-filtering and unpacking ----------------------------------------------------------------

std::uint8_t paeth(int a, int b, int c) {
  const int p = a + b - c;
  const int pa = p > a ? p - a : a - p;
  const int pb = p > b ? p - b : b - p;
  const int pc = p > c ? p - c : c - p;
  if (pa <= pb && pa <= pc) return static_cast<std::uint8_t>(a);
  return static_cast<std::uint8_t>(pb <= pc ? b : c);
}

// Reverses one row's filter in place. `prior` is the previous unfiltered row (zeros for the first).
// bpp is the filter unit in bytes: 1 for all label formats (<= 8 bits per pixel).
bool unfilter_row(int filter, std::uint8_t* row, const std::uint8_t* prior, std::size_t n, std::size_t bpp) {
  for (std::size_t i = 0; i < n; ++i) {
    const int a = i >= bpp ? row[i - bpp] : 0;
    const int b = prior[i];
    const int c = i >= bpp ? prior[i - bpp] : 0;
    int predictor = 0;
    switch (filter) {
      case 0: predictor = 0; break;
      case 1: predictor = a; break;
      case 2: predictor = b; break;
      case 3: predictor = (a + b) / 2; break;
      case 4: predictor = paeth(a, b, c); break;
      default: return false;
    }
    row[i] = static_cast<std::uint8_t>(row[i] + predictor);
  }
  return true;
}

int sample_at(const std::uint8_t* row, std::size_t x, int depth) {
  if (depth == 8) return row[x];
  const std::size_t bit = x * static_cast<std::size_t>(depth);
  const int shift = 8 - depth - static_cast<int>(bit % 8);
  return (row[bit / 8] >> shift) & ((1 << depth) - 1);
}

// One sub-image of the stream: the whole image, or one Adam7 pass.
struct Pass {
  std::uint32_t x0, y0, dx, dy;
  std::uint64_t width, height;
};

std::vector<Pass> png_passes(const PngHeader& h) {
  if (!h.interlaced) return {Pass{0, 0, 1, 1, h.width, h.height}};
  static const std::uint32_t kX0[7] = {0, 4, 0, 2, 0, 1, 0};
  static const std::uint32_t kY0[7] = {0, 0, 4, 0, 2, 0, 1};
  static const std::uint32_t kDx[7] = {8, 8, 4, 4, 2, 2, 1};
  static const std::uint32_t kDy[7] = {8, 8, 8, 4, 4, 2, 2};
  std::vector<Pass> passes;
  for (int i = 0; i < 7; ++i) {
    const std::uint64_t w = h.width > kX0[i] ? (h.width - kX0[i] + kDx[i] - 1) / kDx[i] : 0;
    const std::uint64_t ht = h.height > kY0[i] ? (h.height - kY0[i] + kDy[i] - 1) / kDy[i] : 0;
    if (w > 0 && ht > 0) passes.push_back(Pass{kX0[i], kY0[i], kDx[i], kDy[i], w, ht});  // empty passes send nothing
  }
  return passes;
}

std::uint64_t png_raw_bytes(const PngHeader& h) {
  std::uint64_t total = 0;
  for (const Pass& p : png_passes(h)) total += p.height * (1 + png_row_bytes(p.width, h));
  return total;
}

// Un-filters the pass starting at raw[*pos] and scatters its samples into `out`.
Expected<bool> decode_pass(const PngChunks& png, const Pass& pass, std::vector<std::uint8_t>& raw, std::size_t* pos,
                           LabelMap* out) {
  const PngHeader& h = png.header;
  const std::size_t row_bytes = static_cast<std::size_t>(png_row_bytes(pass.width, h));
  std::vector<std::uint8_t> zeros(row_bytes, 0);
  const std::uint8_t* prior = zeros.data();
  for (std::uint64_t y = 0; y < pass.height; ++y) {
    const int filter = raw[*pos];
    std::uint8_t* row = raw.data() + *pos + 1;
    if (!unfilter_row(filter, row, prior, row_bytes, 1)) {
      return make_error("PNG: invalid filter type " + std::to_string(filter) + " in row " + std::to_string(y));
    }
    for (std::uint64_t x = 0; x < pass.width; ++x) {
      const int value = sample_at(row, static_cast<std::size_t>(x), h.bit_depth);
      const std::uint64_t ox = pass.x0 + x * pass.dx, oy = pass.y0 + y * pass.dy;
      if (h.colour_type == 3 && value >= png.palette_entries) {
        return make_error("PNG: palette index " + std::to_string(value) + " at (" + std::to_string(ox) + ", " +
                          std::to_string(oy) + ") is beyond the " + std::to_string(png.palette_entries) +
                          " PLTE entries");
      }
      out->at(static_cast<int>(ox), static_cast<int>(oy)) = static_cast<std::uint8_t>(value);
    }
    prior = row;
    *pos += 1 + row_bytes;
  }
  return true;
}

Expected<LabelMap> decode_label_png(const std::uint8_t* data, std::size_t size) {
  auto chunks = walk_png_chunks(data, size, true);
  if (!chunks) return chunks.error();
  const PngHeader& h = chunks->header;
  const bool indexed = h.colour_type == 3;
  const bool gray8 = h.colour_type == 0 && h.bit_depth == 8;
  if (!indexed && !gray8) {
    return make_error(std::string(kLabelFormatMessage) + " (found colour type " + std::to_string(h.colour_type) +
                      ", bit depth " + std::to_string(h.bit_depth) + ")");
  }
  auto budget = check_png_byte_budget(h, chunks->idat.size(), "IDAT data");
  if (!budget) return budget.error();
  // Bounded by the caps: <= 64 Mpx at 8 bits plus one filter byte per row, so it fits an int.
  const std::uint64_t expected = png_raw_bytes(h);
  std::vector<std::uint8_t> raw(static_cast<std::size_t>(expected));
  const int got = stbi_zlib_decode_buffer(reinterpret_cast<char*>(raw.data()), static_cast<int>(expected),
                                          reinterpret_cast<const char*>(chunks->idat.data()),
                                          static_cast<int>(chunks->idat.size()));
  if (got < 0) return make_error(std::string("PNG: IDAT does not inflate to ") + std::to_string(expected) +
                                 " bytes: " + stb_reason());
  if (static_cast<std::uint64_t>(got) != expected) {
    return make_error("PNG: IDAT inflates to " + std::to_string(got) + " bytes, IHDR implies " +
                      std::to_string(expected));
  }
  LabelMap labels(static_cast<int>(h.width), static_cast<int>(h.height));
  std::size_t pos = 0;
  for (const Pass& pass : png_passes(h)) {
    auto done = decode_pass(*chunks, pass, raw, &pos, &labels);
    if (!done) return done.error();
  }
  return Expected<LabelMap>(std::move(labels));
}

// ---- encoding ----------------------------------------------------------------------------------

void append_bytes(void* context, void* data, int size) {
  auto* out = static_cast<std::vector<std::uint8_t>*>(context);
  const auto* bytes = static_cast<const std::uint8_t*>(data);
  out->insert(out->end(), bytes, bytes + size);
}

bool consistent(int width, int height, std::size_t size, int channels) {
  return width > 0 && height > 0 &&
         static_cast<std::uint64_t>(width) * static_cast<std::uint64_t>(height) * static_cast<std::uint64_t>(channels) ==
             static_cast<std::uint64_t>(size);
}

std::vector<std::uint8_t> encode_png(int width, int height, int channels, const std::uint8_t* pixels) {
  std::vector<std::uint8_t> out;
  if (stbi_write_png_to_func(append_bytes, &out, width, height, channels, pixels, width * channels) == 0) out.clear();
  return out;
}

Expected<bool> write_png(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  if (bytes.empty()) return make_error(path + ": PNG encoding failed (empty or inconsistent image)");
  return write_file_bytes(path, bytes);
}

}  // namespace

// ---- public API --------------------------------------------------------------------------------

std::string unsupported_file_message(FileKind kind) {
  const std::string found =
      kind == FileKind::kUnknown ? "format not recognised" : std::string("found ") + file_kind_name(kind);
  return "not a NIfTI (.nii/.nii.gz), PNG or JPEG file (" + found + ")";
}

FileKind sniff_file_kind(const std::uint8_t* data, std::size_t size) {
  if (data == nullptr) return FileKind::kUnknown;
  auto starts = [&](const char* magic, std::size_t n) { return size >= n && std::memcmp(data, magic, n) == 0; };
  if (size >= 8 && std::memcmp(data, kPngSignature, 8) == 0) return FileKind::kPng;
  if (starts("\xFF\xD8\xFF", 3)) return FileKind::kJpeg;
  if (starts("\x1F\x8B", 2)) return FileKind::kGzip;
  if (starts("GIF87a", 6) || starts("GIF89a", 6)) return FileKind::kGif;
  if (starts("BM", 2)) return FileKind::kBmp;
  if (starts("II*\0", 4) || starts("MM\0*", 4)) return FileKind::kTiff;
  if (size >= 348 && (read_le32(data) == 348 || read_be32(data) == 348) && std::memcmp(data + 344, "n+1\0", 4) == 0) {
    return FileKind::kNifti1;
  }
  if (size >= 12 && (read_le32(data) == 540 || read_be32(data) == 540) && std::memcmp(data + 4, "n+2\0", 4) == 0) {
    return FileKind::kNifti2;
  }
  if (size >= 132 && std::memcmp(data + 128, "DICM", 4) == 0) return FileKind::kDicom;
  return FileKind::kUnknown;
}

const char* file_kind_name(FileKind kind) {
  switch (kind) {
    case FileKind::kPng: return "PNG";
    case FileKind::kJpeg: return "JPEG";
    case FileKind::kGzip: return "gzip";
    case FileKind::kNifti1: return "NIfTI-1";
    case FileKind::kNifti2: return "NIfTI-2";
    case FileKind::kGif: return "GIF";
    case FileKind::kBmp: return "BMP";
    case FileKind::kTiff: return "TIFF";
    case FileKind::kDicom: return "DICOM";
    case FileKind::kUnknown: break;
  }
  return "unknown";
}

Expected<ImageU8> load_image_from_buffer(const std::uint8_t* data, std::size_t size) {
  int w = 0, h = 0;
  auto pixels = decode_with_stb(data, size, 1, &w, &h);
  if (!pixels) return pixels.error();
  ImageU8 image;
  image.width = w;
  image.height = h;
  image.pixels = std::move(*pixels);
  return Expected<ImageU8>(std::move(image));
}

Expected<ImageU8> load_image_from_file(const std::string& path) {
  auto bytes = read_file_bytes(path, kMaxImageFileBytes);
  if (!bytes) return bytes.error();
  return with_path_prefix(path, load_image_from_buffer(bytes->data(), bytes->size()));
}

Expected<RgbaImage> load_image_rgba_from_buffer(const std::uint8_t* data, std::size_t size) {
  int w = 0, h = 0;
  auto pixels = decode_with_stb(data, size, 4, &w, &h);
  if (!pixels) return pixels.error();
  return RgbaImage{w, h, std::move(*pixels)};
}

Expected<LabelMap> load_label_png_from_buffer(const std::uint8_t* data, std::size_t size) {
  if (data == nullptr || size == 0) return make_error("label buffer is empty");
  const FileKind kind = sniff_file_kind(data, size);
  if (kind != FileKind::kPng) {
    return make_error(std::string(kLabelFormatMessage) + " (found " + file_kind_name(kind) + " data)");
  }
  return decode_label_png(data, size);
}

Expected<LabelMap> load_label_png_from_file(const std::string& path) {
  auto bytes = read_file_bytes(path, kMaxImageFileBytes);
  if (!bytes) return bytes.error();
  return with_path_prefix(path, load_label_png_from_buffer(bytes->data(), bytes->size()));
}

std::vector<std::uint8_t> encode_png_gray(const ImageU8& image) {
  if (!consistent(image.width, image.height, image.pixels.size(), 1)) return {};
  return encode_png(image.width, image.height, 1, image.pixels.data());
}

std::vector<std::uint8_t> encode_png_rgba(const RgbaImage& image) {
  if (!consistent(image.width, image.height, image.rgba.size(), 4)) return {};
  return encode_png(image.width, image.height, 4, image.rgba.data());
}

Expected<bool> save_png(const std::string& path, const ImageU8& image) {
  return write_png(path, encode_png_gray(image));
}

Expected<bool> save_png(const std::string& path, const RgbaImage& image) {
  return write_png(path, encode_png_rgba(image));
}

}  // namespace corona
