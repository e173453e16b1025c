// corona_native/predict_report.h: one input's bytes (PNG/JPEG slice or NIfTI volume) -> the JSON
// report, the label mask file and the overlay PNG; the one path `coronanet predict` and the server share.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "corona/image.h"
#include "corona/image_io.h"
#include "corona/nifti.h"
#include "corona_native/progress.h"

namespace corona::native {

class Predictor;  // corona_native/inference.h

// An input decoded and checked, ready for the network. Decoding is separate from predicting so
// the server can refuse a malformed upload at once (4xx) instead of queueing it.
struct DecodedInput {
  FileKind kind = FileKind::kUnknown;  // as sniffed from the bytes, never from a name
  bool is_volume = false;              // NIfTI (2D files are volumes of one slice)
  ImageU8 image;                       // PNG/JPEG slice (8-bit lung window)
  NiftiImage nifti;                    // NIfTI volume (HU)
};

struct DecodeLimits {
  // Bound on the decoded float volume (and on what a gzip stream may inflate to).
  std::uint64_t max_voxel_bytes = std::uint64_t{2} << 30;
};

// Sniffs and decodes; errors are messages a person understands ("not a NIfTI ... (found GIF)",
// "truncated gzip stream", ...), never a crash.
Expected<DecodedInput> decode_input(const std::uint8_t* data, std::size_t size, const DecodeLimits& limits = {});

struct PredictBytesOptions {
  int batch = 8;                               // slices per forward pass (volumes)
  ProgressFn progress;                         // slices done of total (volumes; a slice reports 0/1, 1/1)
  const std::atomic<bool>* cancel = nullptr;   // once true: error kCancelledMessage
  std::string model_path;                      // report.model.path; omitted when empty (server)
  DecodeLimits limits;                         // predict_bytes only
  // false: the overlay PNG and a slice's mask PNG are not encoded now but on first request through
  // PredictionOutputs::deferred (the server: an overlay costs ~35 ms at 512² and most clients never
  // fetch it). A volume's NIfTI mask is always encoded at once: keeping its raw labels until the
  // job expires would cost a byte per voxel instead of the gzip.
  bool encode_files = true;
};

// A prediction's PNG files, encoded on first use and then cached; thread-safe. The bytes equal
// what predict_decoded writes with encode_files = true (the same functions make them).
class DeferredFiles {
 public:
  // overlay_base + labels: the overlay (render_overlay, default lesion styles, opacity 0.5), both
  // in display orientation. mask_from_labels: the mask is encode_png_gray(labels) (a slice);
  // false: the caller already holds the encoded mask (a volume's NIfTI).
  DeferredFiles(ImageU8 overlay_base, LabelMap labels, bool mask_from_labels);
  bool mask_from_labels() const { return mask_from_labels_; }
  std::vector<std::uint8_t> mask_png();
  Expected<std::vector<std::uint8_t>> overlay_png();

 private:
  std::mutex mutex_;
  const ImageU8 base_;
  const LabelMap labels_;
  const bool mask_from_labels_;
  std::optional<std::vector<std::uint8_t>> mask_, overlay_;
};

struct PredictionOutputs {
  nlohmann::json report;               // as `coronanet predict` writes it, less "input", "outputs"
  std::vector<std::uint8_t> mask;      // PNG (slice) or gzip NIfTI (volume): the labels
  std::string mask_extension;          // "png" or "nii.gz"
  std::vector<std::uint8_t> overlay_png;
  // Set (and overlay_png, and a slice's mask, left empty) when encode_files was false.
  std::shared_ptr<DeferredFiles> deferred;
};

// The core's build_report (corona/report.h) of one pass over the input's slices in display
// orientation, plus the native extras: model.device (and model.path when given), seconds and, for
// volumes, which slice the overlay shows. The caller adds "input" and "outputs" (file names are
// the caller's business; the server names nothing).
Expected<PredictionOutputs> predict_decoded(Predictor& predictor, const DecodedInput& input,
                                            const PredictBytesOptions& options);
// decode_input + predict_decoded.
Expected<PredictionOutputs> predict_bytes(Predictor& predictor, const std::uint8_t* data, std::size_t size,
                                          const PredictBytesOptions& options);

}  // namespace corona::native
