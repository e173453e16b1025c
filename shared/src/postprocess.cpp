// postprocess.cpp: activations, connected components and square morphology (see postprocess.h).
#include "corona/postprocess.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "det_math.h"

namespace corona {

namespace {

template <class T, class U>
Image2D<T> same_geometry(const Image2D<U>& src, T fill = T{}) {
  Image2D<T> out(src.width, src.height, fill);
  out.spacing_x = src.spacing_x;
  out.spacing_y = src.spacing_y;
  out.spacing_known = src.spacing_known;
  return out;
}

bool is_nan(float v) { return v != v; }

}  // namespace

// ---- activations -----------------------------------------------------------------------------

MultiChannelImage softmax(const MultiChannelImage& logits) {
  MultiChannelImage out(logits.channels, logits.width, logits.height);
  const std::size_t plane = logits.plane_size();
  const int nc = logits.channels;
  if (nc <= 0 || logits.data.size() != plane * static_cast<std::size_t>(nc)) return out;
  std::vector<double> e(static_cast<std::size_t>(nc));
  for (std::size_t p = 0; p < plane; ++p) {
    double mx = -std::numeric_limits<double>::infinity();
    bool nan = false;
    for (int c = 0; c < nc; ++c) {
      const float v = logits.data[static_cast<std::size_t>(c) * plane + p];
      nan = nan || is_nan(v);
      if (v > mx) mx = v;
    }
    double sum = 0.0;
    for (int c = 0; c < nc; ++c) {
      // Subtracting the max keeps every exponent <= 0: no overflow, and the max channel gives 1,
      // so the sum is >= 1 and the division is safe.
      e[static_cast<std::size_t>(c)] = detmath::exp(logits.data[static_cast<std::size_t>(c) * plane + p] - mx);
      sum += e[static_cast<std::size_t>(c)];
    }
    for (int c = 0; c < nc; ++c) {
      out.data[static_cast<std::size_t>(c) * plane + p] =
          nan ? std::numeric_limits<float>::quiet_NaN() : static_cast<float>(e[static_cast<std::size_t>(c)] / sum);
    }
  }
  return out;
}

LabelMap argmax(const MultiChannelImage& scores) {
  LabelMap out(scores.width, scores.height, 0);
  const std::size_t plane = scores.plane_size();
  const int nc = scores.channels < 255 ? scores.channels : 255;
  if (nc <= 0 || scores.data.size() < plane * static_cast<std::size_t>(nc)) return out;
  for (std::size_t p = 0; p < plane; ++p) {
    int best = 0;
    float best_v = scores.data[p];
    for (int c = 1; c < nc; ++c) {
      const float v = scores.data[static_cast<std::size_t>(c) * plane + p];
      // Strictly greater: an equal later channel never wins (ties -> lowest index).
      if (v > best_v || (is_nan(best_v) && !is_nan(v))) {
        best = c;
        best_v = v;
      }
    }
    out.pixels[p] = static_cast<std::uint8_t>(best);
  }
  return out;
}

ImageF sigmoid(const ImageF& logits) {
  ImageF out = same_geometry<float>(logits);
  for (std::size_t i = 0; i < logits.pixels.size(); ++i) {
    const double x = logits.pixels[i];
    // Two forms so that exp's argument is never positive (no overflow to inf/inf).
    if (x >= 0.0) {
      out.pixels[i] = static_cast<float>(1.0 / (1.0 + detmath::exp(-x)));
    } else {
      const double e = detmath::exp(x);
      out.pixels[i] = static_cast<float>(e / (1.0 + e));  // NaN falls here and stays NaN
    }
  }
  return out;
}

LabelMap threshold(const ImageF& prob, float t, std::uint8_t label) {
  LabelMap out = same_geometry<std::uint8_t>(prob);
  for (std::size_t i = 0; i < prob.pixels.size(); ++i) {
    out.pixels[i] = prob.pixels[i] >= t ? label : std::uint8_t{0};  // NaN compares false
  }
  return out;
}

// ---- connected components --------------------------------------------------------------------

namespace {

// Root of provisional label a, halving the path on the way. parent[a] <= a always: a union makes
// the smaller root the parent, and labels are created in increasing order.
std::int32_t find_root(std::vector<std::int32_t>& parent, std::int32_t a) {
  while (parent[static_cast<std::size_t>(a)] != a) {
    const std::int32_t up = parent[static_cast<std::size_t>(parent[static_cast<std::size_t>(a)])];
    parent[static_cast<std::size_t>(a)] = up;
    a = up;
  }
  return a;
}

void unite(std::vector<std::int32_t>& parent, std::int32_t a, std::int32_t b) {
  a = find_root(parent, a);
  b = find_root(parent, b);
  if (a < b) parent[static_cast<std::size_t>(b)] = a;
  else if (b < a) parent[static_cast<std::size_t>(a)] = b;
}

// Regions of the pixels where fg(value) holds; two neighbours join when same(a, b) (transitive).
// Two-pass labelling: a raster pass gives each pixel a provisional label and unites the labels of
// its earlier neighbours (left, up; with 8-connectivity also up-left and up-right); a second pass
// numbers the roots in raster order of their first pixel, which is the numbering a flood fill
// started at each unlabelled pixel in raster order gives, without its per-pixel stack and divisions.
template <class Fg, class Same>
Components label_regions(const LabelMap& m, Connectivity conn, Fg fg, Same same) {
  Components out;
  out.ids = same_geometry<std::int32_t>(m, 0);
  const int w = m.width;
  const int h = m.height;
  if (w <= 0 || h <= 0 || m.pixels.size() != static_cast<std::size_t>(w) * h) return out;
  const bool eight = conn == Connectivity::kEight;
  std::int32_t* ids = out.ids.pixels.data();
  const std::uint8_t* px = m.pixels.data();
  std::vector<std::int32_t> parent(1, 0);  // label 0: background
  for (int y = 0; y < h; ++y) {
    const std::size_t row = static_cast<std::size_t>(y) * w;
    for (int x = 0; x < w; ++x) {
      const std::size_t i = row + x;
      const std::uint8_t v = px[i];
      if (!fg(v)) continue;
      std::int32_t label = 0;
      // ids[j] != 0 only on foreground pixels already visited.
      auto join = [&](std::size_t j) {
        if (ids[j] == 0 || !same(v, px[j])) return;
        if (label == 0) label = ids[j];
        else if (ids[j] != label) unite(parent, label, ids[j]);
      };
      if (x > 0) join(i - 1);
      if (y > 0) {
        join(i - static_cast<std::size_t>(w));
        if (eight && x > 0) join(i - static_cast<std::size_t>(w) - 1);
        if (eight && x + 1 < w) join(i - static_cast<std::size_t>(w) + 1);
      }
      if (label == 0) {
        label = static_cast<std::int32_t>(parent.size());
        parent.push_back(label);
      }
      ids[i] = label;
    }
  }
  // Flatten: parents come before their children, so one forward pass reaches every root.
  for (std::size_t k = 1; k < parent.size(); ++k) parent[k] = parent[static_cast<std::size_t>(parent[k])];
  std::vector<std::int32_t> number(parent.size(), 0);
  std::vector<std::uint64_t> sum_x, sum_y;
  for (int y = 0; y < h; ++y) {
    const std::size_t row = static_cast<std::size_t>(y) * w;
    for (int x = 0; x < w; ++x) {
      std::int32_t& id = ids[row + x];
      if (id == 0) continue;
      std::int32_t& n = number[static_cast<std::size_t>(parent[static_cast<std::size_t>(id)])];
      if (n == 0) {
        n = static_cast<std::int32_t>(out.sizes.size() + 1);
        out.sizes.push_back(0);
        out.boxes.push_back(BoundingBox{x, y, x, y});
        sum_x.push_back(0);
        sum_y.push_back(0);
      }
      id = n;
      const auto k = static_cast<std::size_t>(n - 1);
      ++out.sizes[k];
      sum_x[k] += static_cast<std::uint64_t>(x);
      sum_y[k] += static_cast<std::uint64_t>(y);
      BoundingBox& box = out.boxes[k];
      box.min_x = std::min(box.min_x, x);
      box.max_x = std::max(box.max_x, x);
      box.max_y = y;  // rows come in order
    }
  }
  for (std::size_t k = 0; k < out.sizes.size(); ++k) {
    out.centroid_x.push_back(static_cast<double>(sum_x[k]) / static_cast<double>(out.sizes[k]));
    out.centroid_y.push_back(static_cast<double>(sum_y[k]) / static_cast<double>(out.sizes[k]));
  }
  return out;
}

bool lesion_like(std::uint8_t v) { return v != 0 && v != kIgnoreLabel; }

}  // namespace

Components connected_components(const LabelMap& mask, std::uint8_t label, Connectivity c) {
  return label_regions(
      mask, c, [label](std::uint8_t v) { return v == label; },
      [](std::uint8_t, std::uint8_t) { return true; });
}

Components connected_components_nonzero(const LabelMap& mask, Connectivity c) {
  return label_regions(mask, c, lesion_like, [](std::uint8_t, std::uint8_t) { return true; });
}

LabelMap remove_small_components(const LabelMap& labels, const std::vector<std::uint64_t>& min_px,
                                 Connectivity c) {
  // One pass for all classes: a region is a set of connected pixels of ONE class value.
  const Components cc = label_regions(labels, c, lesion_like,
                                      [](std::uint8_t a, std::uint8_t b) { return a == b; });
  LabelMap out = labels;
  for (std::size_t i = 0; i < out.pixels.size(); ++i) {
    const std::int32_t id = cc.ids.pixels[i];
    if (id == 0) continue;
    const std::uint8_t v = labels.pixels[i];
    if (v < min_px.size() && cc.sizes[static_cast<std::size_t>(id - 1)] < min_px[v]) out.pixels[i] = 0;
  }
  return out;
}

LabelMap remove_small_components(const LabelMap& labels, std::uint64_t min_px, Connectivity c) {
  std::vector<std::uint64_t> per_class(255, min_px);
  return remove_small_components(labels, per_class, c);
}

LabelMap keep_largest_component(const LabelMap& labels, std::uint8_t label, Connectivity c) {
  const Components cc = connected_components(labels, label, c);
  LabelMap out = labels;
  if (cc.count() == 0) return out;
  std::size_t best = 0;
  for (std::size_t k = 1; k < cc.count(); ++k) {
    if (cc.sizes[k] > cc.sizes[best]) best = k;  // strict: ties keep the first in raster order
  }
  for (std::size_t i = 0; i < out.pixels.size(); ++i) {
    const std::int32_t id = cc.ids.pixels[i];
    if (id != 0 && static_cast<std::size_t>(id - 1) != best) out.pixels[i] = 0;
  }
  return out;
}

// ---- binary morphology -----------------------------------------------------------------------

namespace {

// out[j] = a[j] | b[j] (erode: &), j < count: a loop the compiler vectorises (out aliases neither).
void combine(std::uint8_t* __restrict out, const std::uint8_t* a, const std::uint8_t* b, std::size_t count,
             bool erode) {
  if (erode) {
    for (std::size_t j = 0; j < count; ++j) out[j] = a[j] & b[j];
  } else {
    for (std::size_t j = 0; j < count; ++j) out[j] = a[j] | b[j];
  }
}

// `cur` holds n cells of `width` bytes. Returns the buffer (cur or spare, same size) whose cell i,
// for i <= n - L, is the OR (erode: AND) of cells i .. i + L - 1. Windows double in length each
// pass (1, 2, 4, ...; then two overlapping ones make L): log2(L) + 1 passes, each a vectorised
// combine of whole rows, instead of running counts pixel by pixel.
std::uint8_t* window_reduce(std::uint8_t* cur, std::uint8_t* spare, std::size_t n, std::size_t width, std::size_t L,
                            bool erode) {
  std::size_t k = 1;
  for (; 2 * k <= L; k *= 2) {
    combine(spare, cur, cur + k * width, (n - 2 * k + 1) * width, erode);
    std::swap(cur, spare);
  }
  if (L > k) {
    combine(spare, cur, cur + (L - k) * width, (n - L + 1) * width, erode);
    std::swap(cur, spare);
  }
  return cur;
}

// One 1D pass of a (2r+1) box along rows (horizontal) or columns, in place on a 0/1 buffer.
// Dilation: any foreground in the window, outside = background. Erosion: all in-range pixels are
// foreground, i.e. outside = foreground. Both by padding with r cells of that value.
void box_pass(std::vector<std::uint8_t>& buf, int w, int h, int r, bool horizontal, bool erode) {
  const std::uint8_t outside = erode ? 1 : 0;
  const std::size_t W = static_cast<std::size_t>(w), H = static_cast<std::size_t>(h), R = static_cast<std::size_t>(r);
  const std::size_t L = 2 * R + 1;
  if (!horizontal) {  // cells are whole rows
    std::vector<std::uint8_t> a((H + 2 * R) * W, outside), b(a.size());
    std::copy(buf.begin(), buf.end(), a.begin() + static_cast<std::ptrdiff_t>(R * W));
    const std::uint8_t* out = window_reduce(a.data(), b.data(), H + 2 * R, W, L, erode);
    std::copy(out, out + H * W, buf.begin());
    return;
  }
  std::vector<std::uint8_t> a(W + 2 * R, outside), b(a.size());
  for (std::size_t y = 0; y < H; ++y) {
    std::uint8_t* row = &buf[y * W];
    std::fill(a.begin(), a.end(), outside);
    std::copy(row, row + W, a.begin() + static_cast<std::ptrdiff_t>(R));
    const std::uint8_t* out = window_reduce(a.data(), b.data(), W + 2 * R, 1, L, erode);
    std::copy(out, out + W, row);
  }
}

void box_filter(std::vector<std::uint8_t>& buf, int w, int h, int r, bool erode) {
  box_pass(buf, w, h, r, true, erode);
  box_pass(buf, w, h, r, false, erode);
}

LabelMap binary_copy(const LabelMap& mask) {
  LabelMap out = mask;
  for (auto& v : out.pixels) v = v ? 1 : 0;
  return out;
}

bool valid(const LabelMap& m) {
  return m.width > 0 && m.height > 0 && m.pixels.size() == static_cast<std::size_t>(m.width) * m.height;
}

LabelMap single_op(const LabelMap& mask, int r, bool erode) {
  LabelMap out = binary_copy(mask);
  if (r <= 0 || !valid(mask)) return out;
  box_filter(out.pixels, out.width, out.height, r, erode);
  return out;
}

// Two operations on a canvas padded by r on every side, then cropped back. Within the padded
// canvas every window of an in-image pixel is fully inside, so border conventions never matter.
LabelMap padded_pair(const LabelMap& mask, int r, bool erode_first) {
  LabelMap out = binary_copy(mask);
  if (r <= 0 || !valid(mask)) return out;
  const int pw = mask.width + 2 * r;
  const int ph = mask.height + 2 * r;
  std::vector<std::uint8_t> canvas(static_cast<std::size_t>(pw) * ph, 0);
  const std::size_t w = static_cast<std::size_t>(mask.width);
  auto canvas_row = [&](int y) { return canvas.begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(y + r) * pw + r); };
  auto out_row = [&](int y) { return out.pixels.begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(y) * w); };
  for (int y = 0; y < mask.height; ++y) std::copy(out_row(y), out_row(y) + static_cast<std::ptrdiff_t>(w), canvas_row(y));
  box_filter(canvas, pw, ph, r, erode_first);
  box_filter(canvas, pw, ph, r, !erode_first);
  for (int y = 0; y < mask.height; ++y) std::copy(canvas_row(y), canvas_row(y) + static_cast<std::ptrdiff_t>(w), out_row(y));
  return out;
}

}  // namespace

LabelMap dilate_square(const LabelMap& mask, int r) { return single_op(mask, r, false); }
LabelMap erode_square(const LabelMap& mask, int r) { return single_op(mask, r, true); }
LabelMap close_square(const LabelMap& mask, int r) { return padded_pair(mask, r, false); }
LabelMap open_square(const LabelMap& mask, int r) { return padded_pair(mask, r, true); }

LabelMap fill_holes(const LabelMap& mask) {
  LabelMap out = binary_copy(mask);
  if (!valid(mask)) return out;
  const int w = mask.width;
  const int h = mask.height;
  // Flood the background from every border pixel (4-connected); what it cannot reach is a hole.
  std::vector<std::uint8_t> outside(out.pixels.size(), 0);
  std::vector<std::uint32_t> stack;
  auto seed = [&](int x, int y) {
    const std::size_t i = static_cast<std::size_t>(y) * w + x;
    if (out.pixels[i] == 0 && !outside[i]) {
      outside[i] = 1;
      stack.push_back(static_cast<std::uint32_t>(i));
    }
  };
  for (int x = 0; x < w; ++x) {
    seed(x, 0);
    seed(x, h - 1);
  }
  for (int y = 0; y < h; ++y) {
    seed(0, y);
    seed(w - 1, y);
  }
  while (!stack.empty()) {
    const std::uint32_t i = stack.back();
    stack.pop_back();
    const int x = static_cast<int>(i % static_cast<std::uint32_t>(w));
    const int y = static_cast<int>(i / static_cast<std::uint32_t>(w));
    if (x > 0) seed(x - 1, y);
    if (x + 1 < w) seed(x + 1, y);
    if (y > 0) seed(x, y - 1);
    if (y + 1 < h) seed(x, y + 1);
  }
  for (std::size_t i = 0; i < out.pixels.size(); ++i) {
    if (!outside[i]) out.pixels[i] = 1;
  }
  return out;
}

}  // namespace corona
