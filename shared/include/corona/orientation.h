// corona/orientation.h: how an axial slice stored in voxel order is shown in radiological display
// orientation (the orientation of the training PNGs), and back. Server, CLI and viewer share it.
#pragma once

#include <string>

#include "corona/image.h"

namespace corona {

// How an axial slice in voxel order (x = column index i, y = row index j) is shown in radiological
// display orientation: image left = patient right, image top = anterior. Derived from the affine's
// rotation part (dominant components, so oblique affines pick the nearest axis); only flips and a
// transpose, never resampling.
struct DisplayOrientation {
  bool transpose = false;  // display column follows voxel j (and row follows i)
  bool flip_x = false;     // after the optional transpose: mirror columns
  bool flip_y = false;     // mirror rows
  std::string describe() const;
};
DisplayOrientation display_orientation(const Affine& affine);

// Voxel-order slice -> display; display -> voxel order (exact inverse). Spacing follows the axes.
template <class T>
Image2D<T> to_display(const Image2D<T>& voxel_slice, const DisplayOrientation& o);
template <class T>
Image2D<T> from_display(const Image2D<T>& display_slice, const DisplayOrientation& o);

}  // namespace corona
