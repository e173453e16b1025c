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
  // plans_from_checkpoint for a bare checkpoint. plans().input is how every slice becomes input.
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

  // An 8-bit lung-window slice (as the training PNGs): model_input_from_u8(plans().input).
  Expected<SlicePrediction> predict_slice(const ImageU8& display_8bit, const BesideFn& beside = {});
  // A slice in Hounsfield units: model_input_from_hu(plans().input), the slice used as given (no
  // reorientation).
  Expected<SlicePrediction> predict_hu_slice(const ImageF& hu);
  // Several network inputs (already model_input_* at input_size) of slices that all had the size
  // width x height, in batches of `batch`.
  Expected<std::vector<SlicePrediction>> predict_inputs(const std::vector<ImageF>& model_inputs, int width,
                                                        int height, int batch, const BesideFn& beside = {});
  // Volumes: predict_decoded (predict_report.h) runs the one per-slice pass over display slices.

 private:
  struct State;
  explicit Predictor(std::unique_ptr<State> state);
  template <class T>
  Expected<SlicePrediction> predict_one(const Image2D<T>& slice, const ImageF& model_input,
                                        const BesideFn& beside = {});
  std::unique_ptr<State> state_;
};

}  // namespace corona::native
