// Tests for corona/image_io.h: sniffing, PNG/JPEG decoding to gray, label PNGs read by palette index
// (proven on hand-built PNGs whose colours do not match their indices), encoders and every error path.
#include "corona/image_io.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

namespace corona {
namespace {

using Bytes = std::vector<std::uint8_t>;

const std::string kFixtures = std::string(CORONA_FIXTURES_DIR) + "/medseg/";
const std::string kImages = std::string(CORONA_FIXTURES_DIR) + "/images/";

// ---- a minimal PNG writer, independent of stb: stored deflate blocks, real CRCs -----------------

std::uint32_t crc32(const std::uint8_t* p, std::size_t n) {
  std::uint32_t c = 0xFFFFFFFFu;
  for (std::size_t i = 0; i < n; ++i) {
    c ^= p[i];
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
  }
  return c ^ 0xFFFFFFFFu;
}

void put_be32(Bytes* out, std::uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out->push_back(static_cast<std::uint8_t>(v >> s));
}

void put_chunk(Bytes* out, const char* type, const Bytes& body) {
  put_be32(out, static_cast<std::uint32_t>(body.size()));
  Bytes typed(type, type + 4);
  typed.insert(typed.end(), body.begin(), body.end());
  out->insert(out->end(), typed.begin(), typed.end());
  put_be32(out, crc32(typed.data(), typed.size()));
}

// zlib stream of stored (uncompressed) deflate blocks.
Bytes zlib_stored(const Bytes& data) {
  Bytes z = {0x78, 0x01};
  std::size_t pos = 0;
  do {
    const std::size_t n = std::min<std::size_t>(65535, data.size() - pos);
    z.push_back(pos + n == data.size() ? 1 : 0);
    z.push_back(static_cast<std::uint8_t>(n));
    z.push_back(static_cast<std::uint8_t>(n >> 8));
    z.push_back(static_cast<std::uint8_t>(~n));
    z.push_back(static_cast<std::uint8_t>(~n >> 8));
    z.insert(z.end(), data.begin() + static_cast<std::ptrdiff_t>(pos), data.begin() + static_cast<std::ptrdiff_t>(pos + n));
    pos += n;
  } while (pos < data.size());
  std::uint32_t a = 1, b = 0;
  for (std::uint8_t v : data) {
    a = (a + v) % 65521;
    b = (b + a) % 65521;
  }
  put_be32(&z, (b << 16) | a);
  return z;
}

int paeth(int a, int b, int c) {
  const int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
  return (pa <= pb && pa <= pc) ? a : (pb <= pc ? b : c);
}

// Forward PNG filter of one row (bpp = filter unit in bytes).
Bytes filter_row(int filter, const Bytes& row, const Bytes& prior, std::size_t bpp) {
  Bytes out(row.size());
  for (std::size_t i = 0; i < row.size(); ++i) {
    const int a = i >= bpp ? row[i - bpp] : 0, b = prior[i], c = i >= bpp ? prior[i - bpp] : 0;
    const int pred = filter == 1 ? a : filter == 2 ? b : filter == 3 ? (a + b) / 2 : filter == 4 ? paeth(a, b, c) : 0;
    out[i] = static_cast<std::uint8_t>(row[i] - pred);
  }
  return out;
}

struct PngSpec {
  int width = 0, height = 0, bit_depth = 8, colour_type = 0;
  int channels = 1;             // samples per pixel
  bool interlaced = false;
  std::vector<int> samples;     // width * height * channels, row-major
  Bytes palette;                // RGB triples; written as PLTE when non-empty
  int first_filter = 0;         // row r uses filter (first_filter + r) % 5
};

// Packs rows of samples at the spec's bit depth (16-bit big-endian).
Bytes pack_row(const PngSpec& s, const std::vector<int>& samples) {
  Bytes row;
  if (s.bit_depth == 16) {
    for (int v : samples) { row.push_back(static_cast<std::uint8_t>(v >> 8)); row.push_back(static_cast<std::uint8_t>(v)); }
    return row;
  }
  row.assign((samples.size() * s.bit_depth + 7) / 8, 0);
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const std::size_t bit = i * s.bit_depth;
    row[bit / 8] |= static_cast<std::uint8_t>(samples[i] << (8 - s.bit_depth - bit % 8));
  }
  return row;
}

Bytes raw_scanlines(const PngSpec& s) {
  struct P { int x0, y0, dx, dy; };
  const std::vector<P> passes = s.interlaced ? std::vector<P>{{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4},
                                                              {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}}
                                             : std::vector<P>{{0, 0, 1, 1}};
  const std::size_t bpp = std::max<std::size_t>(1, static_cast<std::size_t>(s.channels * s.bit_depth / 8));
  Bytes raw;
  int row_counter = 0;
  for (const P& p : passes) {
    Bytes prior;
    for (int y = p.y0; y < s.height; y += p.dy) {
      std::vector<int> samples;
      for (int x = p.x0; x < s.width; x += p.dx)
        for (int c = 0; c < s.channels; ++c) samples.push_back(s.samples[(static_cast<std::size_t>(y) * s.width + x) * s.channels + c]);
      if (samples.empty()) break;
      const Bytes row = pack_row(s, samples);
      if (prior.empty()) prior.assign(row.size(), 0);
      const int filter = (s.first_filter + row_counter++) % 5;
      raw.push_back(static_cast<std::uint8_t>(filter));
      const Bytes filtered = filter_row(filter, row, prior, bpp);
      raw.insert(raw.end(), filtered.begin(), filtered.end());
      prior = row;
    }
  }
  return raw;
}

Bytes ihdr_body(int w, int h, int depth, int colour_type, int interlace) {
  Bytes b;
  put_be32(&b, static_cast<std::uint32_t>(w));
  put_be32(&b, static_cast<std::uint32_t>(h));
  b.insert(b.end(), {static_cast<std::uint8_t>(depth), static_cast<std::uint8_t>(colour_type), 0, 0,
                     static_cast<std::uint8_t>(interlace)});
  return b;
}

Bytes signature() { return {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A}; }

// Builds a PNG from explicit IDAT payload (so tests can corrupt it).
Bytes png_with_idat(const PngSpec& s, const Bytes& idat_zlib) {
  Bytes png = signature();
  put_chunk(&png, "IHDR", ihdr_body(s.width, s.height, s.bit_depth, s.colour_type, s.interlaced ? 1 : 0));
  if (!s.palette.empty()) put_chunk(&png, "PLTE", s.palette);
  put_chunk(&png, "IDAT", idat_zlib);
  put_chunk(&png, "IEND", {});
  return png;
}

Bytes build_png(const PngSpec& s) { return png_with_idat(s, zlib_stored(raw_scanlines(s))); }

Bytes read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::map<int, int> histogram(const LabelMap& m) {
  std::map<int, int> h;
  for (std::uint8_t v : m.pixels) ++h[v];
  return h;
}

// Colours deliberately unlike their indices: 1 is red, 2 dark blue.
const Bytes kOddPalette = {10, 200, 30,  255, 0, 0,  0, 0, 139,  255, 255, 255,  40, 40, 40,   1, 2, 3,
                           90, 0, 90,    0, 255, 0, 7, 7, 7,     200, 100, 50,   5, 5, 250,    9, 99, 199,
                           33, 66, 99,   128, 128, 0, 0, 128, 128, 250, 250, 5};

PngSpec palette_spec(int depth, bool interlaced, int first_filter) {
  PngSpec s;
  s.width = 13;  // not a multiple of 8: exercises partial bytes at 1/2/4 bits
  s.height = 11;
  s.bit_depth = depth;
  s.colour_type = 3;
  s.interlaced = interlaced;
  s.first_filter = first_filter;
  const int entries = std::min(1 << depth, 16);
  s.palette.assign(kOddPalette.begin(), kOddPalette.begin() + 3 * entries);
  for (int y = 0; y < s.height; ++y)
    for (int x = 0; x < s.width; ++x) s.samples.push_back((x * 3 + y * 5) % entries);
  return s;
}

// ---- sniffing ---------------------------------------------------------------------------------

Bytes nifti1_header(bool big_endian) {
  Bytes h(352, 0);
  if (big_endian) { h[2] = 0x01; h[3] = 0x5C; } else { h[0] = 0x5C; h[1] = 0x01; }  // 348
  std::memcpy(h.data() + 344, "n+1\0", 4);
  return h;
}

TEST(ImageIoSniff, Table) {
  Bytes nifti2(540, 0);
  nifti2[0] = 0x1C; nifti2[1] = 0x02;  // 540 little-endian
  std::memcpy(nifti2.data() + 4, "n+2\0\r\n\032\n", 8);
  Bytes dicom(200, 0);
  std::memcpy(dicom.data() + 128, "DICM", 4);
  Bytes nifti1_bad_magic = nifti1_header(false);
  nifti1_bad_magic[345] = '?';
  Bytes nifti1_short = nifti1_header(false);
  nifti1_short.resize(347);
  const struct { const char* name; Bytes bytes; FileKind kind; } cases[] = {
      {"empty", {}, FileKind::kUnknown},
      {"png", signature(), FileKind::kPng},
      {"png prefix only", {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A}, FileKind::kUnknown},
      {"jpeg", {0xFF, 0xD8, 0xFF, 0xE0}, FileKind::kJpeg},
      {"gzip", {0x1F, 0x8B, 0x08, 0x00}, FileKind::kGzip},
      {"gif89a", {'G', 'I', 'F', '8', '9', 'a', 1, 0}, FileKind::kGif},
      {"bmp", {'B', 'M', 0, 0}, FileKind::kBmp},
      {"tiff le", {'I', 'I', '*', 0}, FileKind::kTiff},
      {"nifti1 le", nifti1_header(false), FileKind::kNifti1},
      {"nifti1 be", nifti1_header(true), FileKind::kNifti1},
      {"nifti1 bad magic", nifti1_bad_magic, FileKind::kUnknown},
      {"nifti1 truncated", nifti1_short, FileKind::kUnknown},
      {"nifti2", nifti2, FileKind::kNifti2},
      {"dicom", dicom, FileKind::kDicom},
      {"text", {'h', 'e', 'l', 'l', 'o'}, FileKind::kUnknown},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(sniff_file_kind(c.bytes.data(), c.bytes.size()), c.kind) << c.name;
  }
  EXPECT_EQ(sniff_file_kind(nullptr, 10), FileKind::kUnknown);
}

TEST(ImageIoSniff, Names) {
  EXPECT_STREQ(file_kind_name(FileKind::kPng), "PNG");
  EXPECT_STREQ(file_kind_name(FileKind::kJpeg), "JPEG");
  EXPECT_STREQ(file_kind_name(FileKind::kNifti1), "NIfTI-1");
  EXPECT_STREQ(file_kind_name(FileKind::kNifti2), "NIfTI-2");
  EXPECT_STREQ(file_kind_name(FileKind::kGzip), "gzip");
  EXPECT_STREQ(file_kind_name(FileKind::kUnknown), "unknown");
}

// ---- fixtures ---------------------------------------------------------------------------------

TEST(ImageIoSniff, UnsupportedFileMessage) {
  const struct {
    FileKind kind;
    const char* expected;
  } cases[] = {
      {FileKind::kUnknown, "not a NIfTI (.nii/.nii.gz), PNG or JPEG file (format not recognised)"},
      {FileKind::kGif, "not a NIfTI (.nii/.nii.gz), PNG or JPEG file (found GIF)"},
  };
  for (const auto& c : cases) EXPECT_EQ(unsupported_file_message(c.kind), c.expected);
}

TEST(ImageIoFixtures, SlicesDecodeTo512Gray) {
  // Sums and samples computed independently (Python zlib + a hand-written un-filter).
  const struct { const char* name; std::uint64_t sum; int centre, origin, at_300_100; } cases[] = {
      {"tr_im_0022.png", 45759027, 61, 0, 201},
      {"tr_im_0032.png", 51775604, 235, 60, 234},
      {"tr_im_0048.png", 41810627, 227, 255, 230},
  };
  for (const auto& c : cases) {
    auto img = load_image_from_file(kFixtures + c.name);
    ASSERT_TRUE(img.ok()) << img.error().message;
    EXPECT_EQ(img->width, 512);
    EXPECT_EQ(img->height, 512);
    EXPECT_FALSE(img->spacing_known);
    std::uint64_t sum = 0;
    for (std::uint8_t v : img->pixels) sum += v;
    EXPECT_EQ(sum, c.sum) << c.name;
    EXPECT_EQ(img->at(256, 256), c.centre) << c.name;
    EXPECT_EQ(img->at(0, 0), c.origin) << c.name;
    EXPECT_EQ(img->at(300, 100), c.at_300_100) << c.name;
  }
}

TEST(ImageIoFixtures, LabelCountsMatchSlicesCsv) {
  // From tests/fixtures/medseg/slices.csv: lesion_px, ggo, consolidation, effusion, unknown (255).
  const struct { const char* id; int lesion, ggo, cons, eff, unknown; } cases[] = {
      {"0022", 203, 0, 0, 0, 203},
      {"0032", 62900, 5998, 51341, 5561, 0},
      {"0048", 0, 0, 0, 0, 0},
  };
  for (const auto& c : cases) {
    auto four = load_label_png_from_file(kFixtures + "tr_mask_4class_" + c.id + ".png");
    ASSERT_TRUE(four.ok()) << four.error().message;
    ASSERT_EQ(four->width, 512);
    ASSERT_EQ(four->height, 512);
    auto h = histogram(*four);
    EXPECT_EQ(h[1], c.ggo) << c.id;
    EXPECT_EQ(h[2], c.cons) << c.id;
    EXPECT_EQ(h[3], c.eff) << c.id;
    EXPECT_EQ(h[255], c.unknown) << c.id;
    EXPECT_EQ(h[0] + h[1] + h[2] + h[3] + h[255], 512 * 512) << c.id;

    // The binary masks are 1-bit palette PNGs (0 black, 1 white): we get the index 1, not 255.
    auto binary = load_label_png_from_file(kFixtures + "tr_mask_binary_" + c.id + ".png");
    ASSERT_TRUE(binary.ok()) << binary.error().message;
    auto hb = histogram(*binary);
    EXPECT_EQ(hb[1], c.lesion) << c.id;
    EXPECT_EQ(hb[0], 512 * 512 - c.lesion) << c.id;
    // Decoded as an image instead, the same pixels are white (palette colour).
    auto gray = load_image_from_file(kFixtures + "tr_mask_binary_" + c.id + ".png");
    ASSERT_TRUE(gray.ok()) << gray.error().message;
    auto hg = histogram(*gray);
    EXPECT_EQ(hg[255], c.lesion) << c.id;
  }
}

// ---- label PNGs by palette index ---------------------------------------------------------------

TEST(ImageIoLabels, PaletteIndicesAtEveryDepthFilterAndInterlace) {
  for (int depth : {1, 2, 4, 8}) {
    for (bool interlaced : {false, true}) {
      for (int first_filter = 0; first_filter < 5; ++first_filter) {
        const PngSpec spec = palette_spec(depth, interlaced, first_filter);
        const Bytes png = build_png(spec);
        const std::string where = "depth " + std::to_string(depth) + (interlaced ? " adam7" : "") + " filter " +
                                  std::to_string(first_filter);
        auto labels = load_label_png_from_buffer(png.data(), png.size());
        ASSERT_TRUE(labels.ok()) << where << ": " << labels.error().message;
        ASSERT_EQ(labels->width, spec.width);
        ASSERT_EQ(labels->height, spec.height);
        // stb's colour decode of the same file must show palette[index] at every pixel.
        auto rgba = load_image_rgba_from_buffer(png.data(), png.size());
        ASSERT_TRUE(rgba.ok()) << where << ": " << rgba.error().message;
        auto gray = load_image_from_buffer(png.data(), png.size());
        ASSERT_TRUE(gray.ok()) << where;
        for (int y = 0; y < spec.height; ++y) {
          for (int x = 0; x < spec.width; ++x) {
            const int index = spec.samples[static_cast<std::size_t>(y) * spec.width + x];
            ASSERT_EQ(labels->at(x, y), index) << where << " at " << x << "," << y;
            const Rgba c = rgba->at(x, y);
            const std::uint8_t* pal = spec.palette.data() + 3 * index;
            ASSERT_EQ(c.r, pal[0]) << where;
            ASSERT_EQ(c.g, pal[1]) << where;
            ASSERT_EQ(c.b, pal[2]) << where;
            ASSERT_EQ(c.a, 255) << where;
            ASSERT_EQ(gray->at(x, y), (77 * pal[0] + 150 * pal[1] + 29 * pal[2]) >> 8) << where;
          }
        }
      }
    }
  }
}

TEST(ImageIoLabels, RedIsOneDarkBlueIsTwo) {
  PngSpec s = palette_spec(8, false, 0);
  s.width = 3;
  s.height = 1;
  s.samples = {2, 1, 0};
  const Bytes png = build_png(s);
  auto labels = load_label_png_from_buffer(png.data(), png.size());
  ASSERT_TRUE(labels.ok()) << labels.error().message;
  EXPECT_EQ(labels->pixels, (std::vector<std::uint8_t>{2, 1, 0}));
  auto rgba = load_image_rgba_from_buffer(png.data(), png.size());
  ASSERT_TRUE(rgba.ok());
  EXPECT_EQ(rgba->rgba, (Bytes{0, 0, 139, 255, 255, 0, 0, 255, 10, 200, 30, 255}));
}

TEST(ImageIoLabels, Gray8ValuesIncludingIgnore) {
  PngSpec s;
  s.width = 5;
  s.height = 2;
  s.samples = {0, 1, 2, 3, 255, 255, 3, 2, 1, 0};
  for (bool interlaced : {false, true}) {
    s.interlaced = interlaced;
    const Bytes png = build_png(s);
    auto labels = load_label_png_from_buffer(png.data(), png.size());
    ASSERT_TRUE(labels.ok()) << labels.error().message;
    EXPECT_EQ(labels->pixels, (std::vector<std::uint8_t>{0, 1, 2, 3, 255, 255, 3, 2, 1, 0}));
  }
}

TEST(ImageIoLabels, RefusesNonLabelFormats) {
  auto make = [](int colour_type, int depth, int channels) {
    PngSpec s;
    s.width = 2;
    s.height = 2;
    s.colour_type = colour_type;
    s.bit_depth = depth;
    s.channels = channels;
    s.samples.assign(static_cast<std::size_t>(4 * channels), 1);
    return build_png(s);
  };
  const struct { const char* name; Bytes bytes; } cases[] = {
      {"RGB", make(2, 8, 3)},        {"RGBA", make(6, 8, 4)},   {"gray+alpha", make(4, 8, 2)},
      {"gray 16-bit", make(0, 16, 1)}, {"gray 4-bit", make(0, 4, 1)}, {"JPEG", read_bytes(kImages + "gradient_64x48_q95.jpg")},
  };
  for (const auto& c : cases) {
    auto r = load_label_png_from_buffer(c.bytes.data(), c.bytes.size());
    ASSERT_FALSE(r.ok()) << c.name;
    EXPECT_NE(r.error().message.find("label masks must be palette or 8-bit grayscale PNG"), std::string::npos)
        << c.name << ": " << r.error().message;
  }
}

TEST(ImageIoLabels, MalformedPngErrors) {
  PngSpec s = palette_spec(2, false, 0);  // 4 palette entries
  const Bytes raw = raw_scanlines(s);
  const Bytes good = build_png(s);

  PngSpec short_palette = s;
  short_palette.palette.resize(6);  // indices 2 and 3 now point past PLTE
  PngSpec no_palette = s;
  no_palette.palette.clear();
  Bytes bad_filter = raw;
  bad_filter[0] = 5;
  const Bytes short_raw(raw.begin(), raw.end() - 4);
  Bytes long_raw = raw;
  long_raw.insert(long_raw.end(), 10, 0);
  Bytes unknown_critical(good.begin(), good.end() - 12);  // strip IEND
  put_chunk(&unknown_critical, "ZZZZ", {1, 2});
  put_chunk(&unknown_critical, "IEND", {});
  const Bytes no_iend(good.begin(), good.end() - 12);
  Bytes truncated_chunk(good.begin(), good.begin() + 40);
  Bytes second_ihdr = signature();
  put_chunk(&second_ihdr, "IHDR", ihdr_body(2, 2, 8, 0, 0));
  put_chunk(&second_ihdr, "IHDR", ihdr_body(2, 2, 8, 0, 0));
  Bytes no_idat = signature();
  put_chunk(&no_idat, "IHDR", ihdr_body(2, 2, 8, 0, 0));
  put_chunk(&no_idat, "IEND", {});

  const struct { const char* name; Bytes bytes; const char* message; } cases[] = {
      {"index beyond PLTE", png_with_idat(short_palette, zlib_stored(raw)), "beyond the 2 PLTE entries"},
      {"palette without PLTE", png_with_idat(no_palette, zlib_stored(raw)), "without a PLTE"},
      {"filter type 5", png_with_idat(s, zlib_stored(bad_filter)), "invalid filter type 5"},
      {"IDAT too short", png_with_idat(s, zlib_stored(short_raw)), "IDAT inflates to"},
      {"IDAT too long", png_with_idat(s, zlib_stored(long_raw)), "IDAT does not inflate"},
      {"zlib garbage", png_with_idat(s, Bytes{0x78, 0x01, 0xFF, 0xFF, 0xFF}), "IDAT"},
      {"unknown critical chunk", unknown_critical, "unknown critical chunk 'ZZZZ'"},
      {"no IEND", no_iend, "no IEND"},
      {"truncated chunk", truncated_chunk, "truncated"},
      {"second IHDR", second_ihdr, "second IHDR"},
      {"no IDAT", no_idat, "no IDAT data"},
      {"empty", Bytes{}, "empty"},
      {"signature only", signature(), "truncated"},
  };
  for (const auto& c : cases) {
    auto r = load_label_png_from_buffer(c.bytes.data(), c.bytes.size());
    ASSERT_FALSE(r.ok()) << c.name;
    EXPECT_NE(r.error().message.find(c.message), std::string::npos) << c.name << ": " << r.error().message;
  }
  auto missing = load_label_png_from_file("/nonexistent/mask.png");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("/nonexistent/mask.png"), std::string::npos);
}

// ---- colour conversions -----------------------------------------------------------------------

TEST(ImageIoDecode, ChannelLayoutsToGray) {
  // (77 R + 150 G + 29 B) >> 8, alpha ignored; 16-bit: same weights at 16 bit, then >> 8.
  const struct { const char* name; int colour_type, depth, channels; std::vector<int> px; int gray; } cases[] = {
      {"L8", 0, 8, 1, {93}, 93},
      {"L1 white", 0, 1, 1, {1}, 255},                          // stb scales low depths to 0..255
      {"L4", 0, 4, 1, {5}, 85},                                  // 5 * 17
      {"LA8", 4, 8, 2, {90, 10}, 90},
      {"RGB8", 2, 8, 3, {200, 100, 50}, 124},                    // 31850 >> 8
      {"RGBA8 transparent", 6, 8, 4, {200, 100, 50, 0}, 124},
      {"RGB8 pure green", 2, 8, 3, {0, 255, 0}, 149},            // 38250 >> 8
      {"L16", 0, 16, 1, {0x1234}, 0x12},
      {"RGB16", 2, 16, 3, {0xFFFF, 0x8000, 0x0000}, 151},        // 9961395 >> 8 = 38911, >> 8
      {"RGBA16", 6, 16, 4, {0x0000, 0x0000, 0xFFFF, 0x0000}, 28},  // 1900515 >> 8 = 7423, >> 8
  };
  for (const auto& c : cases) {
    PngSpec s;
    s.width = 3;
    s.height = 2;
    s.colour_type = c.colour_type;
    s.bit_depth = c.depth;
    s.channels = c.channels;
    for (int i = 0; i < 6; ++i) s.samples.insert(s.samples.end(), c.px.begin(), c.px.end());
    const Bytes png = build_png(s);
    auto img = load_image_from_buffer(png.data(), png.size());
    ASSERT_TRUE(img.ok()) << c.name << ": " << img.error().message;
    ASSERT_EQ(img->width, 3);
    ASSERT_EQ(img->height, 2);
    for (std::uint8_t v : img->pixels) EXPECT_EQ(v, c.gray) << c.name;
  }
}

// ---- round trips ------------------------------------------------------------------------------

ImageU8 gradient(int w, int h) {
  ImageU8 img(w, h);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) img.at(x, y) = static_cast<std::uint8_t>((x * 255) / (w - 1) / 2 + (y * 255) / (h - 1) / 2);
  return img;
}

TEST(ImageIoRoundTrip, PngGrayIsExact) {
  ImageU8 img(7, 5);
  for (std::size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = static_cast<std::uint8_t>(i * 37 + 3);
  const Bytes png = encode_png_gray(img);
  ASSERT_FALSE(png.empty());
  EXPECT_EQ(sniff_file_kind(png.data(), png.size()), FileKind::kPng);
  auto back = load_image_from_buffer(png.data(), png.size());
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->width, 7);
  EXPECT_EQ(back->height, 5);
  EXPECT_EQ(back->pixels, img.pixels);
}

TEST(ImageIoRoundTrip, PngRgbaIsExact) {
  RgbaImage img{3, 2, {}};
  for (int i = 0; i < 24; ++i) img.rgba.push_back(static_cast<std::uint8_t>(i * 11));
  const Bytes png = encode_png_rgba(img);
  auto back = load_image_rgba_from_buffer(png.data(), png.size());
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->width, 3);
  EXPECT_EQ(back->height, 2);
  EXPECT_EQ(back->rgba, img.rgba);
}

TEST(ImageIoRoundTrip, LabelMapSavedAsGrayPngReadsBack) {
  LabelMap labels(4, 3);
  const std::uint8_t values[] = {0, 1, 2, 3, 255, 0, 1, 2, 3, 255, 0, 1};
  labels.pixels.assign(values, values + 12);
  const std::string path = ::testing::TempDir() + "corona_labels_roundtrip.png";
  auto saved = save_png(path, labels);
  ASSERT_TRUE(saved.ok()) << saved.error().message;
  auto back = load_label_png_from_file(path);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->pixels, labels.pixels);
  std::remove(path.c_str());
}

TEST(ImageIoRoundTrip, SaveRgbaFile) {
  RgbaImage img{2, 1, {1, 2, 3, 255, 4, 5, 6, 128}};
  const std::string path = ::testing::TempDir() + "corona_rgba_roundtrip.png";
  ASSERT_TRUE(save_png(path, img).ok());
  const Bytes bytes = read_bytes(path);
  auto back = load_image_rgba_from_buffer(bytes.data(), bytes.size());
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->rgba, img.rgba);
  std::remove(path.c_str());
}

// tests/fixtures/images/*.jpg were written by libjpeg-turbo (not stb) from the formulas below.
TEST(ImageIoDecode, JpegFixturesWithinTolerance) {
  const ImageU8 grad = gradient(64, 48);
  // The colour fixture is r = 4x, g = 5y, b = 128, 4:4:4; stb returns its Y plane, so compare with
  // JFIF luma 0.299 R + 0.587 G + 0.114 B.
  ImageU8 luma(64, 48);
  for (int y = 0; y < 48; ++y)
    for (int x = 0; x < 64; ++x) luma.at(x, y) = static_cast<std::uint8_t>(std::lround(0.299 * 4 * x + 0.587 * 5 * y + 0.114 * 128));
  const struct { const char* file; const ImageU8* expected; int max_error; } cases[] = {
      {"gradient_64x48_q95.jpg", &grad, 3},
      {"gradient_64x48_progressive.jpg", &grad, 6},
      {"colour_64x48_q95.jpg", &luma, 4},
  };
  for (const auto& c : cases) {
    const Bytes jpg = read_bytes(kImages + c.file);
    ASSERT_FALSE(jpg.empty()) << c.file;
    EXPECT_EQ(sniff_file_kind(jpg.data(), jpg.size()), FileKind::kJpeg);
    auto img = load_image_from_buffer(jpg.data(), jpg.size());
    ASSERT_TRUE(img.ok()) << c.file << ": " << img.error().message;
    ASSERT_EQ(img->width, 64);
    ASSERT_EQ(img->height, 48);
    int worst = 0;
    for (std::size_t i = 0; i < img->pixels.size(); ++i) worst = std::max(worst, std::abs(img->pixels[i] - c.expected->pixels[i]));
    EXPECT_LE(worst, c.max_error) << c.file;
    auto rgba = load_image_rgba_from_buffer(jpg.data(), jpg.size());
    ASSERT_TRUE(rgba.ok()) << c.file;
    EXPECT_EQ(rgba->at(10, 10).a, 255);
  }
}

TEST(ImageIoRoundTrip, EncodersRefuseInconsistentImages) {
  ImageU8 bad(4, 4);
  bad.pixels.resize(3);
  EXPECT_TRUE(encode_png_gray(bad).empty());
  EXPECT_TRUE(encode_png_gray(ImageU8()).empty());
  EXPECT_TRUE(encode_png_rgba(RgbaImage{2, 2, Bytes(15)}).empty());
  auto saved = save_png(::testing::TempDir() + "corona_bad.png", bad);
  ASSERT_FALSE(saved.ok());
  EXPECT_NE(saved.error().message.find("corona_bad.png"), std::string::npos);
  auto unwritable = save_png("/nonexistent-dir/x.png", ImageU8(2, 2));
  ASSERT_FALSE(unwritable.ok());
  EXPECT_NE(unwritable.error().message.find("/nonexistent-dir/x.png"), std::string::npos);
}

// ---- decode errors ----------------------------------------------------------------------------

Bytes png_header_only(std::uint32_t w, std::uint32_t h, int depth, int colour_type, std::size_t idat_bytes) {
  Bytes png = signature();
  Bytes ihdr;
  put_be32(&ihdr, w);
  put_be32(&ihdr, h);
  ihdr.insert(ihdr.end(), {static_cast<std::uint8_t>(depth), static_cast<std::uint8_t>(colour_type), 0, 0, 0});
  put_chunk(&png, "IHDR", ihdr);
  put_chunk(&png, "IDAT", Bytes(idat_bytes, 0));
  put_chunk(&png, "IEND", {});
  return png;
}

TEST(ImageIoDecode, ErrorPaths) {
  const Bytes slice = read_bytes(kFixtures + "tr_im_0032.png");
  ASSERT_GT(slice.size(), 100000u);
  const Bytes half(slice.begin(), slice.begin() + static_cast<std::ptrdiff_t>(slice.size() / 2));
  const Bytes cut(slice.begin(), slice.begin() + 200);
  // A 793-byte JPEG whose SOF0 claims 2048x2048: stb would zero-fill the missing scan data.
  Bytes jpeg_claims_big = read_bytes(kImages + "gradient_64x48_q95.jpg");
  std::size_t sof = 0;
  for (std::size_t i = 2; i + 9 < jpeg_claims_big.size(); ++i)
    if (jpeg_claims_big[i] == 0xFF && jpeg_claims_big[i + 1] == 0xC0) { sof = i; break; }
  ASSERT_GT(sof, 0u);
  jpeg_claims_big[sof + 5] = 0x08;  // height 0x0800
  jpeg_claims_big[sof + 6] = 0x00;
  jpeg_claims_big[sof + 7] = 0x08;  // width 0x0800
  jpeg_claims_big[sof + 8] = 0x00;
  const Bytes gif = {'G', 'I', 'F', '8', '9', 'a', 1, 0, 1, 0, 0, 0, 0};
  PngSpec gray_spec;
  gray_spec.width = 2;
  gray_spec.height = 2;
  gray_spec.samples = {1, 2, 3, 4};
  // Found by fuzzing: an IDAT length of 0x5100004b in a 150-byte file made stb realloc 1.3 GB.
  Bytes idat_claims_more = build_png(gray_spec);
  idat_claims_more[33] = 0x51;
  idat_claims_more[34] = 0x00;
  idat_claims_more[35] = 0x00;
  idat_claims_more[36] = 0x4b;

  // Found by fuzzing: a DHT declaring > 256 codes overflows stb 2.27's Huffman size table.
  Bytes jpeg_big_dht = read_bytes(kImages + "gradient_64x48_q95.jpg");
  std::size_t dht = 0;
  for (std::size_t i = 2; i + 20 < jpeg_big_dht.size(); ++i)
    if (jpeg_big_dht[i] == 0xFF && jpeg_big_dht[i + 1] == 0xC4) { dht = i; break; }
  ASSERT_GT(dht, 0u);
  jpeg_big_dht[dht + 5 + 15] = 0xF7;  // the 16-bit code count of the first table: now > 256 codes

  const struct { const char* name; Bytes bytes; const char* message; } cases[] = {
      {"empty", Bytes{}, "empty"},
      {"JPEG DHT over 256 codes", jpeg_big_dht, "at most 256 are valid"},
      {"GIF", gif, "found GIF"},
      {"NIfTI", nifti1_header(false), "found NIfTI-1"},
      {"text", Bytes{'n', 'o', 'p', 'e'}, "found unknown"},
      {"signature only", signature(), "PNG truncated"},
      {"truncated at 200 bytes", cut, "PNG truncated: chunk 'IDAT'"},
      {"truncated half", half, "PNG truncated: chunk 'IDAT'"},
      {"IDAT length beyond the file", idat_claims_more, "declares 1358954571 bytes"},
      {"corrupt zlib", png_with_idat(gray_spec, Bytes{0x78, 0x01, 0xFF, 0xFF, 0xFF}), "PNG decode failed"},
      {"absurd dims", png_header_only(100000, 100000, 8, 0, 10), "exceeds the limit"},
      {"too many pixels", png_header_only(16384, 8192, 1, 0, 10), "exceeds the limit"},
      {"zero width", png_header_only(0, 10, 8, 0, 10), "zero image dimension"},
      {"too large for byte count", png_header_only(16000, 4000, 8, 6, 100), "deflate"},
      {"bad colour type", png_header_only(4, 4, 8, 5, 10), "invalid colour type"},
      {"JPEG claims 2048x2048", jpeg_claims_big, "px per byte"},
      {"JPEG magic only", Bytes{0xFF, 0xD8, 0xFF, 0xE0, 0, 0}, "JPEG"},
  };
  for (const auto& c : cases) {
    auto gray = load_image_from_buffer(c.bytes.data(), c.bytes.size());
    ASSERT_FALSE(gray.ok()) << c.name;
    EXPECT_NE(gray.error().message.find(c.message), std::string::npos) << c.name << ": " << gray.error().message;
    EXPECT_FALSE(load_image_rgba_from_buffer(c.bytes.data(), c.bytes.size()).ok()) << c.name;
  }
  EXPECT_FALSE(load_image_from_buffer(nullptr, 0).ok());
  auto missing = load_image_from_file("/nonexistent/slice.png");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("/nonexistent/slice.png"), std::string::npos);
}

TEST(ImageIoDecode, ErrorsFromFilesNameThePath) {
  const std::string path = ::testing::TempDir() + "corona_not_an_image.png";
  { std::ofstream(path, std::ios::binary) << "GIF89a...."; }
  auto img = load_image_from_file(path);
  ASSERT_FALSE(img.ok());
  EXPECT_EQ(img.error().message.rfind(path + ": ", 0), 0u) << img.error().message;
  auto labels = load_label_png_from_file(path);
  ASSERT_FALSE(labels.ok());
  EXPECT_EQ(labels.error().message.rfind(path + ": ", 0), 0u) << labels.error().message;
  std::remove(path.c_str());
}

}  // namespace
}  // namespace corona
