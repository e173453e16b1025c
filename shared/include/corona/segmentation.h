// corona/segmentation.h: the two ends around any runtime's network call, shared by LibTorch
// (server, CLI, trainer's validation) and ONNX Runtime Web (the viewer): a slice -> the network's
// input, and the network's outputs -> labels, probabilities and the class activation map at the
// slice's own size.
#pragma once

#include <limits>

#include "corona/image.h"
#include "corona/preprocess.h"

namespace corona {

// One slice's prediction, everything at the ORIGINAL slice size (width x height of the input).
struct SlicePrediction {
  LabelMap labels;                    // argmax of probabilities: 0..num_classes-1 (binary task: 0/1)
  MultiChannelImage probabilities;    // num_classes channels, softmax, original size
  ImageF lesion_probability;          // 1 - P(background), original size
  float infected_probability = std::numeric_limits<float>::quiet_NaN();  // sigmoid(cls_logit); NaN without head
  ImageF cam;                         // class activation map in [0, 1], original size; empty without head
};

// A slice in Hounsfield units -> the network input: apply_window(window) to 0..255 floats
// (unrounded; NaN reads as air), then model_input_from_float.
ImageF model_input_from_hu(const ImageF& hu, IntensityWindow window, int size, float mean, float std);

// The one path from a network's segmentation logits (num_classes x size x size, channel-major) to
// labels and probabilities at width x height: softmax at the network's size, each class resized
// with resize_bilinear (half-pixel), then argmax. LibTorch and ONNX Runtime Web both use it.
SlicePrediction segmentation_from_logits(const float* logits, int num_classes, int size, int width, int height);

// The classifier's spatial evidence (head weights . bottleneck features, map_w x map_h, row-major,
// before any ReLU: the ONNX model's `cam` output) -> a CAM in [0, 1] at width x height: ReLU,
// resize_bilinear, min-max scaled; a flat map gives zeros. The same steps as LibTorch's
// CoronaNet::class_activation_map.
ImageF cam_from_evidence(const float* evidence, int map_w, int map_h, int width, int height);

// sigmoid of the classifier's logit.
float infected_probability_from_logit(float logit);

}  // namespace corona
