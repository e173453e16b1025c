// corona/postprocess.h: from a model's raw outputs to clean label maps (softmax/argmax, sigmoid,
// threshold), connected components, small-component removal and the binary morphology they share.
#pragma once

#include <cstdint>
#include <vector>

#include "corona/image.h"

namespace corona {

// ---- activations -----------------------------------------------------------------------------
// exp is corona's deterministic one (det_math.h), so native and wasm give bit-identical floats.

// Per pixel over channels, numerically stable (the pixel's max logit is subtracted first). A pixel
// with a NaN logit gets NaN in every channel; +inf logits are not supported (inf - inf is NaN).
MultiChannelImage softmax(const MultiChannelImage& logits);

// Per pixel: the channel with the largest value. Ties go to the LOWEST channel index (so an
// all-equal pixel is background); a NaN never wins over a number. Only the first 255 channels are
// considered, since label 255 means "ignore". Spacing is unknown (MultiChannelImage carries none).
LabelMap argmax(const MultiChannelImage& scores);

// 1 / (1 + e^-x), evaluated without overflow for large |x|; geometry carried.
ImageF sigmoid(const ImageF& logits);

// label where prob >= t (the boundary is INSIDE), 0 elsewhere; NaN -> 0; geometry carried.
LabelMap threshold(const ImageF& prob, float t, std::uint8_t label = 1);

// ---- connected components --------------------------------------------------------------------

enum class Connectivity { kFour = 4, kEight = 8 };

struct BoundingBox {
  int min_x = 0, min_y = 0, max_x = 0, max_y = 0;  // inclusive
};

// Components are numbered 1..n in raster order of their first (top-left-most) pixel; ids is 0 on
// background. Component k (1-based) is described by sizes[k - 1], boxes[k - 1], centroids[k - 1].
struct Components {
  Image2D<std::int32_t> ids;
  std::vector<std::uint64_t> sizes;
  std::vector<BoundingBox> boxes;
  std::vector<double> centroid_x;  // mean x of the component's pixels
  std::vector<double> centroid_y;

  std::size_t count() const { return sizes.size(); }
};

// Foreground = pixels equal to `label`. Two-pass union-find labelling: no recursion, so a 512x512
// blob cannot overflow the 64 KiB-ish wasm stack.
Components connected_components(const LabelMap& mask, std::uint8_t label, Connectivity c);
// Foreground = any lesion-like value: nonzero and not kIgnoreLabel (classes merged).
Components connected_components_nonzero(const LabelMap& mask, Connectivity c);

// Per class value (1..254, each class on its own): components with fewer than min_px pixels become
// 0. 255 and 0 pixels are never touched. Geometry carried.
LabelMap remove_small_components(const LabelMap& labels, std::uint64_t min_px, Connectivity c);
// Same with a threshold per class: min_px[v] applies to class v; classes beyond the vector keep
// everything.
LabelMap remove_small_components(const LabelMap& labels, const std::vector<std::uint64_t>& min_px,
                                 Connectivity c);

// Keeps only the largest component of `label` (ties -> the first in raster order); other pixels of
// that label become 0, other labels are untouched.
LabelMap keep_largest_component(const LabelMap& labels, std::uint8_t label, Connectivity c);

// ---- binary morphology (mask: nonzero = foreground; results are 0/1) -----------------------------
// Square structuring element of side 2r+1, done as two separable 1D passes with running counts,
// so the cost does not grow with r. r <= 0 returns the mask as 0/1.

// Pixels outside the image count as background.
LabelMap dilate_square(const LabelMap& mask, int r);
// Pixels outside the image count as foreground (the dual of dilate_square), so erosion never eats
// into a mask from the image border.
LabelMap erode_square(const LabelMap& mask, int r);
// Closing (dilate then erode) computed on a canvas padded by r, i.e. exactly the closing in an
// unbounded plane, cropped: it is extensive (result contains the mask) and adds nothing just
// because the image border is near.
LabelMap close_square(const LabelMap& mask, int r);
// Opening (erode then dilate) on the same padded canvas, so foreground touching the border is
// treated like any other.
LabelMap open_square(const LabelMap& mask, int r);

// Background regions not 4-connected to the image border become foreground (the holes of an
// 8-connected foreground). Result 0/1.
LabelMap fill_holes(const LabelMap& mask);

}  // namespace corona
