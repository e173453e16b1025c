#include "viewer_state.h"

#include <algorithm>
#include <cmath>

#include "corona/image_io.h"
#include "corona/nifti.h"

namespace corona::viewer {
namespace {

// An 8-bit slice as a one-slice float volume, so slices and volumes share one display path.
VolumeF volume_from_slice(const ImageU8& img) {
  VolumeF vol(img.width, img.height, 1);
  std::transform(img.pixels.begin(), img.pixels.end(), vol.voxels.begin(),
                 [](std::uint8_t v) { return static_cast<float>(v); });
  return vol;
}

LabelVolume labels_from_slice(const LabelMap& map) {
  LabelVolume vol(map.width, map.height, 1);
  vol.voxels = map.pixels;
  return vol;
}

LabelVolume labels_from_nifti(const VolumeF& values) {
  LabelVolume vol(values.nx, values.ny, values.nz);
  vol.spacing = values.spacing;
  vol.affine = values.affine;
  std::transform(values.voxels.begin(), values.voxels.end(), vol.voxels.begin(), [](float v) {
    const float r = std::round(v);
    return static_cast<std::uint8_t>(r >= 0.0f && r <= 255.0f ? r : kIgnoreLabel);
  });
  return vol;
}

}  // namespace

bool ViewerState::fail(const std::string& message) {
  status = message;
  status_is_error = true;
  return false;
}

bool ViewerState::open(FileRole role, const std::string& name, const std::uint8_t* data, std::size_t size) {
  const FileKind kind = sniff_file_kind(data, size);
  if (kind == FileKind::kGzip) {
    return fail(name + ": still gzip-compressed (the page decompresses .gz files; was it double-compressed?)");
  }
  const bool is_nifti = kind == FileKind::kNifti1 || kind == FileKind::kNifti2;
  if (!is_nifti && kind != FileKind::kPng && kind != FileKind::kJpeg) {
    return fail(name + ": " + unsupported_file_message(kind));
  }
  if (role == FileRole::kImage) {
    if (is_nifti) {
      auto nii = load_nifti_from_buffer(data, size);
      if (!nii) return fail(name + ": " + nii.error().message);
      volume = std::move(nii->volume);
      volume_is_hu = true;
    } else {
      auto img = load_image_from_buffer(data, size);
      if (!img) return fail(name + ": " + img.error().message);
      volume = volume_from_slice(*img);
      volume_is_hu = false;
    }
    labels.reset();
    labels_name.clear();
    image_name = name;
    slice_index = volume->nz / 2;
  } else {
    if (!volume) return fail("Open an image before its label map.");
    LabelVolume lv;
    if (is_nifti) {
      auto nii = load_nifti_from_buffer(data, size);
      if (!nii) return fail(name + ": " + nii.error().message);
      lv = labels_from_nifti(nii->volume);
    } else {
      auto map = load_label_png_from_buffer(data, size);
      if (!map) return fail(name + ": " + map.error().message);
      lv = labels_from_slice(*map);
    }
    if (lv.nx != volume->nx || lv.ny != volume->ny || lv.nz != volume->nz) {
      return fail(name + ": label map is " + std::to_string(lv.nx) + "x" + std::to_string(lv.ny) + "x" +
                  std::to_string(lv.nz) + " but the image is " + std::to_string(volume->nx) + "x" +
                  std::to_string(volume->ny) + "x" + std::to_string(volume->nz));
    }
    labels = std::move(lv);
    labels_name = name;
  }
  status = "Opened " + name;
  status_is_error = false;
  return true;
}

ImageU8 ViewerState::display_slice() const {
  const ImageF values = volume->slice(slice_index);
  if (volume_is_hu) return window_to_u8(values, window);
  ImageU8 out(values.width, values.height);
  std::transform(values.pixels.begin(), values.pixels.end(), out.pixels.begin(),
                 [](float v) { return static_cast<std::uint8_t>(std::clamp(v, 0.0f, 255.0f)); });
  return out;
}

std::optional<LabelMap> ViewerState::label_slice() const {
  if (!labels) return std::nullopt;
  return labels->slice(slice_index);
}

RgbaImage ViewerState::render() const {
  const ImageU8 grey = display_slice();
  const auto map = label_slice();
  if (!map) return gray_to_rgba(grey);
  auto rgba = render_overlay(grey, *map, styles, opacity);
  return rgba ? std::move(rgba).value() : gray_to_rgba(grey);
}

}  // namespace corona::viewer
