// Display orientation from a NIfTI affine: flips and a transpose only (no resampling).
#include "corona/orientation.h"

#include <cmath>
#include <cstdint>

namespace corona {

std::string DisplayOrientation::describe() const {
  std::string s = transpose ? "transposed" : "as stored";
  if (flip_x) s += ", columns mirrored";
  if (flip_y) s += ", rows mirrored";
  return s + " (radiological: image left = patient right, top = anterior)";
}

DisplayOrientation display_orientation(const Affine& a) {
  // Column 0 of the affine is the world (RAS+) direction of voxel i, column 1 that of voxel j.
  // Display columns must run towards the patient's left (world x decreasing), rows towards
  // posterior (world y decreasing).
  DisplayOrientation o;
  const double straight = std::abs(a(0, 0)) * std::abs(a(1, 1));
  const double swapped = std::abs(a(0, 1)) * std::abs(a(1, 0));
  o.transpose = swapped > straight;
  if (!o.transpose) {
    o.flip_x = a(0, 0) > 0.0;
    o.flip_y = a(1, 1) > 0.0;
  } else {
    o.flip_x = a(0, 1) > 0.0;
    o.flip_y = a(1, 0) > 0.0;
  }
  return o;
}

namespace {

// Voxel (i, j) shown at display (dx, dy).
template <class F>
void for_each_display_pixel(int nx, int ny, const DisplayOrientation& o, F&& f) {
  const int w = o.transpose ? ny : nx;
  const int h = o.transpose ? nx : ny;
  for (int dy = 0; dy < h; ++dy) {
    for (int dx = 0; dx < w; ++dx) {
      const int sx = o.flip_x ? w - 1 - dx : dx;
      const int sy = o.flip_y ? h - 1 - dy : dy;
      const int i = o.transpose ? sy : sx;
      const int j = o.transpose ? sx : sy;
      f(dx, dy, i, j);
    }
  }
}

}  // namespace

template <class T>
Image2D<T> to_display(const Image2D<T>& v, const DisplayOrientation& o) {
  Image2D<T> out(o.transpose ? v.height : v.width, o.transpose ? v.width : v.height);
  out.spacing_known = v.spacing_known;
  out.spacing_x = o.transpose ? v.spacing_y : v.spacing_x;
  out.spacing_y = o.transpose ? v.spacing_x : v.spacing_y;
  for_each_display_pixel(v.width, v.height, o, [&](int dx, int dy, int i, int j) { out.at(dx, dy) = v.at(i, j); });
  return out;
}

template <class T>
Image2D<T> from_display(const Image2D<T>& d, const DisplayOrientation& o) {
  const int nx = o.transpose ? d.height : d.width;
  const int ny = o.transpose ? d.width : d.height;
  Image2D<T> out(nx, ny);
  out.spacing_known = d.spacing_known;
  out.spacing_x = o.transpose ? d.spacing_y : d.spacing_x;
  out.spacing_y = o.transpose ? d.spacing_x : d.spacing_y;
  for_each_display_pixel(nx, ny, o, [&](int dx, int dy, int i, int j) { out.at(i, j) = d.at(dx, dy); });
  return out;
}

template Image2D<float> to_display(const Image2D<float>&, const DisplayOrientation&);
template Image2D<std::uint8_t> to_display(const Image2D<std::uint8_t>&, const DisplayOrientation&);
template Image2D<float> from_display(const Image2D<float>&, const DisplayOrientation&);
template Image2D<std::uint8_t> from_display(const Image2D<std::uint8_t>&, const DisplayOrientation&);

}  // namespace corona
