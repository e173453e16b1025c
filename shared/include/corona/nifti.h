// corona/nifti.h: NIfTI-1 volumes in and out. Reads single-file NIfTI-1 (.nii, and .nii.gz where
// zlib is built in) into a float volume with its geometry; writes float or label volumes nibabel reads.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "corona/image.h"

namespace corona {

// NIfTI-1 datatype codes this module reads and writes (others are refused by code).
enum NiftiDatatype : int {
  kNiftiUint8 = 2,
  kNiftiInt16 = 4,
  kNiftiInt32 = 8,
  kNiftiFloat32 = 16,
  kNiftiFloat64 = 64,
  kNiftiInt8 = 256,
  kNiftiUint16 = 512,
  kNiftiUint32 = 768,
};

// The header fields as stored in the file (after byte swapping), for callers that want more than
// the volume: units, codes, raw quaternion and sform rows.
struct NiftiHeaderInfo {
  int ndim = 0;                          // dim[0]
  std::array<std::int64_t, 8> dim{};     // dim[0..7] as stored
  std::array<float, 8> pixdim{};         // pixdim[0] is qfac
  int datatype = 0;
  int bitpix = 0;
  double vox_offset = 0.0;
  float scl_slope = 0.0f;
  float scl_inter = 0.0f;
  int qform_code = 0;
  int sform_code = 0;
  int xyzt_units = 0;
  std::array<float, 3> quatern{};        // quatern_b, c, d
  std::array<float, 3> qoffset{};        // qoffset_x, y, z
  std::array<std::array<float, 4>, 3> srow{};  // srow_x, srow_y, srow_z
  std::string descrip;
  bool byte_swapped = false;             // the file is big-endian
  bool gzipped = false;                  // the bytes came gzip-compressed
};

// A decoded volume and the header it came from.
// voxels: stored * scl_slope + scl_inter as float32 (unscaled when scl_slope is 0 or not finite, as
//   the standard says; values beyond float range become +-Inf); NaN/Inf in float data are kept.
// spacing: |pixdim[1..3]| in mm, converted from meters/microns per xyzt_units (unknown units read
//   as mm); a pixdim of 0 or a non-finite one reads as 1. 2D files keep pixdim[3] for z.
// affine, in mm: sform if sform_code > 0, else qform (quaternion, qfac from pixdim[0], pixdim <= 0
//   read as 1, as nifti1_io does) if qform_code > 0, else diag(spacing) ("method 1"). nibabel
//   differs in two places: its no-code fallback centres the volume, and it ignores xyzt_units.
struct NiftiImage {
  VolumeF volume;
  NiftiHeaderInfo header;
};

struct NiftiLoadOptions {
  // Refuse volumes whose float output would exceed this many bytes (also bounds what a gzip
  // stream may inflate to), so a forged header cannot make us allocate gigabytes.
  std::uint64_t max_voxel_bytes = std::uint64_t{2} << 30;
};

// Decode a NIfTI-1 single file (magic "n+1"), either byte order, gzip sniffed from 1f 8b.
// 3D and 2D (nz = 1) only; dim[4..7] > 1 is an error. Without zlib, gzip input is an error.
Expected<NiftiImage> load_nifti_from_buffer(const std::uint8_t* data, std::size_t size,
                                            const NiftiLoadOptions& options = {});
Expected<NiftiImage> load_nifti_from_file(const std::string& path, const NiftiLoadOptions& options = {});

struct NiftiWriteOptions {
  int datatype = kNiftiFloat32;  // any NiftiDatatype
  bool gzip = false;             // needs zlib; save_nifti_to_file decides from the path instead
  float scl_slope = 1.0f;        // stored = (value - scl_inter) / scl_slope; must be finite, != 0
  float scl_inter = 0.0f;
  std::string descrip;           // up to 79 characters are kept
  int ndim = 3;                  // dim[0]: 3, or 2 for a 2D image (needs nz == 1), so a 2D
                                 // input gets a 2D output of the same shape
};

// Encode a float volume: little-endian NIfTI-1, vox_offset 352, xyzt_units mm, sform_code =
// qform_code = 1 (scanner). srow = the affine; the qform quaternion is the affine's closest rotation
// (as nibabel's set_qform; shear is dropped there); pixdim[1..3] = the affine's column norms.
// Integer datatypes: stored values are rounded to nearest (halves away from zero), clamped to the
// type's range, NaN stored as 0.
Expected<std::vector<std::uint8_t>> encode_nifti(const VolumeF& volume, const NiftiWriteOptions& options = {});
// Labels are always written as uint8 (datatype 2), unscaled: options.datatype and scl_* are ignored.
Expected<std::vector<std::uint8_t>> encode_nifti(const LabelVolume& labels, const NiftiWriteOptions& options = {});

// Write to path; gzip exactly when path ends with ".gz" (options.gzip is overridden).
Expected<bool> save_nifti_to_file(const std::string& path, const VolumeF& volume,
                                  const NiftiWriteOptions& options = {});
Expected<bool> save_nifti_to_file(const std::string& path, const LabelVolume& labels,
                                  const NiftiWriteOptions& options = {});

}  // namespace corona
