// wasm/viewer_state.h: what the viewer shows, independent of GL and the browser: the opened
// slice or volume, the reference/predicted label map, display settings and the status line.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "corona/image.h"
#include "corona/overlay.h"
#include "corona/preprocess.h"

namespace corona::viewer {

enum class FileRole : int { kImage = 0, kLabels = 1 };

struct ViewerState {
  // The image: a volume (NIfTI, HU or raw values) or a single 8-bit slice (PNG/JPEG).
  std::optional<VolumeF> volume;
  bool volume_is_hu = false;  // NIfTI input: display through a window
  std::optional<LabelVolume> labels;
  std::string image_name;
  std::string labels_name;
  int slice_index = 0;
  IntensityWindow window = kLungWindow;
  float opacity = 0.45f;
  std::vector<LabelStyle> styles = default_lesion_styles();
  std::string status = "Open a CT slice (PNG/JPEG) or volume (NIfTI), or load the demo.";
  bool status_is_error = false;

  // Opens bytes as the image or as its label map; on failure the previous data stays and the
  // status line says what was wrong. Returns true on success.
  bool open(FileRole role, const std::string& name, const std::uint8_t* data, std::size_t size);

  int slice_count() const { return volume ? volume->nz : 0; }
  // The current slice as display grey levels (windowed for HU volumes) and its labels.
  ImageU8 display_slice() const;
  std::optional<LabelMap> label_slice() const;
  // Display grey + coloured labels for the current slice.
  RgbaImage render() const;

 private:
  bool fail(const std::string& message);
};

}  // namespace corona::viewer
