// Tests for corona/nifti.h: hand-built NIfTI-1 headers (every datatype, both byte orders, sform /
// qform / no geometry), round trips through encode_nifti, and every error the loader names.
#include "corona/nifti.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#ifdef CORONA_HAVE_ZLIB
#include <zlib.h>
#endif

namespace corona {
namespace {

using Bytes = std::vector<std::uint8_t>;

// The header fields a test sets; everything else is zero as in a fresh nibabel header.
struct HeaderSpec {
  std::uint32_t sizeof_hdr = 348;
  std::array<int, 8> dim{3, 2, 2, 1, 1, 1, 1, 1};
  int datatype = 16;
  int bitpix = 32;
  std::array<float, 8> pixdim{1, 1, 1, 1, 1, 1, 1, 1};
  float vox_offset = 352;
  float scl_slope = 0;
  float scl_inter = 0;
  int xyzt_units = 2;
  int qform_code = 0;
  int sform_code = 0;
  std::array<float, 3> quatern{};
  std::array<float, 3> qoffset{};
  std::array<std::array<float, 4>, 3> srow{};
  std::string magic = std::string("n+1\0", 4);
  bool big_endian = false;
};

void put(Bytes* b, std::size_t off, const void* src, std::size_t n, bool big_endian) {
  const auto* p = static_cast<const std::uint8_t*>(src);
  for (std::size_t i = 0; i < n; ++i) (*b)[off + i] = big_endian ? p[n - 1 - i] : p[i];  // host is little-endian
}
void put_i16(Bytes* b, std::size_t off, int v, bool be) {
  const auto x = static_cast<std::int16_t>(v);
  put(b, off, &x, 2, be);
}
void put_f32(Bytes* b, std::size_t off, float v, bool be) { put(b, off, &v, 4, be); }

// A 352-byte header (348 + empty extension flag) followed by `data`, which is in the file's order.
Bytes build(const HeaderSpec& s, const Bytes& data = {}) {
  Bytes b(352, 0);
  const bool be = s.big_endian;
  put(&b, 0, &s.sizeof_hdr, 4, be);
  for (std::size_t i = 0; i < 8; ++i) {
    put_i16(&b, 40 + 2 * i, s.dim[i], be);
    put_f32(&b, 76 + 4 * i, s.pixdim[i], be);
  }
  put_i16(&b, 70, s.datatype, be);
  put_i16(&b, 72, s.bitpix, be);
  put_f32(&b, 108, s.vox_offset, be);
  put_f32(&b, 112, s.scl_slope, be);
  put_f32(&b, 116, s.scl_inter, be);
  b[123] = static_cast<std::uint8_t>(s.xyzt_units);
  put_i16(&b, 252, s.qform_code, be);
  put_i16(&b, 254, s.sform_code, be);
  for (std::size_t i = 0; i < 3; ++i) {
    put_f32(&b, 256 + 4 * i, s.quatern[i], be);
    put_f32(&b, 268 + 4 * i, s.qoffset[i], be);
    for (std::size_t j = 0; j < 4; ++j) put_f32(&b, 280 + 16 * i + 4 * j, s.srow[i][j], be);
  }
  std::memcpy(b.data() + 344, s.magic.data(), std::min<std::size_t>(4, s.magic.size()));
  b.insert(b.end(), data.begin(), data.end());
  return b;
}

Expected<NiftiImage> load(const Bytes& b) { return load_nifti_from_buffer(b.data(), b.size()); }

#ifdef CORONA_HAVE_ZLIB
Bytes gzip(const Bytes& in) {
  z_stream z{};
  deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  Bytes out(deflateBound(&z, static_cast<uLong>(in.size())) + 64);
  z.next_in = const_cast<Bytef*>(in.data());
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}
#endif

void expect_affine_near(const Affine& got, const std::array<double, 12>& want, double tol) {
  for (std::size_t i = 0; i < 12; ++i) EXPECT_NEAR(got.m[i], want[i], tol) << "affine element " << i;
  EXPECT_EQ(got(3, 0), 0.0);
  EXPECT_EQ(got(3, 3), 1.0);
}

// --- datatypes ----------------------------------------------------------------------------------

struct DatatypeCase {
  const char* name;
  int datatype;
  int bitpix;
  bool big_endian;
  Bytes data;  // four voxels, in the file's byte order
  std::array<float, 4> expected;
};

TEST(NiftiLoad, EveryDatatypeBothByteOrders) {
  const float inf = std::numeric_limits<float>::infinity();
  const DatatypeCase cases[] = {
      {"uint8", 2, 8, false, {0, 1, 254, 255}, {0, 1, 254, 255}},
      {"int8", 256, 8, false, {0x00, 0x7f, 0x80, 0xff}, {0, 127, -128, -1}},
      {"int16", 4, 16, false, {0x01, 0x00, 0xff, 0xff, 0x00, 0x80, 0xff, 0x7f}, {1, -1, -32768, 32767}},
      {"int16 BE", 4, 16, true, {0x00, 0x01, 0xff, 0xff, 0x80, 0x00, 0x7f, 0xff}, {1, -1, -32768, 32767}},
      {"uint16", 512, 16, false, {0x01, 0x00, 0xff, 0xff, 0x00, 0x80, 0x34, 0x12}, {1, 65535, 32768, 4660}},
      {"int32", 8, 32, false, {1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0x80, 0x10, 0x27, 0, 0},
       {1, -1, -2147483648.0f, 10000}},
      {"int32 BE", 8, 32, true, {0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0x80, 0, 0, 0, 0, 0, 0x27, 0x10},
       {1, -1, -2147483648.0f, 10000}},
      {"uint32", 768, 32, false, {0xff, 0xff, 0xff, 0xff, 0, 0, 1, 0, 7, 0, 0, 0, 0, 0, 0, 0},
       {4294967296.0f, 65536, 7, 0}},
      // 1.5 = 0x3fc00000, -2 = 0xc0000000, +Inf = 0x7f800000, 0.25 = 0x3e800000
      {"float32", 16, 32, false, {0, 0, 0xc0, 0x3f, 0, 0, 0, 0xc0, 0, 0, 0x80, 0x7f, 0, 0, 0x80, 0x3e},
       {1.5f, -2.0f, inf, 0.25f}},
      {"float32 BE", 16, 32, true, {0x3f, 0xc0, 0, 0, 0xc0, 0, 0, 0, 0x7f, 0x80, 0, 0, 0x3e, 0x80, 0, 0},
       {1.5f, -2.0f, inf, 0.25f}},
      // 1.5 = 0x3ff8.., -0.25 = 0xbfd0.., 1e300 (0x7e37e43c8800759c) overflows float, 3 = 0x4008..
      {"float64", 64, 64, false,
       {0, 0, 0, 0, 0, 0, 0xf8, 0x3f, 0, 0, 0, 0, 0, 0, 0xd0, 0xbf, 0x9c, 0x75, 0x00, 0x88, 0x3c, 0xe4, 0x37, 0x7e,
        0, 0, 0, 0, 0, 0, 0x08, 0x40},
       {1.5f, -0.25f, inf, 3.0f}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    HeaderSpec s;
    s.datatype = c.datatype;
    s.bitpix = c.bitpix;
    s.big_endian = c.big_endian;
    auto img = load(build(s, c.data));
    ASSERT_TRUE(img.ok()) << img.error().message;
    EXPECT_EQ(img->volume.nx, 2);
    EXPECT_EQ(img->volume.ny, 2);
    EXPECT_EQ(img->volume.nz, 1);
    EXPECT_EQ(img->header.byte_swapped, c.big_endian);
    EXPECT_EQ(img->header.datatype, c.datatype);
    ASSERT_EQ(img->volume.voxels.size(), 4u);
    for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(img->volume.voxels[i], c.expected[i]) << "voxel " << i;
  }
}

TEST(NiftiLoad, NanKeptInFloatData) {
  HeaderSpec s;
  s.dim = {3, 2, 1, 1, 1, 1, 1, 1};
  auto img = load(build(s, {0, 0, 0xc0, 0x7f, 0, 0, 0x80, 0xff}));  // quiet NaN, -Inf
  ASSERT_TRUE(img.ok()) << img.error().message;
  EXPECT_TRUE(std::isnan(img->volume.voxels[0]));
  EXPECT_EQ(img->volume.voxels[1], -std::numeric_limits<float>::infinity());
}

// --- scaling ------------------------------------------------------------------------------------

struct ScaleCase {
  const char* name;
  float slope;
  float inter;
  float expected;  // for a stored int16 value of 3
};

TEST(NiftiLoad, SclSlopeAndInter) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  const ScaleCase cases[] = {
      {"slope 2 inter 10", 2.0f, 10.0f, 16.0f},  {"slope 0.5 inter -1", 0.5f, -1.0f, 0.5f},
      {"slope -1", -1.0f, 0.0f, -3.0f},          {"slope 0 means unscaled", 0.0f, 5.0f, 3.0f},
      {"slope NaN means unscaled", nan, 5.0f, 3.0f}, {"slope Inf means unscaled", inf, 5.0f, 3.0f},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    HeaderSpec s;
    s.dim = {3, 1, 1, 1, 1, 1, 1, 1};
    s.datatype = 4;
    s.bitpix = 16;
    s.scl_slope = c.slope;
    s.scl_inter = c.inter;
    auto img = load(build(s, {3, 0}));
    ASSERT_TRUE(img.ok()) << img.error().message;
    EXPECT_FLOAT_EQ(img->volume.voxels[0], c.expected);
  }
}

// --- geometry -----------------------------------------------------------------------------------

struct GeometryCase {
  const char* name;
  HeaderSpec spec;
  std::array<double, 12> affine;  // first three rows, hand-computed
  std::array<double, 3> spacing;
};

HeaderSpec geometry_spec(int qform_code, int sform_code, float qfac, std::array<float, 3> quatern) {
  HeaderSpec s;
  s.dim = {3, 1, 1, 1, 1, 1, 1, 1};
  s.pixdim = {qfac, 2, 3, 4, 1, 1, 1, 1};
  s.qform_code = qform_code;
  s.sform_code = sform_code;
  s.quatern = quatern;
  s.qoffset = {10, 20, 30};
  s.srow = {{{-1, 0, 0, 5}, {0, 0, 2, 6}, {0, 3, 0, 7}}};
  return s;
}

TEST(NiftiLoad, AffineFromSformQformOrPixdim) {
  const float s45 = static_cast<float>(std::sqrt(0.5));  // quaternion of 90 degrees about an axis
  GeometryCase cases[] = {
      {"sform only", geometry_spec(0, 1, 1, {0, 0, 0}), {-1, 0, 0, 5, 0, 0, 2, 6, 0, 3, 0, 7}, {2, 3, 4}},
      {"sform wins over qform", geometry_spec(1, 2, 1, {0, 0, s45}), {-1, 0, 0, 5, 0, 0, 2, 6, 0, 3, 0, 7}, {2, 3, 4}},
      // R = [[0,-1,0],[1,0,0],[0,0,1]] times diag(2,3,4), offset qoffset
      {"qform 90 deg about z", geometry_spec(1, 0, 1, {0, 0, s45}), {0, -3, 0, 10, 2, 0, 0, 20, 0, 0, 4, 30}, {2, 3, 4}},
      {"qform qfac -1 flips z", geometry_spec(1, 0, -1, {0, 0, s45}), {0, -3, 0, 10, 2, 0, 0, 20, 0, 0, -4, 30}, {2, 3, 4}},
      // b = 1: a = 0, R = diag(1, -1, -1)
      {"qform 180 deg about x", geometry_spec(1, 0, 1, {1, 0, 0}), {2, 0, 0, 10, 0, -3, 0, 20, 0, 0, -4, 30}, {2, 3, 4}},
      {"no codes: diag(pixdim)", geometry_spec(0, 0, 1, {0, 0, s45}), {2, 0, 0, 0, 0, 3, 0, 0, 0, 0, 4, 0}, {2, 3, 4}},
  };
  // Units in meters: spacing and affine become mm.
  GeometryCase meters{"sform in meters", geometry_spec(0, 1, 1, {0, 0, 0}),
                      {-1000, 0, 0, 5000, 0, 0, 2000, 6000, 0, 3000, 0, 7000}, {2000, 3000, 4000}};
  meters.spec.xyzt_units = 1;
  GeometryCase microns{"no codes in microns", geometry_spec(0, 0, 1, {0, 0, 0}),
                       {0.002, 0, 0, 0, 0, 0.003, 0, 0, 0, 0, 0.004, 0}, {0.002, 0.003, 0.004}};
  microns.spec.xyzt_units = 3 | 8;  // time bits (seconds) do not matter
  GeometryCase zero_pixdim{"pixdim 0 and NaN read as 1, -4 as 4", geometry_spec(0, 0, 1, {0, 0, 0}),
                           {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 4, 0}, {1, 1, 4}};
  zero_pixdim.spec.pixdim = {1, 0, std::numeric_limits<float>::quiet_NaN(), -4, 1, 1, 1, 1};
  for (const auto* c : {&cases[0], &cases[1], &cases[2], &cases[3], &cases[4], &cases[5], &meters, &microns,
                        &zero_pixdim}) {
    SCOPED_TRACE(c->name);
    auto img = load(build(c->spec, {0, 0, 0, 0}));
    ASSERT_TRUE(img.ok()) << img.error().message;
    expect_affine_near(img->volume.affine, c->affine, 1e-6 * std::max(1.0, std::fabs(c->affine[3])));
    for (std::size_t i = 0; i < 3; ++i) EXPECT_NEAR(img->volume.spacing[i], c->spacing[i], 1e-9);
  }
}

TEST(NiftiLoad, TwoDimensionalAndTrailingUnitDims) {
  struct Case {
    const char* name;
    std::array<int, 8> dim;
    int nx, ny, nz;
  };
  const Case cases[] = {
      {"2D", {2, 3, 2, 0, 0, 0, 0, 0}, 3, 2, 1},  // dims past dim[0] are not read
      {"1D", {1, 6, 0, 0, 0, 0, 0, 0}, 6, 1, 1},
      {"4D with one frame", {4, 3, 2, 1, 1, 1, 1, 1}, 3, 2, 1},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    HeaderSpec s;
    s.dim = c.dim;
    s.datatype = 2;
    s.bitpix = 8;
    auto img = load(build(s, {1, 2, 3, 4, 5, 6}));
    ASSERT_TRUE(img.ok()) << img.error().message;
    EXPECT_EQ(img->volume.nx, c.nx);
    EXPECT_EQ(img->volume.ny, c.ny);
    EXPECT_EQ(img->volume.nz, c.nz);
    EXPECT_EQ(img->volume.voxels, (std::vector<float>{1, 2, 3, 4, 5, 6}));
  }
}

TEST(NiftiLoad, HeaderInfoFields) {
  HeaderSpec s = geometry_spec(1, 2, -1, {0, 0, 0.5f});
  s.scl_slope = 2;
  s.scl_inter = 1;
  s.big_endian = true;
  Bytes b = build(s, {0, 0, 0, 0});
  std::memcpy(b.data() + 148, "made by hand", 12);
  auto img = load(b);
  ASSERT_TRUE(img.ok()) << img.error().message;
  const NiftiHeaderInfo& h = img->header;
  EXPECT_EQ(h.ndim, 3);
  EXPECT_EQ(h.dim[1], 1);
  EXPECT_EQ(h.pixdim[0], -1.0f);
  EXPECT_EQ(h.bitpix, 32);
  EXPECT_EQ(h.vox_offset, 352.0);
  EXPECT_EQ(h.scl_slope, 2.0f);
  EXPECT_EQ(h.scl_inter, 1.0f);
  EXPECT_EQ(h.qform_code, 1);
  EXPECT_EQ(h.sform_code, 2);
  EXPECT_EQ(h.xyzt_units, 2);
  EXPECT_EQ(h.quatern[2], 0.5f);
  EXPECT_EQ(h.qoffset[1], 20.0f);
  EXPECT_EQ(h.srow[1][2], 2.0f);
  EXPECT_EQ(h.descrip, "made by hand");
  EXPECT_TRUE(h.byte_swapped);
  EXPECT_FALSE(h.gzipped);
}

// --- errors -------------------------------------------------------------------------------------

struct ErrorCase {
  const char* name;
  Bytes bytes;
  const char* message_part;
};

HeaderSpec with(void (*edit)(HeaderSpec*)) {
  HeaderSpec s;
  edit(&s);
  return s;
}

TEST(NiftiLoad, ErrorsNameTheProblem) {
  const Bytes data16(16, 0);  // 2x2x1 float32
  const ErrorCase cases[] = {
      {"empty", {}, "empty NIfTI buffer"},
      {"100 bytes", Bytes(100, 0), "too short: 100 bytes"},
      {"wrong magic", build(with([](HeaderSpec* s) { s->magic = "abc"; }), data16), "bad NIfTI-1 magic"},
      {"hdr/img pair", build(with([](HeaderSpec* s) { s->magic = std::string("ni1\0", 4); }), data16),
       "header/image pair"},
      {"NIfTI-2", build(with([](HeaderSpec* s) { s->sizeof_hdr = 540; }), data16), "NIfTI-2 not supported"},
      {"NIfTI-2 big-endian", build(with([](HeaderSpec* s) { s->sizeof_hdr = 540; s->big_endian = true; }), data16),
       "NIfTI-2 not supported"},
      {"sizeof_hdr 1234", build(with([](HeaderSpec* s) { s->sizeof_hdr = 1234; }), data16), "sizeof_hdr"},
      {"dim[0] 0", build(with([](HeaderSpec* s) { s->dim[0] = 0; }), data16), "dim[0]"},
      {"dim[0] 8", build(with([](HeaderSpec* s) { s->dim[0] = 8; }), data16), "dim[0]"},
      {"dim[1] 0", build(with([](HeaderSpec* s) { s->dim[1] = 0; }), data16), "dim[1] (offset 42) is 0"},
      {"dim[3] negative", build(with([](HeaderSpec* s) { s->dim[3] = -3; }), data16), "dim[3] (offset 46) is -3"},
      {"4D", build(with([](HeaderSpec* s) { s->dim = {4, 2, 2, 1, 2, 1, 1, 1}; }), data16), "4D+"},
      {"huge dims product", build(with([](HeaderSpec* s) {
         s->dim = {3, 32767, 32767, 32767, 1, 1, 1, 1};
         s->datatype = 64;
       }), data16), "over the cap"},
      {"complex64", build(with([](HeaderSpec* s) { s->datatype = 32; }), data16), "datatype 32 (complex64)"},
      {"RGB24", build(with([](HeaderSpec* s) { s->datatype = 128; }), data16), "datatype 128 (RGB24)"},
      {"vox_offset small", build(with([](HeaderSpec* s) { s->vox_offset = 100; }), data16), "vox_offset"},
      {"vox_offset NaN", build(with([](HeaderSpec* s) { s->vox_offset = std::nanf(""); }), data16), "vox_offset"},
      {"vox_offset beyond end", build(with([](HeaderSpec* s) { s->vox_offset = 10000; }), data16),
       "vox_offset 10000 (offset 108) is beyond the end of the 368-byte file"},
      {"data truncated", build(HeaderSpec{}, Bytes(15, 0)), "truncated: 16 bytes needed at vox_offset 352"},
      {"scl_inter Inf", build(with([](HeaderSpec* s) {
         s->scl_slope = 1;
         s->scl_inter = std::numeric_limits<float>::infinity();
       }), data16), "scl_inter"},
      {"sform NaN", build(with([](HeaderSpec* s) {
         s->sform_code = 1;
         s->srow[0][0] = std::nanf("");
       }), data16), "sform"},
#ifndef CORONA_HAVE_ZLIB
      {"gzip without zlib", {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3}, "decompress it first"},
#endif
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto img = load(c.bytes);
    ASSERT_FALSE(img.ok());
    EXPECT_NE(img.error().message.find(c.message_part), std::string::npos) << img.error().message;
  }
}

TEST(NiftiLoad, MaxVoxelBytesOption) {
  NiftiLoadOptions options;
  options.max_voxel_bytes = 15;  // a 2x2x1 float volume needs 16
  const Bytes b = build(HeaderSpec{}, Bytes(16, 0));
  auto img = load_nifti_from_buffer(b.data(), b.size(), options);
  ASSERT_FALSE(img.ok());
  EXPECT_NE(img.error().message.find("over the cap of 15"), std::string::npos) << img.error().message;
  options.max_voxel_bytes = 16;
  EXPECT_TRUE(load_nifti_from_buffer(b.data(), b.size(), options).ok());
}

TEST(NiftiLoad, MissingFile) {
  auto img = load_nifti_from_file(::testing::TempDir() + "/does_not_exist.nii");
  ASSERT_FALSE(img.ok());
  EXPECT_NE(img.error().message.find("cannot read NIfTI file: cannot open"), std::string::npos);
}

#ifdef CORONA_HAVE_ZLIB
TEST(NiftiLoad, GzipValidAndErrors) {
  HeaderSpec s;
  s.datatype = 4;
  s.bitpix = 16;
  const Bytes plain = build(s, {1, 0, 2, 0, 3, 0, 0xff, 0xff});
  const Bytes gz = gzip(plain);
  auto ok = load(gz);
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_TRUE(ok->header.gzipped);
  EXPECT_EQ(ok->volume.voxels, (std::vector<float>{1, 2, 3, -1}));

  // Two gzip members back to back (pigz, bgzip) inflate to one file.
  Bytes two_members = gzip(Bytes(plain.begin(), plain.begin() + 100));
  const Bytes second = gzip(Bytes(plain.begin() + 100, plain.end()));
  two_members.insert(two_members.end(), second.begin(), second.end());
  auto joined = load(two_members);
  ASSERT_TRUE(joined.ok()) << joined.error().message;
  EXPECT_EQ(joined->volume.voxels, (std::vector<float>{1, 2, 3, -1}));

  HeaderSpec bomb;
  bomb.dim = {3, 512, 512, 512, 1, 1, 1, 1};  // 512 MiB as float: under the cap, far over 1032:1
  HeaderSpec huge;
  huge.dim = {3, 32767, 32767, 32767, 1, 1, 1, 1};
  Bytes garbage = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  const ErrorCase cases[] = {
      {"truncated mid-stream", Bytes(gz.begin(), gz.begin() + static_cast<std::ptrdiff_t>(gz.size() / 2)),
       "truncated gzip stream"},
      {"only the gzip header", Bytes(gz.begin(), gz.begin() + 10), "truncated gzip stream"},
      {"corrupt deflate data", garbage, "corrupt gzip stream"},
      {"inflates to 100 bytes", gzip(Bytes(100, 0)), "inflates to 100 bytes"},
      {"gzip bomb", gzip(build(bomb)), "gzip bomb"},
      {"huge dims inside gzip", gzip(build(huge)), "over the cap"},
      {"data truncated inside gzip", gzip(build(s, {1, 0, 2, 0})), "truncated: 8 bytes needed"},
      {"NIfTI-2 inside gzip", gzip(build(with([](HeaderSpec* h) { h->sizeof_hdr = 540; }), Bytes(16, 0))),
       "NIfTI-2 not supported"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto img = load(c.bytes);
    ASSERT_FALSE(img.ok());
    EXPECT_NE(img.error().message.find(c.message_part), std::string::npos) << img.error().message;
  }
}
#endif

// --- writing ------------------------------------------------------------------------------------

// An oblique affine: 30 degrees about z, spacing (0.8, 0.8, 2.5), translated.
Affine oblique_affine(bool flip_x) {
  const double c = std::sqrt(3.0) / 2.0, s = 0.5;
  const double fx = flip_x ? -1.0 : 1.0;
  Affine a;
  a.m = {fx * 0.8 * c, -0.8 * s, 0, -100.5, fx * 0.8 * s, 0.8 * c, 0, 40.25, 0, 0, 2.5, 7, 0, 0, 0, 1};
  return a;
}

VolumeF sample_volume() {
  VolumeF v(3, 2, 2);
  for (std::size_t i = 0; i < v.voxels.size(); ++i) v.voxels[i] = static_cast<float>(i) * 1.25f - 3.0f;
  v.voxels[5] = std::numeric_limits<float>::quiet_NaN();
  v.affine = oblique_affine(false);
  return v;
}

void expect_same_geometry(const VolumeF& got, const Affine& want) {
  for (std::size_t i = 0; i < 12; ++i) EXPECT_NEAR(got.affine.m[i], want.m[i], 1e-5) << "affine element " << i;
  for (int j = 0; j < 3; ++j) {
    const double norm = std::sqrt(want(0, j) * want(0, j) + want(1, j) * want(1, j) + want(2, j) * want(2, j));
    EXPECT_NEAR(got.spacing[static_cast<std::size_t>(j)], norm, 1e-6);
  }
}

// Reload with sform_code cleared, so the affine comes from the quaternion we wrote.
Expected<NiftiImage> load_qform_only(Bytes bytes) {
  bytes[254] = 0;
  bytes[255] = 0;
  return load(bytes);
}

TEST(NiftiWrite, FloatRoundTripSformAndQform) {
  for (bool flip : {false, true}) {
    SCOPED_TRACE(flip ? "left-handed (qfac -1)" : "right-handed");
    VolumeF v = sample_volume();
    v.affine = oblique_affine(flip);
    NiftiWriteOptions options;
    options.descrip = "round trip";
    auto bytes = encode_nifti(v, options);
    ASSERT_TRUE(bytes.ok()) << bytes.error().message;
    EXPECT_EQ(bytes->size(), 352u + 12u * 4u);
    auto img = load(*bytes);
    ASSERT_TRUE(img.ok()) << img.error().message;
    EXPECT_EQ(img->volume.nx, 3);
    EXPECT_EQ(img->volume.ny, 2);
    EXPECT_EQ(img->volume.nz, 2);
    for (std::size_t i = 0; i < v.voxels.size(); ++i) {
      if (i == 5) EXPECT_TRUE(std::isnan(img->volume.voxels[i]));
      else EXPECT_EQ(img->volume.voxels[i], v.voxels[i]) << "voxel " << i;
    }
    EXPECT_EQ(img->header.sform_code, 1);
    EXPECT_EQ(img->header.qform_code, 1);
    EXPECT_EQ(img->header.xyzt_units, 2);
    EXPECT_EQ(img->header.pixdim[0], flip ? -1.0f : 1.0f);
    EXPECT_EQ(img->header.descrip, "round trip");
    expect_same_geometry(img->volume, v.affine);
    auto from_qform = load_qform_only(*bytes);
    ASSERT_TRUE(from_qform.ok()) << from_qform.error().message;
    expect_same_geometry(from_qform->volume, v.affine);
  }
}

TEST(NiftiWrite, QformDropsShear) {
  VolumeF v(1, 1, 1);
  v.affine.m = {2, 0.5, 0, 0, 0, 3, 0, 0, 0, 0, 4, 0, 0, 0, 0, 1};  // x-y shear
  auto bytes = encode_nifti(v);
  ASSERT_TRUE(bytes.ok()) << bytes.error().message;
  auto img = load_qform_only(*bytes);
  ASSERT_TRUE(img.ok()) << img.error().message;
  // Column norms are (2, sqrt(9.25), 4); the closest rotation of the normalised columns turns
  // each by half the angle between them, so the qform is orthogonal with those zooms.
  const Affine& a = img->volume.affine;
  const double dot01 = a(0, 0) * a(0, 1) + a(1, 0) * a(1, 1) + a(2, 0) * a(2, 1);
  EXPECT_NEAR(dot01, 0.0, 1e-5);
  EXPECT_NEAR(img->volume.spacing[1], std::sqrt(9.25), 1e-6);
  const double norm1 = std::sqrt(a(0, 1) * a(0, 1) + a(1, 1) * a(1, 1) + a(2, 1) * a(2, 1));
  EXPECT_NEAR(norm1, std::sqrt(9.25), 1e-5);
}

struct IntegerCase {
  const char* name;
  int datatype;
  float slope;
  float inter;
  std::array<float, 4> in;
  std::array<float, 4> expected;  // what reading back gives, after scaling
};

TEST(NiftiWrite, IntegerDatatypesRoundAndClamp) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const IntegerCase cases[] = {
      {"uint8", 2, 1, 0, {-5, 2.5f, 300, nan}, {0, 3, 255, 0}},
      {"int8", 256, 1, 0, {-200, -2.5f, 1.4f, 127}, {-128, -3, 1, 127}},
      {"int16 scaled", 4, 0.5f, 10, {10, 10.5f, 11.2f, -1e9f}, {10, 10.5f, 11, -16374}},
      {"uint16", 512, 1, 0, {-1, 65535.4f, 70000, 1.5f}, {0, 65535, 65535, 2}},
      {"int32", 8, 1, 0, {-3e9f, 3e9f, -7.5f, 0}, {-2147483648.0f, 2147483647.0f, -8, 0}},
      {"uint32", 768, 1, 0, {-1, 5e9f, 16777216, 0.49f}, {0, 4294967295.0f, 16777216, 0}},
      {"float64 scaled", 64, 2, 1, {3, -1, 0.5f, 1e30f}, {3, -1, 0.5f, 1e30f}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    VolumeF v(2, 2, 1);
    std::copy(c.in.begin(), c.in.end(), v.voxels.begin());
    NiftiWriteOptions options;
    options.datatype = c.datatype;
    options.scl_slope = c.slope;
    options.scl_inter = c.inter;
    auto bytes = encode_nifti(v, options);
    ASSERT_TRUE(bytes.ok()) << bytes.error().message;
    auto img = load(*bytes);
    ASSERT_TRUE(img.ok()) << img.error().message;
    EXPECT_EQ(img->header.datatype, c.datatype);
    for (std::size_t i = 0; i < 4; ++i) EXPECT_FLOAT_EQ(img->volume.voxels[i], c.expected[i]) << "voxel " << i;
  }
}

TEST(NiftiWrite, LabelsRoundTrip) {
  LabelVolume labels(2, 2, 2);
  const std::vector<std::uint8_t> values = {0, 1, 2, 3, 0, 0, kIgnoreLabel, 1};
  labels.voxels = values;
  labels.affine = oblique_affine(true);
  NiftiWriteOptions options;
  options.datatype = kNiftiFloat64;  // ignored for labels
  auto bytes = encode_nifti(labels, options);
  ASSERT_TRUE(bytes.ok()) << bytes.error().message;
  EXPECT_EQ(bytes->size(), 352u + 8u);
  auto img = load(*bytes);
  ASSERT_TRUE(img.ok()) << img.error().message;
  EXPECT_EQ(img->header.datatype, kNiftiUint8);
  EXPECT_EQ(img->header.bitpix, 8);
  for (std::size_t i = 0; i < values.size(); ++i) EXPECT_EQ(img->volume.voxels[i], values[i]);
  expect_same_geometry(img->volume, labels.affine);
}

TEST(NiftiWrite, TwoDimensionalOption) {
  LabelVolume slice(3, 2, 1);
  slice.voxels = {0, 1, 2, 3, 1, 0};
  NiftiWriteOptions options;
  options.ndim = 2;
  auto bytes = encode_nifti(slice, options);
  ASSERT_TRUE(bytes.ok()) << bytes.error().message;
  EXPECT_EQ((*bytes)[40], 2);  // dim[0], little-endian int16 at offset 40
  EXPECT_EQ((*bytes)[41], 0);
  auto img = load(*bytes);
  ASSERT_TRUE(img.ok()) << img.error().message;
  EXPECT_EQ(img->header.ndim, 2);
  EXPECT_EQ(img->volume.nz, 1);
  for (std::size_t i = 0; i < slice.voxels.size(); ++i) EXPECT_EQ(img->volume.voxels[i], slice.voxels[i]);

  LabelVolume two_slices(3, 2, 2);
  auto refused = encode_nifti(two_slices, options);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("nz must be 1"), std::string::npos) << refused.error().message;
  options.ndim = 4;
  auto bad = encode_nifti(slice, options);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("ndim must be 2 or 3"), std::string::npos) << bad.error().message;
}

TEST(NiftiWrite, SaveAndLoadFiles) {
  const std::string dir = ::testing::TempDir();
  const VolumeF v = sample_volume();
  LabelVolume labels(3, 1, 1);
  labels.voxels = {0, 4, 255};
  struct Case {
    const char* file;
    bool labels;
    bool gzipped;
  };
  const Case cases[] = {
      {"corona_nifti_test_f.nii", false, false},
      {"corona_nifti_test_l.nii", true, false},
#ifdef CORONA_HAVE_ZLIB
      {"corona_nifti_test_f.nii.gz", false, true},
      {"corona_nifti_test_l.nii.gz", true, true},
#endif
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.file);
    const std::string path = dir + "/" + c.file;
    auto saved = c.labels ? save_nifti_to_file(path, labels) : save_nifti_to_file(path, v);
    ASSERT_TRUE(saved.ok()) << saved.error().message;
    auto img = load_nifti_from_file(path);
    ASSERT_TRUE(img.ok()) << img.error().message;
    EXPECT_EQ(img->header.gzipped, c.gzipped);
    if (c.labels) {
      EXPECT_EQ(img->volume.voxels, (std::vector<float>{0, 4, 255}));
    } else {
      EXPECT_EQ(img->volume.voxels[0], v.voxels[0]);
      EXPECT_EQ(img->volume.voxels[11], v.voxels[11]);
      expect_same_geometry(img->volume, v.affine);
    }
    std::remove(path.c_str());
  }
#ifndef CORONA_HAVE_ZLIB
  auto saved = save_nifti_to_file(dir + "/corona_nifti_test.nii.gz", v);
  ASSERT_FALSE(saved.ok());
  EXPECT_NE(saved.error().message.find("no zlib"), std::string::npos);
#endif
}

TEST(NiftiWrite, ErrorsNameTheProblem) {
  VolumeF mismatched(2, 2, 2);
  mismatched.voxels.pop_back();
  VolumeF zero_column(2, 2, 2);
  zero_column.affine(1, 1) = 0;
  VolumeF too_wide(40000, 1, 1);
  VolumeF empty;
  NiftiWriteOptions complex_type;
  complex_type.datatype = 32;
  NiftiWriteOptions zero_slope;
  zero_slope.scl_slope = 0;
  struct Case {
    const char* name;
    const VolumeF* volume;
    NiftiWriteOptions options;
    const char* message_part;
  };
  const VolumeF ok(1, 1, 1);
  const Case cases[] = {
      {"voxel count", &mismatched, {}, "7 voxels do not match dims 2x2x2"},
      {"zero affine column", &zero_column, {}, "affine column 1 is zero"},
      {"dims over int16", &too_wide, {}, "must each be 1..32767"},
      {"empty volume", &empty, {}, "must each be 1..32767"},
      {"complex datatype", &ok, complex_type, "datatype 32"},
      {"zero slope", &ok, zero_slope, "scl_slope"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto bytes = encode_nifti(*c.volume, c.options);
    ASSERT_FALSE(bytes.ok());
    EXPECT_NE(bytes.error().message.find(c.message_part), std::string::npos) << bytes.error().message;
  }
}

}  // namespace
}  // namespace corona
