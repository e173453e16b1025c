// corona/preprocess.h: the one place for intensity mapping (HU windows, scaling, normalisation),
// resizing and cropping/padding that training, the server and the browser all call.
#pragma once

#include <cstdint>

#include "corona/image.h"

namespace corona {

// ---- intensity -------------------------------------------------------------------------------

// MONAI ScaleIntensityRange: (x - a_min) / (a_max - a_min) * (b_max - b_min) + b_min, computed in
// float in that order, then clamped to [min(b), max(b)] when clip. When a_max == a_min the ratio
// is undefined; like MONAI we then return x - a_min + b_min (clipped if asked).
ImageF scale_intensity_range(const ImageF& img, float a_min, float a_max, float b_min, float b_max,
                             bool clip);
VolumeF scale_intensity_range(const VolumeF& vol, float a_min, float a_max, float b_min,
                              float b_max, bool clip);

// A CT display window in Hounsfield units: [center - width/2, center + width/2].
struct IntensityWindow {
  float center;
  float width;
  constexpr float lower() const { return center - width / 2.0f; }
  constexpr float upper() const { return center + width / 2.0f; }
};

// Lung window [-1350, 150] HU: the rendering the 8-bit MedSeg training PNGs were made with.
constexpr IntensityWindow kLungWindow{-600.0f, 1500.0f};
// Mediastinum window [-160, 240] HU: soft tissue and effusions, for display.
constexpr IntensityWindow kMediastinumWindow{40.0f, 400.0f};

// HU -> [out_min, out_max] through the window, clipped: how HU NIfTI/DICOM input is mapped onto
// the training distribution (defaults give the 0..255 range of the training PNGs, as floats).
ImageF apply_window(const ImageF& hu, IntensityWindow w, float out_min = 0.0f,
                    float out_max = 255.0f);
VolumeF apply_window(const VolumeF& hu, IntensityWindow w, float out_min = 0.0f,
                     float out_max = 255.0f);

// HU -> 8-bit grey for display: apply_window to [0, 255], then round half up.
ImageU8 window_to_u8(const ImageF& hu, IntensityWindow w);

// 0..255 bytes -> the same values as floats (geometry carried).
ImageF u8_to_float(const ImageU8& img);

// Floats -> bytes: round half up (floor(x + 0.5)), saturate to [0, 255], NaN -> 0.
ImageU8 float_to_u8(const ImageF& img);

// (x / input_max - mean) / std: mean and std are in units of the [0, 1]-scaled image, as
// torchvision's Normalize after ToTensor (input_max = 255 for 8-bit-range images; pass
// input_max = 1 for MONAI NormalizeIntensity(subtrahend=mean, divisor=std)). std == 0 counts as 1.
ImageF normalize_intensity(const ImageF& img, float mean, float std, float input_max = 255.0f);

// THE one way an 8-bit slice (0..255, lung window) becomes the network input, for training, the
// server and the browser alike: u8_to_float -> resize_bilinear to size x size ->
// normalize_intensity(mean, std, 255). size <= 0 gives an empty image.
ImageF model_input_from_u8(const ImageU8& img, int size, float mean, float std);

// The same transform for a float image already in the 0..255 range of the training slices (e.g.
// HU through apply_window(kLungWindow), unrounded): resize_bilinear to size x size ->
// normalize_intensity(mean, std, 255). model_input_from_u8 is u8_to_float then this, so the two
// paths differ only by the input's rounding. size <= 0 gives an empty image.
ImageF model_input_from_float(const ImageF& img0_255, int size, float mean, float std);

// ---- resizing --------------------------------------------------------------------------------
// Both resizers update spacing (spacing * in / out) and keep spacing_known. A non-positive target
// size gives an empty image; an empty source gives a zero-filled image of the target size.

// Bilinear with half-pixel centres and edge clamping: src = (dst + 0.5) * in/out - 0.5, clamped
// below at 0, neighbours clamped at the last pixel. Identical to PyTorch
// F.interpolate(mode='bilinear', align_corners=False, antialias=False) and to ONNX
// Resize(mode='linear', coordinate_transformation_mode='half_pixel'), so the exported model's
// Resize and this function agree. No antialiasing: downscaling by > 2 aliases, as PyTorch does.
ImageF resize_bilinear(const ImageF& img, int width, int height);

// Nearest as PyTorch mode='nearest': src = min(floor(dst * (float)in/out), in - 1). Never
// invents labels, so 255 (ignore) stays 255.
LabelMap resize_nearest(const LabelMap& mask, int width, int height);

// ---- cropping and padding --------------------------------------------------------------------
// All carry spacing. LabelMap and ImageU8 are the same type, so the byte overloads serve both.

// The width x height window whose top-left corner is (x, y); parts outside the image are fill.
ImageF crop(const ImageF& img, int x, int y, int width, int height, float fill = 0.0f);
LabelMap crop(const LabelMap& img, int x, int y, int width, int height, std::uint8_t fill = 0);

// Adds margins filled with value (negative margins crop).
ImageF pad(const ImageF& img, int left, int top, int right, int bottom, float value = 0.0f);
LabelMap pad(const LabelMap& img, int left, int top, int right, int bottom,
             std::uint8_t value = 0);

// Per axis: crop or pad to the size, centred. For an odd difference d the extra pixel goes to
// the right/bottom in both directions (crop removes floor(d/2) on the left, pad adds floor(d/2)
// on the left), so padding then cropping back returns the original.
ImageF center_crop_or_pad(const ImageF& img, int width, int height, float value = 0.0f);
LabelMap center_crop_or_pad(const LabelMap& img, int width, int height, std::uint8_t value = 0);

}  // namespace corona
