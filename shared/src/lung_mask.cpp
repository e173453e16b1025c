// lung_mask.cpp: classic lung mask (threshold, outside-air removal, component picking, closing,
// hole filling); see lung_mask.h for the pipeline and why each default is what it is.
#include "corona/lung_mask.h"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "corona/postprocess.h"
#include "corona/preprocess.h"

namespace corona {

namespace {

bool valid_size(int w, int h, std::size_t n) {
  return w > 0 && h > 0 && n == static_cast<std::size_t>(w) * static_cast<std::size_t>(h);
}

template <class T>
LabelMap empty_like(const Image2D<T>& src) {
  LabelMap out(src.width > 0 ? src.width : 0, src.height > 0 ? src.height : 0, 0);
  out.spacing_x = src.spacing_x;
  out.spacing_y = src.spacing_y;
  out.spacing_known = src.spacing_known;
  return out;
}

// Air 4-connected to the image border is outside the patient (room air, table gaps).
LabelMap outside_air(const LabelMap& air) {
  const Components cc = connected_components(air, 1, Connectivity::kFour);
  std::vector<std::uint8_t> touches(cc.count(), 0);
  for (std::size_t k = 0; k < cc.count(); ++k) {
    const BoundingBox& b = cc.boxes[k];
    touches[k] = b.min_x == 0 || b.min_y == 0 || b.max_x == air.width - 1 || b.max_y == air.height - 1;
  }
  LabelMap out = empty_like(air);
  for (std::size_t i = 0; i < out.pixels.size(); ++i) {
    const std::int32_t id = cc.ids.pixels[i];
    out.pixels[i] = id != 0 && touches[static_cast<std::size_t>(id - 1)] ? 1 : 0;
  }
  return out;
}

// The body's vertical midline: halfway between the first and last column holding any pixel that
// is not outside air. Returns false when the whole image is outside air.
bool body_midline(const LabelMap& outside, double* mid, double* width) {
  // Which columns hold any such pixel, read row by row (a column walk strides through memory).
  std::vector<std::uint8_t> column_has_body(static_cast<std::size_t>(outside.width), 0);
  for (int y = 0; y < outside.height; ++y) {
    const std::uint8_t* row = &outside.pixels[static_cast<std::size_t>(y) * outside.width];
    for (int x = 0; x < outside.width; ++x) column_has_body[static_cast<std::size_t>(x)] |= row[x] == 0 ? 1 : 0;
  }
  int lo = -1, hi = -1;
  for (int x = 0; x < outside.width; ++x) {
    if (!column_has_body[static_cast<std::size_t>(x)]) continue;
    if (lo < 0) lo = x;
    hi = x;
  }
  if (lo < 0) return false;
  *mid = (lo + hi) / 2.0;
  *width = hi - lo + 1;
  return true;
}

struct Picked {
  LabelMap right;  // 0/1 masks
  LabelMap left;
};

// The column near the midline where the component is thinnest: the anterior junction line.
// Ties: the column closest to the midline, then the lower column.
int thinnest_column(const Components& cc, std::int32_t id, double mid, double search) {
  const int w = cc.ids.width;
  std::vector<std::uint64_t> per_col(static_cast<std::size_t>(w), 0);
  for (int y = 0; y < cc.ids.height; ++y) {
    for (int x = 0; x < w; ++x) per_col[static_cast<std::size_t>(x)] += cc.ids.at(x, y) == id ? 1 : 0;
  }
  const int lo = std::max(0, static_cast<int>(mid - search));
  const int hi = std::min(w - 1, static_cast<int>(mid + search));
  int best = lo;
  for (int x = lo; x <= hi; ++x) {
    const std::uint64_t a = per_col[static_cast<std::size_t>(x)];
    const std::uint64_t b = per_col[static_cast<std::size_t>(best)];
    const double da = x > mid ? x - mid : mid - x;
    const double db = best > mid ? best - mid : mid - best;
    if (a < b || (a == b && da < db)) best = x;
  }
  return best;
}

// Share of the component's pixels on its minority side of the midline.
double minority_share(const Components& cc, std::int32_t id, double mid) {
  std::uint64_t left_of = 0, right_of = 0;
  for (int y = 0; y < cc.ids.height; ++y) {
    for (int x = 0; x < cc.ids.width; ++x) {
      if (cc.ids.at(x, y) != id) continue;
      if (x < mid) ++left_of; else if (x > mid) ++right_of;
    }
  }
  const std::uint64_t n = cc.sizes[static_cast<std::size_t>(id - 1)];
  return static_cast<double>(std::min(left_of, right_of)) / static_cast<double>(n);
}

// Pixels of component id whose column satisfies keep(x), as a 0/1 mask.
template <class Keep>
LabelMap component_mask(const Components& cc, std::int32_t id, Keep keep) {
  LabelMap out = empty_like(cc.ids);
  for (int y = 0; y < cc.ids.height; ++y) {
    for (int x = 0; x < cc.ids.width; ++x) out.at(x, y) = cc.ids.at(x, y) == id && keep(x) ? 1 : 0;
  }
  return out;
}

Picked pick_lungs(const LabelMap& merged, double mid, double body_width, const LungMaskOptions& o) {
  const Components cc = connected_components(merged, 1, Connectivity::kFour);
  Picked p{empty_like(merged), empty_like(merged)};
  std::vector<std::size_t> order(cc.count());
  for (std::size_t k = 0; k < order.size(); ++k) order[k] = k;
  // Largest first; equal sizes keep raster order, so the choice is deterministic.
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return cc.sizes[a] > cc.sizes[b]; });
  const double total = static_cast<double>(merged.width) * static_cast<double>(merged.height);
  const double min_px = o.min_lung_fraction * total;
  if (order.empty() || static_cast<double>(cc.sizes[order[0]]) < min_px) return p;

  const auto top = static_cast<std::int32_t>(order[0] + 1);
  if (minority_share(cc, top, mid) >= o.straddle_fraction) {
    const int cut = thinnest_column(cc, top, mid, o.split_search_fraction * body_width);
    p.right = component_mask(cc, top, [cut](int x) { return x < cut; });
    p.left = component_mask(cc, top, [cut](int x) { return x > cut; });
    return p;
  }
  bool have_right = false, have_left = false;
  for (std::size_t k : order) {
    if (static_cast<double>(cc.sizes[k]) < min_px) break;
    const bool right = cc.centroid_x[k] < mid;  // image left half = patient right
    bool& have = right ? have_right : have_left;
    if (have) continue;  // a smaller piece on a side already taken: a fragment, the trachea, ...
    (right ? p.right : p.left) = component_mask(cc, static_cast<std::int32_t>(k + 1), [](int) { return true; });
    have = true;
    if (have_right && have_left) break;
  }
  return p;
}

// Mean column of a 0/1 mask; false when empty.
bool centroid_x(const LabelMap& m, double* cx) {
  std::uint64_t n = 0, sx = 0;
  for (int y = 0; y < m.height; ++y) {
    for (int x = 0; x < m.width; ++x) {
      if (m.at(x, y)) {
        ++n;
        sx += static_cast<std::uint64_t>(x);
      }
    }
  }
  if (n == 0) return false;
  *cx = static_cast<double>(sx) / static_cast<double>(n);
  return true;
}

// fill_holes(close_square(mask, r)), computed on the mask's bounding box grown by r + 1 (a lung
// is a third of the slice). The same result: the closing cannot reach further than r from the
// mask, and background outside the box is connected to the image border, as the crop's border is.
LabelMap close_and_fill(const LabelMap& mask, int r) {
  int x0 = mask.width, y0 = mask.height, x1 = -1, y1 = -1;
  for (int y = 0; y < mask.height; ++y) {
    for (int x = 0; x < mask.width; ++x) {
      if (!mask.at(x, y)) continue;
      x0 = std::min(x0, x);
      x1 = std::max(x1, x);
      y0 = std::min(y0, y);
      y1 = std::max(y1, y);
    }
  }
  LabelMap out = empty_like(mask);
  if (x1 < 0) return out;
  const int m = std::max(0, r) + 1;
  x0 = std::max(0, x0 - m);
  y0 = std::max(0, y0 - m);
  x1 = std::min(mask.width - 1, x1 + m);
  y1 = std::min(mask.height - 1, y1 + m);
  const LabelMap box = fill_holes(close_square(crop(mask, x0, y0, x1 - x0 + 1, y1 - y0 + 1), r));
  for (int y = y0; y <= y1; ++y) {
    for (int x = x0; x <= x1; ++x) out.at(x, y) = box.at(x - x0, y - y0);
  }
  return out;
}

}  // namespace

LabelMap lung_mask_from_air(const LabelMap& air_in, const LungMaskOptions& o) {
  LabelMap out = empty_like(air_in);
  if (!valid_size(air_in.width, air_in.height, air_in.pixels.size())) return out;
  LabelMap air = air_in;
  for (auto& v : air.pixels) v = v ? 1 : 0;

  const LabelMap outside = outside_air(air);
  double mid = 0.0, body_width = 0.0;
  if (!body_midline(outside, &mid, &body_width)) return out;
  LabelMap interior = air;
  for (std::size_t i = 0; i < interior.pixels.size(); ++i) {
    if (outside.pixels[i]) interior.pixels[i] = 0;
  }

  Picked p = pick_lungs(close_square(interior, o.merge_radius_px), mid, body_width, o);
  double cx_right = 0.0, cx_left = 0.0;
  const bool has_right = centroid_x(p.right, &cx_right);
  const bool has_left = centroid_x(p.left, &cx_left);
  // Pixels both closed lungs claim go by side of the line halfway between the lungs.
  const double split = has_right && has_left ? (cx_right + cx_left) / 2.0 : mid;
  const LabelMap right = has_right ? close_and_fill(p.right, o.closing_radius_px) : p.right;
  const LabelMap left = has_left ? close_and_fill(p.left, o.closing_radius_px) : p.left;
  for (int y = 0; y < out.height; ++y) {
    for (int x = 0; x < out.width; ++x) {
      const bool r = right.at(x, y) != 0;
      const bool l = left.at(x, y) != 0;
      if (r && l) {
        out.at(x, y) = x < split ? kLungRight : kLungLeft;
      } else if (r || l) {
        out.at(x, y) = r ? kLungRight : kLungLeft;
      }
    }
  }
  return out;
}

LabelMap lung_mask_from_u8(const ImageU8& img, const LungMaskOptions& o) {
  if (!valid_size(img.width, img.height, img.pixels.size())) return empty_like(img);
  // A byte stands for lower + v / 255 * width HU; decide each of the 256 values once.
  std::array<std::uint8_t, 256> is_air{};
  const double lower = static_cast<double>(o.window.center) - static_cast<double>(o.window.width) / 2.0;
  for (int v = 0; v < 256; ++v) {
    const double hu = lower + v / 255.0 * static_cast<double>(o.window.width);
    is_air[static_cast<std::size_t>(v)] = hu < static_cast<double>(o.air_threshold_hu) ? 1 : 0;
  }
  LabelMap air = empty_like(img);
  for (std::size_t i = 0; i < img.pixels.size(); ++i) air.pixels[i] = is_air[img.pixels[i]];
  return lung_mask_from_air(air, o);
}

LabelMap lung_mask_from_hu(const ImageF& hu, const LungMaskOptions& o) {
  if (!valid_size(hu.width, hu.height, hu.pixels.size())) return empty_like(hu);
  LabelMap air = empty_like(hu);
  for (std::size_t i = 0; i < hu.pixels.size(); ++i) {
    air.pixels[i] = hu.pixels[i] < o.air_threshold_hu ? 1 : 0;  // NaN compares false: not air
  }
  return lung_mask_from_air(air, o);
}

}  // namespace corona
