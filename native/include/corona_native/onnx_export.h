// corona_native/onnx_export.h: a trained CoronaNet written as a plain ONNX graph (BatchNorm folded
// into the convolutions) that ONNX Runtime runs natively and in the browser (wasm and WebGPU).
#pragma once

#include <string>
#include <vector>

#include <torch/torch.h>

#include "corona/image.h"
#include "corona_native/model.h"

namespace corona::native {

// The graph contract the browser and the server rely on (keep it exactly):
//   input  "input":      float32 [batch, in_channels, height, width], normalised as
//                        model_input_from_u8 does; height and width multiples of 2^depth.
//   output "seg_logits": float32 [batch, num_classes, height, width].
//   with a classification head:
//   output "cls_logit":  float32 [batch, 1], logit of "infected".
//   output "cam":        float32 [batch, 1, height / 2^depth, width / 2^depth], the head's weights
//                        times the bottleneck features, WITHOUT the bias, before ReLU, upsampling and
//                        min-max scaling (class_activation_logits below); the consumer does those.
// fp16: weights and activations are float16 inside, the input and outputs stay float32 (Cast
// nodes at the borders), so the same JS code feeds both variants.
struct OnnxExportOptions {
  int opset = 17;  // 13..17: the attribute forms of every operator used are the same in that range
  bool fp16 = false;
  std::string producer_version;  // written as the model's producer_version (e.g. the git commit)
};

// Writes `model` with eval semantics (running BatchNorm statistics folded into the preceding
// convolution's weights and bias by fold_batchnorm, no BatchNormalization node) to
// temp_path_for(path), runs onnx::checker::check_model and strict shape inference on that file,
// then replace_file's it onto `path` (corona/file_io.h); on failure no temp file is left.
// Returns the operator types used, sorted and unique (for the model card). The model is not changed.
Expected<std::vector<std::string>> export_onnx(CoronaNet& model, const OnnxExportOptions& options,
                                               const std::string& path);

// What the exported "cam" output holds, computed with LibTorch: sum_c w_c * features_c over the
// classification head's weights, no bias: [N, 1, h, w]. Throws std::logic_error without a head.
torch::Tensor class_activation_logits(CoronaNet& model, const torch::Tensor& features);

}  // namespace corona::native
