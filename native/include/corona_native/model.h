// corona_native/model.h: the LibTorch networks for the three jobs: a 4-class segmentation head
// (background, GGO, consolidation, effusion) and an infected/not-infected classification head
// whose weights give a class activation map, on a U-Net or a residual-encoder U-Net.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "corona/image.h"
#include "corona/plans.h"

namespace corona::native {

// ModelConfig (the network's shape, plain data, read from plans.json) is the core's: corona/plans.h.

struct ModelOutput {
  torch::Tensor seg_logits;  // [N, num_classes, H, W]
  torch::Tensor cls_logit;   // [N] logit of "infected"; undefined without the head
  torch::Tensor features;    // [N, C, H / 2^depth, W / 2^depth] bottleneck, for the CAM
};

// Layout (parameter names as torch::save writes them, which the exporter walks):
//   enc{k}, k = 0..depth: the encoder stage at 1/2^k resolution, base_channels * 2^k channels;
//     "unet": Sequential {conv1, bn1, relu1, conv2, bn2, relu2} (3x3 convs without bias);
//     "resunet": Sequential {block} with block = ResNet basic block {conv1, bn1, conv2, bn2 and,
//     when channels change, proj_conv, proj_bn}; ReLU after the add.
//     Down-sampling between stages is MaxPool 2x2 stride 2 in both (no parameters).
//   up{k}, k = 0..depth-1: ConvTranspose2d 2x2 stride 2 (with bias), channels 2^(k+1)b -> 2^k b;
//   dec{k}: Sequential {conv1, bn1, relu1, conv2, bn2, relu2} after concat [skip enc{k}, up{k}];
//   seg_head: Conv2d 1x1 (with bias) to num_classes;  cls_head: Linear(2^depth b, 1).
// Initialisation is LibTorch's default (Kaiming-uniform a=sqrt(5) for conv/linear weights,
// BN gamma 1 / beta 0), so torch::manual_seed before construction makes it deterministic.
class CoronaNetImpl : public torch::nn::Module {
 public:
  // Throws std::invalid_argument when the config fails ModelConfig::validate.
  explicit CoronaNetImpl(const ModelConfig& config);
  // x: [N, in_channels, H, W], normalised. Throws std::invalid_argument (naming the sizes) when
  // x is not 4-D, has the wrong channel count, or H / W is not divisible by 2^depth.
  ModelOutput forward(const torch::Tensor& x);
  // Class activation map of "infected" (Zhou et al. 2016): head weights · bottleneck features
  // (bias left out), ReLU, upsampled bilinearly (align_corners=false) to (height, width), min-max
  // scaled to [0, 1] per image: [N, H, W]. A map with no positive evidence (flat after the ReLU)
  // is all zeros, never NaN. Throws std::logic_error without a classification head.
  torch::Tensor class_activation_map(const ModelOutput& out, int height, int width) const;
  const ModelConfig& config() const { return config_; }
  std::int64_t parameter_count() const;

  // Inference only: folds each BatchNorm's running statistics into the convolution before it
  // (fold_batchnorm below, the math the ONNX export uses too) and from then on forward()
  // runs those folded convolutions with the ReLUs in place, instead of conv -> BN -> ReLU. The
  // registered parameters and buffers are not changed (save and export see the trained layout);
  // call it again after loading new weights. forward() throws std::logic_error in train mode once
  // folded (the folded weights ignore batch statistics). Needs eval mode.
  void fold_batchnorm_for_inference();
  bool batchnorm_folded() const { return !folded_encoder_.empty(); }

 private:
  // One stage's convolutions with their BatchNorms folded in (proj_*: the resunet 1x1 shortcut).
  struct FoldedStage {
    torch::Tensor w1, b1, w2, b2, proj_w, proj_b;
    bool residual = false;
  };
  FoldedStage fold_stage(const torch::nn::Sequential& stage) const;
  torch::Tensor run_folded(const FoldedStage& f, const torch::Tensor& x) const;

  ModelConfig config_;
  std::vector<FoldedStage> folded_encoder_, folded_decoder_;  // empty until folded
  std::vector<torch::nn::Sequential> encoder_;         // enc0..enc{depth}
  std::vector<torch::nn::ConvTranspose2d> up_;         // up0..up{depth-1}
  std::vector<torch::nn::Sequential> decoder_;         // dec0..dec{depth-1}
  torch::nn::Conv2d seg_head_{nullptr};
  torch::nn::Linear cls_head_{nullptr};                // null without classification_head
};
TORCH_MODULE(CoronaNet);

// A convolution (weight [out, in, kh, kw], bias [out] or undefined) followed by `bn` in eval mode,
// as one convolution: weight * s, (bias - running_mean) * s + beta with s = gamma / sqrt(var + eps)
// per output channel. Computed in double, returned as float32 on the CPU. The folded inference
// path above and the ONNX export (no BatchNormalization node) both use it.
struct FoldedConv {
  torch::Tensor weight;
  torch::Tensor bias;
};
FoldedConv fold_batchnorm(const torch::Tensor& conv_weight, const torch::Tensor& conv_bias,
                          const torch::nn::BatchNorm2dImpl& bn);

}  // namespace corona::native
