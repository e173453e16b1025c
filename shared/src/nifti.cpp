// NIfTI-1 reader and writer. Every size derived from the header is computed in std::uint64_t and
// checked against the bytes we actually hold before anything is allocated: this code is fuzzed.
#include "corona/nifti.h"

#include "corona/file_io.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>

#ifdef CORONA_HAVE_ZLIB
#include <zlib.h>
#endif

namespace corona {
namespace {

constexpr std::size_t kHeaderSize = 348;
constexpr std::uint32_t kVoxOffsetMin = 352;
constexpr std::uint32_t kNifti2HeaderSize = 540;
// Room for header extensions when bounding a whole file by its voxel cap.
constexpr std::uint64_t kExtensionAllowance = std::uint64_t{64} << 20;

std::string num(std::uint64_t v) { return std::to_string(v); }

// ---------------------------------------------------------------------------------------------
// Reading fields. The file's byte order is explicit, so the host's never matters.

struct Reader {
  const std::uint8_t* data;
  bool big_endian;

  std::uint32_t u32(std::size_t off) const {
    const std::uint8_t* p = data + off;
    if (big_endian) {
      return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
    }
    return (std::uint32_t{p[3]} << 24) | (std::uint32_t{p[2]} << 16) | (std::uint32_t{p[1]} << 8) | p[0];
  }
  std::uint16_t u16(std::size_t off) const {
    const std::uint8_t* p = data + off;
    return big_endian ? static_cast<std::uint16_t>((p[0] << 8) | p[1])
                      : static_cast<std::uint16_t>((p[1] << 8) | p[0]);
  }
  std::uint64_t u64(std::size_t off) const {
    const std::uint64_t a = u32(off);
    const std::uint64_t b = u32(off + 4);
    return big_endian ? (a << 32) | b : (b << 32) | a;
  }
  std::int16_t i16(std::size_t off) const { return static_cast<std::int16_t>(u16(off)); }
  std::int32_t i32(std::size_t off) const { return static_cast<std::int32_t>(u32(off)); }
  float f32(std::size_t off) const {
    const std::uint32_t bits = u32(off);
    float f;
    std::memcpy(&f, &bits, sizeof f);
    return f;
  }
  double f64(std::size_t off) const {
    const std::uint64_t bits = u64(off);
    double d;
    std::memcpy(&d, &bits, sizeof d);
    return d;
  }
};

std::uint32_t byte_swap32(std::uint32_t v) {
  return (v >> 24) | ((v >> 8) & 0xff00u) | ((v << 8) & 0xff0000u) | (v << 24);
}

// Bytes per voxel for the datatypes we decode; 0 for any other code.
int bytes_per_voxel(int datatype) {
  switch (datatype) {
    case kNiftiUint8:
    case kNiftiInt8: return 1;
    case kNiftiInt16:
    case kNiftiUint16: return 2;
    case kNiftiInt32:
    case kNiftiUint32:
    case kNiftiFloat32: return 4;
    case kNiftiFloat64: return 8;
    default: return 0;
  }
}

std::string datatype_name(int datatype) {
  switch (datatype) {
    case 1: return "binary";
    case 32: return "complex64";
    case 128: return "RGB24";
    case 1024: return "int64";
    case 1280: return "uint64";
    case 1536: return "float128";
    case 1792: return "complex128";
    case 2048: return "complex256";
    case 2304: return "RGBA32";
    default: return "unknown";
  }
}

// ---------------------------------------------------------------------------------------------
// Header parsing and geometry.

// The validated header plus the layout the voxel decoder needs.
struct Layout {
  NiftiHeaderInfo info;
  int nx = 1, ny = 1, nz = 1;
  std::uint64_t voxel_count = 0;
  std::uint64_t data_offset = 0;
  std::uint64_t data_bytes = 0;
};

Expected<bool> detect_byte_order(const std::uint8_t* data, bool* big_endian) {
  const std::uint32_t le = Reader{data, false}.u32(0);
  if (le == kHeaderSize || byte_swap32(le) == kHeaderSize) {
    *big_endian = le != kHeaderSize;
    return true;
  }
  if (le == kNifti2HeaderSize || byte_swap32(le) == kNifti2HeaderSize) {
    return make_error("NIfTI-2 not supported (sizeof_hdr 540 at offset 0); convert it to NIfTI-1");
  }
  return make_error("not a NIfTI-1 file: sizeof_hdr at offset 0 is " + num(le) + " (expected 348)");
}

Expected<bool> check_magic(const std::uint8_t* data) {
  const char* magic = reinterpret_cast<const char*>(data + 344);
  if (std::memcmp(magic, "n+1\0", 4) == 0) return true;
  if (std::memcmp(magic, "ni1\0", 4) == 0) {
    return make_error("NIfTI-1 header/image pair (magic \"ni1\" at offset 344) not supported: "
                      "convert the .hdr/.img pair to a single .nii file");
  }
  return make_error("bad NIfTI-1 magic at offset 344 (expected \"n+1\"); ANALYZE 7.5 is not supported");
}

void read_fields(const Reader& r, NiftiHeaderInfo* h) {
  for (std::size_t i = 0; i < 8; ++i) {
    h->dim[i] = r.i16(40 + 2 * i);
    h->pixdim[i] = r.f32(76 + 4 * i);
  }
  h->ndim = static_cast<int>(h->dim[0]);
  h->datatype = r.i16(70);
  h->bitpix = r.i16(72);
  h->vox_offset = r.f32(108);
  h->scl_slope = r.f32(112);
  h->scl_inter = r.f32(116);
  h->xyzt_units = r.data[123];
  h->qform_code = r.i16(252);
  h->sform_code = r.i16(254);
  for (std::size_t i = 0; i < 3; ++i) {
    h->quatern[i] = r.f32(256 + 4 * i);
    h->qoffset[i] = r.f32(268 + 4 * i);
    for (std::size_t j = 0; j < 4; ++j) h->srow[i][j] = r.f32(280 + 16 * i + 4 * j);
  }
  const char* descrip = reinterpret_cast<const char*>(r.data + 148);
  h->descrip.assign(descrip, std::find(descrip, descrip + 80, '\0'));
}

// dims: 1..7 dimensions, each >= 1, nothing beyond the third larger than 1.
Expected<bool> check_dims(const NiftiHeaderInfo& h) {
  if (h.ndim < 1 || h.ndim > 7) {
    return make_error("NIfTI dim[0] (offset 40) is " + std::to_string(h.ndim) + ", expected 1..7");
  }
  for (int i = 1; i <= h.ndim; ++i) {
    if (h.dim[static_cast<std::size_t>(i)] < 1) {
      return make_error("NIfTI dim[" + std::to_string(i) + "] (offset " + std::to_string(40 + 2 * i) + ") is " +
                        std::to_string(h.dim[static_cast<std::size_t>(i)]) + ", expected >= 1");
    }
    if (i > 3 && h.dim[static_cast<std::size_t>(i)] > 1) {
      return make_error("NIfTI dim[" + std::to_string(i) + "] is " + std::to_string(h.dim[static_cast<std::size_t>(i)]) +
                        ": only 2D and 3D volumes are supported (4D+ series are not)");
    }
  }
  return true;
}

// Voxel count and byte sizes in uint64: int16 dims cannot overflow it, but we still check the
// caller's cap before anything is allocated.
Expected<bool> compute_sizes(Layout* L, const NiftiLoadOptions& options) {
  const NiftiHeaderInfo& h = L->info;
  L->nx = static_cast<int>(h.dim[1]);
  L->ny = h.ndim >= 2 ? static_cast<int>(h.dim[2]) : 1;
  L->nz = h.ndim >= 3 ? static_cast<int>(h.dim[3]) : 1;
  L->voxel_count = std::uint64_t(L->nx) * std::uint64_t(L->ny) * std::uint64_t(L->nz);
  const int bpv = bytes_per_voxel(h.datatype);
  if (bpv == 0) {
    return make_error("unsupported NIfTI datatype " + std::to_string(h.datatype) + " (" +
                      datatype_name(h.datatype) + ") at offset 70; supported: uint8, int8, int16, "
                      "uint16, int32, uint32, float32, float64");
  }
  L->data_bytes = L->voxel_count * std::uint64_t(bpv);
  const std::uint64_t out_bytes = L->voxel_count * sizeof(float);
  if (out_bytes > options.max_voxel_bytes || L->voxel_count > std::numeric_limits<std::size_t>::max() / 8) {
    return make_error("NIfTI volume " + num(std::uint64_t(L->nx)) + "x" + num(std::uint64_t(L->ny)) + "x" +
                      num(std::uint64_t(L->nz)) + " needs " + num(out_bytes) + " bytes as float, over the cap of " +
                      num(options.max_voxel_bytes));
  }
  if (!std::isfinite(h.vox_offset) || h.vox_offset < kVoxOffsetMin || h.vox_offset > 4.0e9) {
    return make_error("NIfTI vox_offset (offset 108) is " + std::to_string(h.vox_offset) +
                      ", expected >= 352 for a single .nii file");
  }
  L->data_offset = static_cast<std::uint64_t>(h.vox_offset);
  return true;
}

// Parse and validate the 348-byte header (the caller guarantees 348 readable bytes).
Expected<Layout> parse_header(const std::uint8_t* data, const NiftiLoadOptions& options) {
  Layout L;
  bool big_endian = false;
  if (auto order = detect_byte_order(data, &big_endian); !order) return order.error();
  if (auto magic = check_magic(data); !magic) return magic.error();
  const Reader r{data, big_endian};
  L.info.byte_swapped = big_endian;
  read_fields(r, &L.info);
  if (auto dims = check_dims(L.info); !dims) return dims.error();
  if (auto sizes = compute_sizes(&L, options); !sizes) return sizes.error();
  return L;
}

// The most bytes a whole file may hold: float64 voxels at the cap plus extensions, and never more
// than half the address space (wasm32 has 4 GiB of it).
std::uint64_t file_byte_cap(const NiftiLoadOptions& options) {
  const std::uint64_t address_cap = std::numeric_limits<std::size_t>::max() / 2;
  if (options.max_voxel_bytes > address_cap) return address_cap;
  return std::min(address_cap, options.max_voxel_bytes * 2 + kExtensionAllowance);
}

// Millimetres per unit of xyzt_units (bits 0..2); unknown (0) is read as mm.
double spatial_unit_to_mm(int xyzt_units) {
  switch (xyzt_units & 0x07) {
    case 1: return 1000.0;   // meters
    case 3: return 0.001;    // microns
    default: return 1.0;
  }
}

double usable_pixdim(float p) {
  return std::isfinite(p) && p != 0.0f ? std::fabs(static_cast<double>(p)) : 1.0;
}

Affine sform_affine(const NiftiHeaderInfo& h) {
  Affine a;
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 4; ++j) a(i, j) = h.srow[static_cast<std::size_t>(i)][static_cast<std::size_t>(j)];
  }
  return a;
}

// Quaternion to matrix as nifti1_io's nifti_quatern_to_mat44 does it: a is recovered from b, c, d;
// pixdim <= 0 reads as 1; qfac < 0 flips the third axis.
Affine qform_affine(const NiftiHeaderInfo& h) {
  double b = h.quatern[0], c = h.quatern[1], d = h.quatern[2];
  double a = 1.0 - (b * b + c * c + d * d);
  if (a < 1e-7) {  // b, c, d describe a 180-degree turn (or slightly more): renormalise them
    const double norm = std::sqrt(b * b + c * c + d * d);
    if (norm > 0.0) {
      b /= norm; c /= norm; d /= norm;
    }
    a = 0.0;
  } else {
    a = std::sqrt(a);
  }
  const auto positive = [](float p) { return p > 0.0f ? static_cast<double>(p) : 1.0; };
  const double dx = positive(h.pixdim[1]), dy = positive(h.pixdim[2]);
  const double dz = positive(h.pixdim[3]) * (h.pixdim[0] < 0.0f ? -1.0 : 1.0);
  const double R[3][3] = {{a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c)},
                          {2 * (b * c + a * d), a * a + c * c - b * b - d * d, 2 * (c * d - a * b)},
                          {2 * (b * d - a * c), 2 * (c * d + a * b), a * a + d * d - c * c - b * b}};
  const double scale[3] = {dx, dy, dz};
  Affine m;
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) m(i, j) = R[i][j] * scale[j];
    m(i, 3) = h.qoffset[static_cast<std::size_t>(i)];
  }
  return m;
}

Affine pixdim_affine(const NiftiHeaderInfo& h) {
  Affine a;
  for (int i = 0; i < 3; ++i) a(i, i) = usable_pixdim(h.pixdim[static_cast<std::size_t>(i) + 1]);
  return a;
}

// Geometry in mm: spacing from pixdim, affine from sform / qform / pixdim in that order.
Expected<bool> set_geometry(const NiftiHeaderInfo& h, VolumeF* v) {
  const double to_mm = spatial_unit_to_mm(h.xyzt_units);
  for (std::size_t i = 0; i < 3; ++i) v->spacing[i] = usable_pixdim(h.pixdim[i + 1]) * to_mm;
  const char* source = "sform (srow_x/y/z, offset 280)";
  if (h.sform_code > 0) {
    v->affine = sform_affine(h);
  } else if (h.qform_code > 0) {
    v->affine = qform_affine(h);
    source = "qform (quatern_b/c/d, qoffset, offset 256)";
  } else {
    v->affine = pixdim_affine(h);
  }
  for (std::size_t i = 0; i < 12; ++i) {
    if (!std::isfinite(v->affine.m[i])) return make_error(std::string("NIfTI ") + source + " has a non-finite value");
    v->affine.m[i] *= to_mm;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Voxels.

// double -> float without the undefined behaviour of an out-of-range cast: values that round
// beyond FLT_MAX become +-Inf, as IEEE round-to-nearest would make them.
float narrow_to_float(double v) {
  constexpr double kMax = std::numeric_limits<float>::max();
  constexpr double kOverflow = 3.4028235677973366e38;  // 2^128 - 2^103: halfway to the next power
  if (v >= kOverflow) return std::numeric_limits<float>::infinity();
  if (v <= -kOverflow) return -std::numeric_limits<float>::infinity();
  if (v > kMax) return static_cast<float>(kMax);
  if (v < -kMax) return -static_cast<float>(kMax);
  return static_cast<float>(v);
}

template <class Raw>
void convert(const Reader& r, std::uint64_t offset, std::uint64_t count, Raw (*fetch)(const Reader&, std::size_t),
             float* out, bool scaled, double slope, double inter) {
  const std::size_t step = sizeof(Raw);
  for (std::uint64_t i = 0; i < count; ++i) {
    const double v = static_cast<double>(fetch(r, static_cast<std::size_t>(offset + i * step)));
    out[i] = narrow_to_float(scaled ? v * slope + inter : v);
  }
}

void decode_voxels(const Layout& L, const std::uint8_t* data, bool scaled, double slope, double inter, float* out) {
  const Reader r{data, L.info.byte_swapped};
  const std::uint64_t off = L.data_offset;
  const std::uint64_t n = L.voxel_count;
  switch (L.info.datatype) {
    case kNiftiUint8: convert<std::uint8_t>(r, off, n, [](const Reader& q, std::size_t o) { return q.data[o]; }, out, scaled, slope, inter); break;
    case kNiftiInt8: convert<std::int8_t>(r, off, n, [](const Reader& q, std::size_t o) { return static_cast<std::int8_t>(q.data[o]); }, out, scaled, slope, inter); break;
    case kNiftiInt16: convert<std::int16_t>(r, off, n, [](const Reader& q, std::size_t o) { return q.i16(o); }, out, scaled, slope, inter); break;
    case kNiftiUint16: convert<std::uint16_t>(r, off, n, [](const Reader& q, std::size_t o) { return q.u16(o); }, out, scaled, slope, inter); break;
    case kNiftiInt32: convert<std::int32_t>(r, off, n, [](const Reader& q, std::size_t o) { return q.i32(o); }, out, scaled, slope, inter); break;
    case kNiftiUint32: convert<std::uint32_t>(r, off, n, [](const Reader& q, std::size_t o) { return q.u32(o); }, out, scaled, slope, inter); break;
    case kNiftiFloat32: convert<float>(r, off, n, [](const Reader& q, std::size_t o) { return q.f32(o); }, out, scaled, slope, inter); break;
    case kNiftiFloat64: convert<double>(r, off, n, [](const Reader& q, std::size_t o) { return q.f64(o); }, out, scaled, slope, inter); break;
    default: break;  // parse_header refused every other code
  }
}

// Decode an uncompressed file whose header parse_header has accepted.
Expected<NiftiImage> decode_image(Layout L, const std::uint8_t* data, std::uint64_t size) {
  if (L.data_offset > size) {
    return make_error("NIfTI vox_offset " + num(L.data_offset) + " (offset 108) is beyond the end of the " +
                      num(size) + "-byte file");
  }
  if (L.data_bytes > size - L.data_offset) {
    return make_error("NIfTI voxel data truncated: " + num(L.data_bytes) + " bytes needed at vox_offset " +
                      num(L.data_offset) + ", but the file has " + num(size) + " bytes");
  }
  const NiftiHeaderInfo& h = L.info;
  // The standard: scl_slope 0 (or not finite) means "not scaled".
  const bool scaled = std::isfinite(h.scl_slope) && h.scl_slope != 0.0f;
  if (scaled && !std::isfinite(h.scl_inter)) {
    return make_error("NIfTI scl_inter (offset 116) is not finite while scl_slope is valid");
  }
  NiftiImage image;
  image.header = std::move(L.info);
  VolumeF& v = image.volume;
  if (auto geometry = set_geometry(image.header, &v); !geometry) return geometry.error();
  v.nx = L.nx;
  v.ny = L.ny;
  v.nz = L.nz;
  v.voxels.resize(static_cast<std::size_t>(L.voxel_count));
  decode_voxels(L, data, scaled, image.header.scl_slope, image.header.scl_inter, v.voxels.data());
  return image;
}

// ---------------------------------------------------------------------------------------------
// gzip: inflate the header first, then exactly the bytes it says the file needs.

bool is_gzip(const std::uint8_t* data, std::size_t size) { return size >= 2 && data[0] == 0x1f && data[1] == 0x8b; }

#ifdef CORONA_HAVE_ZLIB
// deflate cannot expand data more than ~1032:1, so a stream can never inflate to more than this.
constexpr std::uint64_t kMaxDeflateRatio = 1032;

class Inflater {
 public:
  Inflater(const std::uint8_t* data, std::size_t size) {
    std::memset(&z_, 0, sizeof z_);
    ok_ = inflateInit2(&z_, 15 + 16) == Z_OK;  // 16: gzip wrapper only
    // zlib's avail_in is 32-bit; feed() refills it from here in chunks.
    next_ = data;
    left_ = size;
  }
  ~Inflater() {
    if (ok_) inflateEnd(&z_);
  }
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;

  // Inflate until out holds `want` bytes or the stream ends. The buffer grows by doubling as
  // bytes actually arrive, so a header that lies about its size cannot reserve memory up front.
  Expected<bool> read_to(std::vector<std::uint8_t>* out, std::size_t want) {
    if (!ok_) return make_error("cannot initialise zlib inflate");
    std::size_t have = out->size();
    while (have < want && !ended_) {
      if (have == out->size()) out->resize(std::min(want, std::max<std::size_t>(have * 2, 1u << 16)));
      feed();
      const std::size_t room = std::min<std::size_t>(out->size() - have, 1u << 30);
      z_.next_out = out->data() + have;
      z_.avail_out = static_cast<uInt>(room);
      const int rc = inflate(&z_, Z_NO_FLUSH);
      have += room - z_.avail_out;
      if (rc == Z_STREAM_END) {
        ended_ = !next_member();
      } else if (rc == Z_BUF_ERROR && z_.avail_in == 0 && left_ == 0) {
        out->resize(have);
        return make_error("truncated gzip stream (ended after " + num(have) + " inflated bytes)");
      } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
        out->resize(have);
        return make_error(std::string("corrupt gzip stream: ") + (z_.msg ? z_.msg : "inflate error") +
                          " (after " + num(have) + " inflated bytes)");
      }
    }
    out->resize(have);
    return true;
  }

 private:
  // gzip allows several members back to back (pigz, bgzip); inflate reads one at a time.
  bool next_member() {
    feed();
    if (z_.avail_in < 2 || z_.next_in[0] != 0x1f || z_.next_in[1] != 0x8b) return false;
    return inflateReset(&z_) == Z_OK;
  }

  void feed() {
    if (z_.avail_in > 0 || left_ == 0) return;
    const std::size_t chunk = std::min<std::size_t>(left_, 1u << 30);
    z_.next_in = const_cast<Bytef*>(next_);
    z_.avail_in = static_cast<uInt>(chunk);
    next_ += chunk;
    left_ -= chunk;
  }

  z_stream z_;
  bool ok_ = false;
  bool ended_ = false;
  const std::uint8_t* next_ = nullptr;
  std::size_t left_ = 0;
};

Expected<NiftiImage> load_gzip(const std::uint8_t* data, std::size_t size, const NiftiLoadOptions& options) {
  Inflater inflater(data, size);
  std::vector<std::uint8_t> bytes;
  if (auto head = inflater.read_to(&bytes, kHeaderSize); !head) return head.error();
  if (bytes.size() < kHeaderSize) {
    return make_error("gzip-compressed NIfTI too short: inflates to " + num(bytes.size()) +
                      " bytes, a NIfTI-1 header needs 348");
  }
  auto layout = parse_header(bytes.data(), options);
  if (!layout) return layout.error();
  const std::uint64_t needed = layout->data_offset + layout->data_bytes;
  const std::uint64_t most = std::uint64_t(size) * kMaxDeflateRatio;
  if (needed > most) {
    return make_error("gzip-compressed NIfTI claims " + num(needed) + " bytes of header and voxels, more than " +
                      num(size) + " compressed bytes can inflate to (corrupt header or gzip bomb)");
  }
  // The voxels are capped by parse_header; this also bounds vox_offset (extensions) the same way
  // load_nifti_from_file bounds a whole file.
  const std::uint64_t cap = file_byte_cap(options);
  if (needed > cap) {
    return make_error("gzip-compressed NIfTI claims " + num(needed) + " bytes, over the cap of " + num(cap));
  }
  if (auto body = inflater.read_to(&bytes, static_cast<std::size_t>(needed)); !body) return body.error();
  auto image = decode_image(std::move(*layout), bytes.data(), bytes.size());
  if (image) image->header.gzipped = true;
  return image;
}
#endif

}  // namespace

Expected<NiftiImage> load_nifti_from_buffer(const std::uint8_t* data, std::size_t size,
                                            const NiftiLoadOptions& options) {
  if (data == nullptr || size == 0) return make_error("empty NIfTI buffer");
  if (is_gzip(data, size)) {
#ifdef CORONA_HAVE_ZLIB
    return load_gzip(data, size, options);
#else
    return make_error("gzip-compressed NIfTI: decompress it first (this build has no zlib)");
#endif
  }
  if (size < kHeaderSize) {
    return make_error("NIfTI buffer too short: " + num(size) + " bytes, a NIfTI-1 header needs 348");
  }
  auto layout = parse_header(data, options);
  if (!layout) return layout.error();
  return decode_image(std::move(*layout), data, size);
}

Expected<NiftiImage> load_nifti_from_file(const std::string& path, const NiftiLoadOptions& options) {
  // Refuse files larger than the biggest the options allow (float64 voxels, plus room for
  // extensions) before reading them in full.
  auto bytes = read_file_bytes(path, file_byte_cap(options));
  if (!bytes) return make_error("cannot read NIfTI file: " + bytes.error().message);
  auto image = load_nifti_from_buffer(bytes->data(), bytes->size(), options);
  if (!image) return make_error(path + ": " + image.error().message);
  return image;
}

// =============================================================================================
// Writing.

namespace {

struct Writer {
  std::vector<std::uint8_t>* out;

  void u16(std::size_t off, std::uint16_t v) {
    (*out)[off] = static_cast<std::uint8_t>(v);
    (*out)[off + 1] = static_cast<std::uint8_t>(v >> 8);
  }
  void u32(std::size_t off, std::uint32_t v) {
    for (std::size_t i = 0; i < 4; ++i) (*out)[off + i] = static_cast<std::uint8_t>(v >> (8 * i));
  }
  void u64(std::size_t off, std::uint64_t v) {
    for (std::size_t i = 0; i < 8; ++i) (*out)[off + i] = static_cast<std::uint8_t>(v >> (8 * i));
  }
  void i16(std::size_t off, int v) { u16(off, static_cast<std::uint16_t>(static_cast<std::int16_t>(v))); }
  void f32(std::size_t off, float v) {
    std::uint32_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    u32(off, bits);
  }
  void f64(std::size_t off, double v) {
    std::uint64_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    u64(off, bits);
  }
};

using Mat3 = std::array<std::array<double, 3>, 3>;

double det3(const Mat3& m) {
  return m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
         m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
}

// Inverse transpose, used by the polar iteration below.
Mat3 inverse_transpose(const Mat3& m) {
  const double d = det3(m);
  Mat3 r{};
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) {
      const int i1 = (i + 1) % 3, i2 = (i + 2) % 3, j1 = (j + 1) % 3, j2 = (j + 2) % 3;
      r[i][j] = (m[i1][j1] * m[i2][j2] - m[i1][j2] * m[i2][j1]) / d;  // cofactor(i, j) / det
    }
  }
  return r;
}

// The closest rotation to m (polar factor), what nibabel gets from an SVD: Newton's iteration
// R <- (R + R^-T) / 2 converges to it for any non-singular m.
Mat3 closest_rotation(Mat3 r) {
  for (int iter = 0; iter < 100; ++iter) {
    const Mat3 it = inverse_transpose(r);
    double change = 0.0;
    for (int i = 0; i < 3; ++i) {
      for (int j = 0; j < 3; ++j) {
        const double next = 0.5 * (r[i][j] + it[i][j]);
        change = std::max(change, std::fabs(next - r[i][j]));
        r[i][j] = next;
      }
    }
    if (change < 1e-15) break;
  }
  return r;
}

// Rotation matrix to quaternion (w, x, y, z) with w >= 0, Shepperd's method: pick the largest
// diagonal combination so the square root is well conditioned.
std::array<double, 4> rotation_to_quaternion(const Mat3& r) {
  const double tr = r[0][0] + r[1][1] + r[2][2];
  std::array<double, 4> q{};
  if (tr > 0.0) {
    const double s = 2.0 * std::sqrt(1.0 + tr);
    q = {0.25 * s, (r[2][1] - r[1][2]) / s, (r[0][2] - r[2][0]) / s, (r[1][0] - r[0][1]) / s};
  } else if (r[0][0] > r[1][1] && r[0][0] > r[2][2]) {
    const double s = 2.0 * std::sqrt(1.0 + r[0][0] - r[1][1] - r[2][2]);
    q = {(r[2][1] - r[1][2]) / s, 0.25 * s, (r[0][1] + r[1][0]) / s, (r[0][2] + r[2][0]) / s};
  } else if (r[1][1] > r[2][2]) {
    const double s = 2.0 * std::sqrt(1.0 + r[1][1] - r[0][0] - r[2][2]);
    q = {(r[0][2] - r[2][0]) / s, (r[0][1] + r[1][0]) / s, 0.25 * s, (r[1][2] + r[2][1]) / s};
  } else {
    const double s = 2.0 * std::sqrt(1.0 + r[2][2] - r[0][0] - r[1][1]);
    q = {(r[1][0] - r[0][1]) / s, (r[0][2] + r[2][0]) / s, (r[1][2] + r[2][1]) / s, 0.25 * s};
  }
  if (q[0] < 0.0) {
    for (double& x : q) x = -x;
  }
  return q;
}

struct Qform {
  std::array<double, 3> zooms{};
  double qfac = 1.0;
  std::array<double, 4> quat{};  // w, x, y, z
};

// The qform nibabel's set_qform derives from an affine: zooms = column norms, qfac makes the
// rotation proper, then the closest rotation (drops shear) becomes the quaternion.
Expected<Qform> qform_from_affine(const Affine& a) {
  Qform q;
  Mat3 r{};
  for (int j = 0; j < 3; ++j) {
    double norm = 0.0;
    for (int i = 0; i < 3; ++i) norm += a(i, j) * a(i, j);
    norm = std::sqrt(norm);
    if (!(norm > 0.0) || !std::isfinite(norm)) {
      return make_error("cannot write NIfTI: affine column " + std::to_string(j) + " is zero or not finite");
    }
    q.zooms[static_cast<std::size_t>(j)] = norm;
    for (int i = 0; i < 3; ++i) r[static_cast<std::size_t>(i)][static_cast<std::size_t>(j)] = a(i, j) / norm;
  }
  const double d = det3(r);
  if (!(std::fabs(d) > 1e-8)) return make_error("cannot write NIfTI: the affine is singular");
  if (d < 0.0) {
    q.qfac = -1.0;
    for (auto& row : r) row[2] = -row[2];
  }
  q.quat = rotation_to_quaternion(closest_rotation(r));
  return q;
}


struct Dims {
  int nx, ny, nz;
  int ndim;  // dim[0]: 2 or 3
};

// NIfTI-1 stores dims as int16, so each must be 1..32767; the voxel vector must match them.
Expected<Dims> check_write_dims(int nx, int ny, int nz, std::size_t count, int ndim) {
  if (ndim != 2 && ndim != 3) {
    return make_error("cannot write NIfTI: ndim must be 2 or 3, got " + std::to_string(ndim));
  }
  if (ndim == 2 && nz != 1) {
    return make_error("cannot write a 2D NIfTI from " + std::to_string(nz) + " slices (nz must be 1)");
  }
  for (int d : {nx, ny, nz}) {
    if (d < 1 || d > 32767) {
      return make_error("cannot write NIfTI: dims " + std::to_string(nx) + "x" + std::to_string(ny) + "x" +
                        std::to_string(nz) + " must each be 1..32767");
    }
  }
  if (std::uint64_t(nx) * std::uint64_t(ny) * std::uint64_t(nz) != count) {
    return make_error("cannot write NIfTI: " + num(count) + " voxels do not match dims " + std::to_string(nx) + "x" +
                      std::to_string(ny) + "x" + std::to_string(nz));
  }
  return Dims{nx, ny, nz, ndim};
}

// The 348-byte header plus the 4-byte "no extensions" flag, little-endian.
void write_header(const Dims& d, int datatype, float slope, float inter, const Qform& q, const Affine& a,
                  const std::string& descrip, std::vector<std::uint8_t>* out) {
  out->assign(kVoxOffsetMin, 0);
  Writer w{out};
  w.u32(0, kHeaderSize);
  (*out)[38] = 'r';  // "regular", as nibabel writes it
  const int dims[8] = {d.ndim, d.nx, d.ny, d.nz, 1, 1, 1, 1};
  for (std::size_t i = 0; i < 8; ++i) w.i16(40 + 2 * i, dims[i]);
  w.i16(70, datatype);
  w.i16(72, bytes_per_voxel(datatype) * 8);
  const double pixdim[8] = {q.qfac, q.zooms[0], q.zooms[1], q.zooms[2], 1, 1, 1, 1};
  for (std::size_t i = 0; i < 8; ++i) w.f32(76 + 4 * i, static_cast<float>(pixdim[i]));
  w.f32(108, static_cast<float>(kVoxOffsetMin));
  w.f32(112, slope);
  w.f32(116, inter);
  (*out)[123] = 2;  // xyzt_units: NIFTI_UNITS_MM
  std::memcpy(out->data() + 148, descrip.data(), std::min<std::size_t>(descrip.size(), 79));
  w.i16(252, 1);  // qform_code: scanner
  w.i16(254, 1);  // sform_code: scanner
  for (std::size_t i = 0; i < 3; ++i) {
    w.f32(256 + 4 * i, static_cast<float>(q.quat[i + 1]));
    w.f32(268 + 4 * i, static_cast<float>(a(static_cast<int>(i), 3)));
    for (std::size_t j = 0; j < 4; ++j) w.f32(280 + 16 * i + 4 * j, static_cast<float>(a(static_cast<int>(i), static_cast<int>(j))));
  }
  std::memcpy(out->data() + 344, "n+1\0", 4);
}

// A value in the stored type's range: rounded (halves away from zero) and clamped; NaN -> 0.
double to_integer(double v, double lo, double hi) {
  if (std::isnan(v)) return 0.0;
  return std::min(std::max(std::round(v), lo), hi);
}

void store_voxel(Writer& w, std::size_t off, int datatype, double v) {
  switch (datatype) {
    case kNiftiUint8: (*w.out)[off] = static_cast<std::uint8_t>(to_integer(v, 0, 255)); break;
    case kNiftiInt8: (*w.out)[off] = static_cast<std::uint8_t>(static_cast<std::int8_t>(to_integer(v, -128, 127))); break;
    case kNiftiInt16: w.i16(off, static_cast<int>(to_integer(v, -32768, 32767))); break;
    case kNiftiUint16: w.u16(off, static_cast<std::uint16_t>(to_integer(v, 0, 65535))); break;
    case kNiftiInt32: w.u32(off, static_cast<std::uint32_t>(static_cast<std::int32_t>(to_integer(v, -2147483648.0, 2147483647.0)))); break;
    case kNiftiUint32: w.u32(off, static_cast<std::uint32_t>(to_integer(v, 0, 4294967295.0))); break;
    case kNiftiFloat32: w.f32(off, narrow_to_float(v)); break;
    case kNiftiFloat64: w.f64(off, v); break;
    default: break;  // encode() refused every other code
  }
}

#ifdef CORONA_HAVE_ZLIB
Expected<std::vector<std::uint8_t>> gzip_bytes(const std::vector<std::uint8_t>& in) {
  z_stream z;
  std::memset(&z, 0, sizeof z);
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return make_error("cannot initialise zlib deflate");
  }
  std::vector<std::uint8_t> out;
  std::uint8_t chunk[1 << 16];
  std::size_t fed = 0;
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    if (z.avail_in == 0 && fed < in.size()) {  // avail_in is 32-bit: feed in slices
      const std::size_t n = std::min<std::size_t>(in.size() - fed, 1u << 30);
      z.next_in = const_cast<Bytef*>(in.data() + fed);
      z.avail_in = static_cast<uInt>(n);
      fed += n;
    }
    z.next_out = chunk;
    z.avail_out = sizeof chunk;
    rc = deflate(&z, fed == in.size() ? Z_FINISH : Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
      deflateEnd(&z);
      return make_error("zlib deflate failed");
    }
    out.insert(out.end(), chunk, chunk + (sizeof chunk - z.avail_out));
  }
  deflateEnd(&z);
  return out;
}
#endif

Expected<std::vector<std::uint8_t>> maybe_gzip(std::vector<std::uint8_t> bytes, bool gzip) {
  if (!gzip) return bytes;
#ifdef CORONA_HAVE_ZLIB
  return gzip_bytes(bytes);
#else
  return make_error("cannot write gzip-compressed NIfTI: this build has no zlib");
#endif
}

// Header and voxels for any volume: stored = (value - inter) / slope, converted to datatype.
template <class T>
Expected<std::vector<std::uint8_t>> encode(const Volume<T>& v, int datatype, float slope, float inter,
                                           const NiftiWriteOptions& options) {
  const int bpv = bytes_per_voxel(datatype);
  if (bpv == 0) return make_error("cannot write NIfTI datatype " + std::to_string(datatype) + ": unsupported");
  if (!std::isfinite(slope) || slope == 0.0f || !std::isfinite(inter)) {
    return make_error("cannot write NIfTI: scl_slope must be finite and non-zero, scl_inter finite");
  }
  auto dims = check_write_dims(v.nx, v.ny, v.nz, v.voxels.size(), options.ndim);
  if (!dims) return dims.error();
  auto q = qform_from_affine(v.affine);
  if (!q) return q.error();
  std::vector<std::uint8_t> bytes;
  write_header(*dims, datatype, slope, inter, *q, v.affine, options.descrip, &bytes);
  bytes.resize(kVoxOffsetMin + v.voxels.size() * static_cast<std::size_t>(bpv));
  Writer w{&bytes};
  for (std::size_t i = 0; i < v.voxels.size(); ++i) {
    const double stored = (static_cast<double>(v.voxels[i]) - inter) / slope;
    store_voxel(w, kVoxOffsetMin + i * static_cast<std::size_t>(bpv), datatype, stored);
  }
  return maybe_gzip(std::move(bytes), options.gzip);
}

bool ends_with_gz(const std::string& path) {
  return path.size() >= 3 && path.compare(path.size() - 3, 3, ".gz") == 0;
}

Expected<bool> write_file(const std::string& path, const Expected<std::vector<std::uint8_t>>& bytes) {
  if (!bytes) return make_error(path + ": " + bytes.error().message);
  return write_file_bytes(path, *bytes);
}

}  // namespace

Expected<std::vector<std::uint8_t>> encode_nifti(const VolumeF& volume, const NiftiWriteOptions& options) {
  return encode(volume, options.datatype, options.scl_slope, options.scl_inter, options);
}

Expected<std::vector<std::uint8_t>> encode_nifti(const LabelVolume& labels, const NiftiWriteOptions& options) {
  return encode(labels, kNiftiUint8, 1.0f, 0.0f, options);
}

Expected<bool> save_nifti_to_file(const std::string& path, const VolumeF& volume, const NiftiWriteOptions& options) {
  NiftiWriteOptions o = options;
  o.gzip = ends_with_gz(path);
  return write_file(path, encode_nifti(volume, o));
}

Expected<bool> save_nifti_to_file(const std::string& path, const LabelVolume& labels,
                                  const NiftiWriteOptions& options) {
  NiftiWriteOptions o = options;
  o.gzip = ends_with_gz(path);
  return write_file(path, encode_nifti(labels, o));
}

}  // namespace corona
