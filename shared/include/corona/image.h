// corona/image.h: the image types every core module shares (2D slices, 3D volumes, multi-channel
// maps) and the Expected<T> result type that loaders and transforms return instead of throwing.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace corona {

// Label value meaning "class unknown": ignored by losses, metrics and severity.
constexpr std::uint8_t kIgnoreLabel = 255;

// An error that says what failed and where (file, offset, field), never an abort.
struct Error {
  std::string message;
};

// Either a value or an Error. Small on purpose: C++17 has no std::expected.
template <class T>
class Expected {
 public:
  Expected(T value) : state_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Expected(Error error) : state_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return std::holds_alternative<T>(state_); }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<T>(state_); }
  const T& value() const& { return std::get<T>(state_); }
  T&& value() && { return std::get<T>(std::move(state_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  const Error& error() const { return std::get<Error>(state_); }

 private:
  std::variant<T, Error> state_;
};

inline Error make_error(std::string message) { return Error{std::move(message)}; }

// A 2D image, row-major: pixel (x, y) is pixels[y * width + x]. Spacing in mm per pixel;
// spacing_known is false for sources without geometry (PNG/JPEG), so areas stay in pixels.
template <class T>
struct Image2D {
  int width = 0;
  int height = 0;
  double spacing_x = 1.0;
  double spacing_y = 1.0;
  bool spacing_known = false;
  std::vector<T> pixels;

  Image2D() = default;
  Image2D(int w, int h, T fill = T{})
      : width(w), height(h), pixels(static_cast<std::size_t>(w) * static_cast<std::size_t>(h), fill) {}

  std::size_t size() const { return pixels.size(); }
  bool empty() const { return pixels.empty(); }
  T& at(int x, int y) { return pixels[static_cast<std::size_t>(y) * width + x]; }
  const T& at(int x, int y) const { return pixels[static_cast<std::size_t>(y) * width + x]; }
};

using ImageF = Image2D<float>;
using ImageU8 = Image2D<std::uint8_t>;
using LabelMap = Image2D<std::uint8_t>;  // 0 background, 1.. classes, 255 ignore

// Voxel index (i, j, k, 1) -> world mm (RAS+, as NIfTI defines it), row-major 4x4.
struct Affine {
  std::array<double, 16> m{1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1};
  double operator()(int row, int col) const { return m[static_cast<std::size_t>(row) * 4 + col]; }
  double& operator()(int row, int col) { return m[static_cast<std::size_t>(row) * 4 + col]; }
};

// A 3D volume, x fastest: voxel (x, y, z) is voxels[(z * ny + y) * nx + x] (NIfTI order).
template <class T>
struct Volume {
  int nx = 0;
  int ny = 0;
  int nz = 0;
  std::array<double, 3> spacing{1.0, 1.0, 1.0};  // mm
  Affine affine;
  std::vector<T> voxels;

  Volume() = default;
  Volume(int x, int y, int z, T fill = T{})
      : nx(x), ny(y), nz(z),
        voxels(static_cast<std::size_t>(x) * static_cast<std::size_t>(y) * static_cast<std::size_t>(z), fill) {}

  std::size_t size() const { return voxels.size(); }
  T& at(int x, int y, int z) { return voxels[(static_cast<std::size_t>(z) * ny + y) * nx + x]; }
  const T& at(int x, int y, int z) const { return voxels[(static_cast<std::size_t>(z) * ny + y) * nx + x]; }

  // Axial slice z as a 2D image carrying the in-plane spacing.
  Image2D<T> slice(int z) const {
    Image2D<T> out(nx, ny);
    out.spacing_x = spacing[0];
    out.spacing_y = spacing[1];
    out.spacing_known = true;
    const std::size_t n = static_cast<std::size_t>(nx) * ny;
    std::copy(voxels.begin() + static_cast<std::ptrdiff_t>(z * n),
              voxels.begin() + static_cast<std::ptrdiff_t>((z + 1) * n), out.pixels.begin());
    return out;
  }
  void set_slice(int z, const Image2D<T>& img) {
    const std::size_t n = static_cast<std::size_t>(nx) * ny;
    std::copy(img.pixels.begin(), img.pixels.end(), voxels.begin() + static_cast<std::ptrdiff_t>(z * n));
  }
};

using VolumeF = Volume<float>;
using LabelVolume = Volume<std::uint8_t>;

// Channel-major maps (a model's logits or probabilities for one slice): value (c, x, y) is
// data[(c * height + y) * width + x], the NCHW layout of a batch of one.
struct MultiChannelImage {
  int channels = 0;
  int width = 0;
  int height = 0;
  std::vector<float> data;

  MultiChannelImage() = default;
  MultiChannelImage(int c, int w, int h, float fill = 0.0f)
      : channels(c), width(w), height(h),
        data(static_cast<std::size_t>(c) * static_cast<std::size_t>(w) * static_cast<std::size_t>(h), fill) {}

  std::size_t plane_size() const { return static_cast<std::size_t>(width) * height; }
  float& at(int c, int x, int y) { return data[(static_cast<std::size_t>(c) * height + y) * width + x]; }
  float at(int c, int x, int y) const { return data[(static_cast<std::size_t>(c) * height + y) * width + x]; }
};

}  // namespace corona
