// corona/lung_mask.h: a classic (model-free) lung mask for one axial slice, from HU or from an 8-bit
// lung-window rendering, split into right and left lung: the denominator of the severity score.
#pragma once

#include <cstdint>

#include "corona/image.h"
#include "corona/preprocess.h"

namespace corona {

// Values of the returned LabelMap.
constexpr std::uint8_t kLungNone = 0;
constexpr std::uint8_t kLungRight = 1;  // patient right = image LEFT (radiological convention)
constexpr std::uint8_t kLungLeft = 2;   // patient left = image RIGHT

// Defaults were chosen on the three MedSeg fixture slices (tests/fixtures/medseg), i.e. they are a
// hand-tuned classic baseline, not validated on a test set.
struct LungMaskOptions {
  // Air-like pixels: HU < air_threshold_hu. -200 HU sits above aerated lung (-900..-500 HU) and
  // ground glass (-700..-300 HU), so partly aerated lesions stay inside the seed, and below fat
  // (about -100 HU) and soft tissue (0..60 HU), so the body wall does not.
  float air_threshold_hu = -200.0f;
  // The window that rendered 8-bit input: a byte v stands for lower + v / 255 * width HU, and is
  // air-like when that is below air_threshold_hu (the MedSeg PNGs: the [-1350, 150] lung window).
  IntensityWindow window = kLungWindow;
  // Square closing radius (px) applied to all interior air before lungs are picked, so that lung
  // pieces cut apart by vessels, fissures or consolidation bands become one component.
  int merge_radius_px = 3;
  // Per-lung square closing radius (px) after picking, to pull subpleural lesions that touch the
  // chest wall (and so are not enclosed holes) into the lung. Then enclosed holes are filled.
  int closing_radius_px = 15;
  // A lung candidate needs at least this fraction of the image's pixels (the trachea at the apex is
  // ~0.2 % of a 512x512 slice, apical lungs ~1.5 %).
  double min_lung_fraction = 0.005;
  // A single component with at least this share of its pixels on each side of the body's midline
  // is taken to be both lungs touching (anterior junction) and is cut at its thinnest column.
  double straddle_fraction = 0.2;
  // The cut column is searched within +- this fraction of the body's width around its midline.
  double split_search_fraction = 0.15;
};

// Pipeline, shared by both entry points (they differ only in how "air-like" is decided):
//  1. air-like pixels; 2. drop air 4-connected to the image border (outside the patient);
//  3. close_square(merge_radius_px); 4. 4-connected components, largest first; the largest one on
//  each side of the body's midline (midline of the columns that hold any non-outside pixel)
//  becomes that side's lung, if it has min_lung_fraction of the image, unless the largest
//  straddles the midline (see straddle_fraction), in which case it is cut at the column with the
//  fewest of its pixels near the midline; 5. per lung: close_square(closing_radius_px), then
//  fill_holes; 6. a pixel both closed lungs claim goes to the side of the midline between their
//  centroids. Returns 0 / kLungRight / kLungLeft with the input's geometry; a lung may be missing
//  (no candidate large enough). Invalid input (pixels.size() != width * height) -> all zero.
LabelMap lung_mask_from_u8(const ImageU8& lung_window_8bit, const LungMaskOptions& options = {});
// HU input (NaN is not air).
LabelMap lung_mask_from_hu(const ImageF& hu, const LungMaskOptions& options = {});
// The shared core: air (nonzero = air-like) -> lungs. Exposed for other intensity sources.
LabelMap lung_mask_from_air(const LabelMap& air, const LungMaskOptions& options = {});

}  // namespace corona
