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
#include "corona_native/checkpoint.h"
#include "corona_native/model_package.h"
#include "corona_native/progress.h"

namespace corona::native {

struct PredictorOptions {
  int threads = 0;               // torch::set_num_threads; 0 = all cores
  std::string device = "auto";   // "auto" (CUDA when available), "cpu", "cuda"
};

// One slice's prediction, everything at the ORIGINAL slice size (width x height of the input):
// the network runs at the checkpoint's input size; its softmax probabilities are resized back
// bilinearly (resize_bilinear, half-pixel) and only then argmax'ed.
struct SlicePrediction {
  LabelMap labels;                    // argmax of probabilities: 0..num_classes-1 (binary task: 0/1)
  MultiChannelImage probabilities;    // num_classes channels, softmax, original size
  ImageF lesion_probability;          // 1 - P(background), original size
  float infected_probability = std::numeric_limits<float>::quiet_NaN();  // sigmoid(cls_logit); NaN without head
  ImageF cam;                         // class activation map in [0, 1], original size; empty without head
};

// The one path from a network's segmentation logits (num_classes x size x size, channel-major) to
// labels and probabilities at the slice's width x height: the core's softmax at the network's
// size, each class resized with resize_bilinear, the core's argmax. The Predictor and the
// trainer's validation both use it, so val figures during training equal `evaluate`'s.
SlicePrediction segmentation_from_logits(const float* logits, int num_classes, int size, int width, int height);

// A whole volume, slice by slice along voxel axis k (assumed axial).
struct VolumePrediction {
  LabelVolume labels;                       // same nx, ny, nz, spacing and affine as the input
  std::vector<float> infected_probability;  // per slice k (NaN without head)
  std::vector<std::uint64_t> lesion_px;     // per slice: pixels with label != 0
};

// How an axial slice in voxel order (x = column index i, y = row index j) is shown in radiological
// display orientation, the orientation of the training PNGs: image left = patient right, image
// top = anterior. Derived from the affine's rotation part (dominant components, so oblique
// affines pick the nearest axis); only flips and a transpose, never resampling.
struct DisplayOrientation {
  bool transpose = false;  // display column follows voxel j (and row follows i)
  bool flip_x = false;     // after the optional transpose: mirror columns
  bool flip_y = false;     // mirror rows
  std::string describe() const;
};
DisplayOrientation display_orientation(const Affine& affine);
// Voxel-order slice -> display; display -> voxel order (exact inverse).
template <class T>
Image2D<T> to_display(const Image2D<T>& voxel_slice, const DisplayOrientation& o);
template <class T>
Image2D<T> from_display(const Image2D<T>& display_slice, const DisplayOrientation& o);

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

  // An 8-bit lung-window slice (as the training PNGs): model_input_from_u8 at the checkpoint's
  // input size and normalisation.
  Expected<SlicePrediction> predict_slice(const ImageU8& display_8bit);
  // A slice in Hounsfield units: apply_window(plans().hu_window) to 0..255 floats (unrounded), then
  // model_input_from_float. The slice is used as given (no reorientation).
  Expected<SlicePrediction> predict_hu_slice(const ImageF& hu);
  // Several network inputs (already model_input_* at input_size) of slices that all had the size
  // width x height, in batches of `batch`.
  Expected<std::vector<SlicePrediction>> predict_inputs(const std::vector<ImageF>& model_inputs, int width,
                                                        int height, int batch);
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
  Expected<SlicePrediction> predict_one(const Image2D<T>& slice, const ImageF& model_input);
  std::unique_ptr<State> state_;
};

// The name used in reports for class value c of a model with num_classes classes
// ("background", "ggo", "consolidation", "effusion"; binary: "background", "lesion").
std::string class_name(int num_classes, int c);

}  // namespace corona::native
