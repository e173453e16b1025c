// corona_native/inference.h: a trained checkpoint turned into per-slice predictions (label map,
// class probabilities, lesion probability, infected probability, CAM) at the slice's own size;
// the one inference path that `evaluate`, `predict` and the server share.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "corona/image.h"
#include "corona/orientation.h"
#include "corona/segmentation.h"
#include "corona_native/checkpoint.h"
#include "corona_native/model_package.h"
#include "corona_native/progress.h"

namespace corona::native {

struct PredictorOptions {
  int threads = 0;               // torch::set_num_threads; 0 = all cores
  std::string device = "auto";   // "auto" (CUDA when available), "cpu", "cuda"
};

// SlicePrediction and segmentation_from_logits (labels, probabilities, CAM at the slice's size)
// are the core's (corona/segmentation.h), shared with the browser.

// A whole volume, slice by slice along voxel axis k (assumed axial).
struct VolumePrediction {
  LabelVolume labels;                       // same nx, ny, nz, spacing and affine as the input
  std::vector<float> infected_probability;  // per slice k (NaN without head)
  std::vector<std::uint64_t> lesion_px;     // per slice: pixels with label != 0
};

// DisplayOrientation, display_orientation, to_display, from_display: corona/orientation.h.

// ProgressFn and kCancelledMessage: corona_native/progress.h.

class Predictor {
 public:
  // Loads a model folder (plans.json + weights, e.g. models/corona-net) or a checkpoint file from
  // coronanet train (resolve_model), eval mode, on the chosen device.
  static Expected<Predictor> load(const std::string& model_path, const PredictorOptions& options = {});

  Predictor(Predictor&&) noexcept;
  Predictor& operator=(Predictor&&) noexcept;
  ~Predictor();

  const CheckpointMeta& meta() const;
  // Preprocessing/postprocessing parameters, names and versions: the folder's plans.json, or
  // plans_from_checkpoint for a bare checkpoint. HU input uses plans().hu_window.
  const ModelPlans& plans() const;
  int num_classes() const;
  bool has_classification_head() const;
  std::string device_name() const;  // "cpu" or "cuda"
  int threads() const;

  // Caller's work that needs no network output (predict's and the server's lung mask). It runs on
  // the network's second thread while the first post-processes the output at the slice's size
  // (single-threaded, ~12 ms at 512²), so it costs no time of its own; with one thread, after it.
  // Not run when the network fails.
  using BesideFn = std::function<void()>;

  // An 8-bit lung-window slice (as the training PNGs): model_input_from_u8 at the checkpoint's
  // input size and normalisation.
  Expected<SlicePrediction> predict_slice(const ImageU8& display_8bit, const BesideFn& beside = {});
  // A slice in Hounsfield units: apply_window(plans().hu_window) to 0..255 floats (unrounded), then
  // model_input_from_float. The slice is used as given (no reorientation).
  Expected<SlicePrediction> predict_hu_slice(const ImageF& hu);
  // Several network inputs (already model_input_* at input_size) of slices that all had the size
  // width x height, in batches of `batch`.
  Expected<std::vector<SlicePrediction>> predict_inputs(const std::vector<ImageF>& model_inputs, int width,
                                                        int height, int batch, const BesideFn& beside = {});
  // An HU volume: each slice k is put in display orientation (display_orientation(hu.affine)),
  // predicted as predict_hu_slice does, in batches, and its labels put back in voxel order.
  // `cancel` (optional) is read before each batch: once true, the call stops with the error
  // kCancelledMessage (the server's DELETE on a running job sets it).
  Expected<VolumePrediction> predict_volume(const VolumeF& hu, int batch, const ProgressFn& progress = {},
                                            const std::atomic<bool>* cancel = nullptr);

 private:
  struct State;
  explicit Predictor(std::unique_ptr<State> state);
  template <class T>
  Expected<SlicePrediction> predict_one(const Image2D<T>& slice, const ImageF& model_input,
                                        const BesideFn& beside = {});
  std::unique_ptr<State> state_;
};

// The name used in reports for class value c of a model with num_classes classes
// ("background", "ggo", "consolidation", "effusion"; binary: "background", "lesion").
std::string class_name(int num_classes, int c);

}  // namespace corona::native
