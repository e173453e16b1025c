// corona_native/model.cpp: U-Net and residual-encoder U-Net with a segmentation head and a
// CAM-able classification head. Only Conv, BatchNorm, ReLU, MaxPool, ConvTranspose, Concat, Add,
// a spatial mean and a Linear, so the exporter can write plain ONNX opset 17 for ORT Web.
#include "corona_native/model.h"

#include <stdexcept>
#include <utility>

namespace corona::native {

namespace nn = torch::nn;
namespace F = torch::nn::functional;

// ---------------------------------------------------------------------------------------------
// Building blocks
// ---------------------------------------------------------------------------------------------

namespace {

nn::Conv2d conv3x3(int in, int out) {
  // No bias: the BatchNorm right after it has one.
  return nn::Conv2d(nn::Conv2dOptions(in, out, 3).padding(1).bias(false));
}

// Two [Conv3x3 -> BN -> ReLU]: the classic U-Net stage.
nn::Sequential double_conv(int in, int out) {
  return nn::Sequential({{"conv1", conv3x3(in, out)},
                         {"bn1", nn::BatchNorm2d(out)},
                         {"relu1", nn::ReLU()},
                         {"conv2", conv3x3(out, out)},
                         {"bn2", nn::BatchNorm2d(out)},
                         {"relu2", nn::ReLU()}});
}

// ResNet basic block (He et al. 2016): conv-BN-ReLU-conv-BN plus the identity, or a 1x1
// conv-BN projection when the channel count changes; ReLU after the add. Stride 1: the
// down-sampling is the MaxPool between stages, as in the U-Net, so skips line up the same way.
class BasicBlockImpl : public nn::Module {
 public:
  BasicBlockImpl(int in, int out)
      : conv1_(register_module("conv1", conv3x3(in, out))),
        bn1_(register_module("bn1", nn::BatchNorm2d(out))),
        conv2_(register_module("conv2", conv3x3(out, out))),
        bn2_(register_module("bn2", nn::BatchNorm2d(out))) {
    if (in != out) {
      proj_conv_ = register_module("proj_conv", nn::Conv2d(nn::Conv2dOptions(in, out, 1).bias(false)));
      proj_bn_ = register_module("proj_bn", nn::BatchNorm2d(out));
    }
  }

  torch::Tensor forward(const torch::Tensor& x) {
    torch::Tensor y = torch::relu(bn1_->forward(conv1_->forward(x)));
    y = bn2_->forward(conv2_->forward(y));
    torch::Tensor shortcut = proj_conv_ ? proj_bn_->forward(proj_conv_->forward(x)) : x;
    return torch::relu(y + shortcut);
  }

 private:
  nn::Conv2d conv1_;
  nn::BatchNorm2d bn1_;
  nn::Conv2d conv2_;
  nn::BatchNorm2d bn2_;
  nn::Conv2d proj_conv_{nullptr};
  nn::BatchNorm2d proj_bn_{nullptr};
};
TORCH_MODULE(BasicBlock);

}  // namespace

// ---------------------------------------------------------------------------------------------
// CoronaNet
// ---------------------------------------------------------------------------------------------

CoronaNetImpl::CoronaNetImpl(const ModelConfig& config) : config_(config) {
  if (std::string e = config_.validate(); !e.empty()) throw std::invalid_argument("CoronaNet: " + e);
  const int b = config_.base_channels;
  const bool residual = config_.architecture == "resunet";

  int in = config_.in_channels;
  for (int k = 0; k <= config_.depth; ++k) {
    const int out = b << k;
    nn::Sequential stage = residual ? nn::Sequential({{"block", BasicBlock(in, out)}}) : double_conv(in, out);
    encoder_.push_back(register_module("enc" + std::to_string(k), stage));
    in = out;
  }
  for (int k = 0; k < config_.depth; ++k) {
    const int hi = b << (k + 1);
    const int lo = b << k;
    up_.push_back(register_module("up" + std::to_string(k),
                                  nn::ConvTranspose2d(nn::ConvTranspose2dOptions(hi, lo, 2).stride(2))));
    // Concat of the skip (lo channels) and the up-sampled path (lo channels).
    decoder_.push_back(register_module("dec" + std::to_string(k), double_conv(2 * lo, lo)));
  }
  seg_head_ = register_module("seg_head", nn::Conv2d(nn::Conv2dOptions(b, config_.num_classes, 1)));
  if (config_.classification_head) {
    cls_head_ = register_module("cls_head", nn::Linear(b << config_.depth, 1));
  }
}

ModelOutput CoronaNetImpl::forward(const torch::Tensor& x) {
  if (!x.defined() || x.dim() != 4) {
    throw std::invalid_argument("CoronaNet::forward: expected a 4-D [N, C, H, W] tensor, got " +
                                (x.defined() ? std::to_string(x.dim()) + "-D" : std::string("undefined")));
  }
  if (x.size(1) != config_.in_channels) {
    throw std::invalid_argument("CoronaNet::forward: expected " + std::to_string(config_.in_channels) +
                                " input channel(s), got " + std::to_string(x.size(1)));
  }
  const std::int64_t multiple = std::int64_t{1} << config_.depth;
  const std::int64_t h = x.size(2);
  const std::int64_t w = x.size(3);
  if (h <= 0 || w <= 0 || h % multiple != 0 || w % multiple != 0) {
    // Each down-step halves the size; an odd size would make the skip and the up-sampled path
    // disagree by a pixel at the concat. Pad or resize the input first.
    throw std::invalid_argument("CoronaNet::forward: input size " + std::to_string(h) + "x" +
                                std::to_string(w) + " must be a positive multiple of 2^depth = " +
                                std::to_string(multiple) + " (depth " + std::to_string(config_.depth) +
                                "); pad or resize the input");
  }

  const bool folded = batchnorm_folded();
  if (folded && is_training()) {
    throw std::logic_error("CoronaNet::forward: BatchNorm was folded for inference; a model in train mode "
                           "needs its unfolded layers (load it again to train)");
  }
  std::vector<torch::Tensor> skips;
  skips.reserve(static_cast<std::size_t>(config_.depth));
  torch::Tensor y = x;
  for (int k = 0; k <= config_.depth; ++k) {
    const auto i = static_cast<std::size_t>(k);
    if (k > 0) y = torch::max_pool2d(y, {2, 2}, {2, 2});
    y = folded ? run_folded(folded_encoder_[i], y) : encoder_[i]->forward(y);
    if (k < config_.depth) skips.push_back(y);
  }

  ModelOutput out;
  out.features = y;
  if (cls_head_) {
    // Global average pooling (ONNX ReduceMean / GlobalAveragePool) then Linear (Gemm).
    out.cls_logit = cls_head_->forward(y.mean({2, 3})).squeeze(1);
  }
  for (int k = config_.depth - 1; k >= 0; --k) {
    const auto i = static_cast<std::size_t>(k);
    y = up_[i]->forward(y);
    y = torch::cat({skips[i], y}, 1);
    y = folded ? run_folded(folded_decoder_[i], y) : decoder_[i]->forward(y);
  }
  out.seg_logits = seg_head_->forward(y);
  return out;
}

torch::Tensor CoronaNetImpl::class_activation_map(const ModelOutput& out, int height, int width) const {
  if (!cls_head_) {
    throw std::logic_error("CoronaNet::class_activation_map: the model has no classification head "
                           "(config.classification_head is false)");
  }
  if (!out.features.defined() || out.features.dim() != 4) {
    throw std::invalid_argument("CoronaNet::class_activation_map: out.features must be a 4-D tensor");
  }
  if (height <= 0 || width <= 0) {
    throw std::invalid_argument("CoronaNet::class_activation_map: height and width must be positive");
  }
  const torch::Tensor weight = cls_head_->weight.reshape({1, -1, 1, 1});  // [1, C, 1, 1]
  if (weight.size(1) != out.features.size(1)) {
    throw std::invalid_argument("CoronaNet::class_activation_map: features have " +
                                std::to_string(out.features.size(1)) + " channels, the head expects " +
                                std::to_string(weight.size(1)));
  }
  // sum_c w_c f_c: the logit's spatial decomposition (the mean over positions of this map plus
  // the bias is the logit).
  torch::Tensor cam = torch::relu((out.features * weight).sum(1, /*keepdim=*/true));  // [N, 1, h, w]
  cam = F::interpolate(cam, F::InterpolateFuncOptions()
                                .size(std::vector<std::int64_t>{height, width})
                                .mode(torch::kBilinear)
                                .align_corners(false));
  cam = cam.squeeze(1);  // [N, H, W]
  const auto n = cam.size(0);
  const torch::Tensor flat = cam.reshape({n, -1});
  const torch::Tensor lo = std::get<0>(flat.min(1)).reshape({n, 1, 1});
  const torch::Tensor range = std::get<0>(flat.max(1)).reshape({n, 1, 1}) - lo;
  // A flat map (no positive evidence anywhere) has nothing to highlight: zeros, not 0/0.
  const torch::Tensor safe = torch::where(range > 1e-12, range, torch::ones_like(range));
  return torch::where(range > 1e-12, (cam - lo) / safe, torch::zeros_like(cam));
}

// ---------------------------------------------------------------------------------------------
// BatchNorm folded for inference
// ---------------------------------------------------------------------------------------------

FoldedConv fold_batchnorm(const torch::Tensor& conv_weight, const torch::Tensor& conv_bias,
                          const torch::nn::BatchNorm2dImpl& bn) {
  torch::NoGradGuard no_grad;
  const auto d = [](const torch::Tensor& t) { return t.detach().to(torch::kCPU, torch::kFloat64); };
  const torch::Tensor w = d(conv_weight);
  const std::int64_t out = w.size(0);
  // Double precision: var + eps can be tiny, and the folded weights must match the eval-mode
  // forward to well under the 1e-4 the parity checks allow.
  const auto or_const = [&](const torch::Tensor& t, double v) {  // affine=false BN has no gamma/beta
    return t.defined() ? d(t) : torch::full({out}, v, torch::kFloat64);
  };
  const torch::Tensor scale = or_const(bn.weight, 1.0) / torch::sqrt(d(bn.running_var) + bn.options.eps());
  const torch::Tensor b = or_const(conv_bias, 0.0);
  FoldedConv f;
  f.weight = (w * scale.reshape({out, 1, 1, 1})).to(torch::kFloat32).contiguous();
  f.bias = ((b - d(bn.running_mean)) * scale + or_const(bn.bias, 0.0)).to(torch::kFloat32).contiguous();
  return f;
}

namespace {

template <class T>
std::shared_ptr<T> child(const nn::Module& m, const std::string& name) {
  const auto children = m.named_children();
  const auto* c = children.find(name);
  auto p = c != nullptr ? std::dynamic_pointer_cast<T>(*c) : nullptr;
  if (!p) throw std::logic_error("CoronaNet: no " + name + " in a stage (model.h's layout changed?)");
  return p;
}

}  // namespace

CoronaNetImpl::FoldedStage CoronaNetImpl::fold_stage(const nn::Sequential& stage) const {
  FoldedStage f;
  // resunet's encoder stages are one basic block; its decoder stages are double_conv like unet's.
  f.residual = stage->named_children().contains("block");
  const nn::Module& m = f.residual ? *child<nn::Module>(*stage, "block") : static_cast<const nn::Module&>(*stage);
  const auto fold = [&](const char* conv, const char* bn, torch::Tensor& w, torch::Tensor& b) {
    const FoldedConv c = fold_batchnorm(child<nn::Conv2dImpl>(m, conv)->weight, torch::Tensor(),
                                        *child<nn::BatchNorm2dImpl>(m, bn));
    const torch::Device device = child<nn::Conv2dImpl>(m, conv)->weight.device();
    w = c.weight.to(device);
    b = c.bias.to(device);
  };
  fold("conv1", "bn1", f.w1, f.b1);
  fold("conv2", "bn2", f.w2, f.b2);
  if (f.residual && m.named_children().contains("proj_conv")) fold("proj_conv", "proj_bn", f.proj_w, f.proj_b);
  return f;
}

torch::Tensor CoronaNetImpl::run_folded(const FoldedStage& f, const torch::Tensor& x) const {
  const auto conv3 = [](const torch::Tensor& in, const torch::Tensor& w, const torch::Tensor& b) {
    return torch::conv2d(in, w, b, /*stride=*/1, /*padding=*/1);
  };
  torch::Tensor y = conv3(x, f.w1, f.b1).relu_();
  if (!f.residual) return conv3(y, f.w2, f.b2).relu_();
  y = conv3(y, f.w2, f.b2);
  y.add_(f.proj_w.defined() ? torch::conv2d(x, f.proj_w, f.proj_b) : x);
  return y.relu_();
}

void CoronaNetImpl::fold_batchnorm_for_inference() {
  if (is_training()) {
    throw std::logic_error("CoronaNet::fold_batchnorm_for_inference: call eval() first (folding uses the "
                           "running statistics)");
  }
  std::vector<FoldedStage> enc, dec;
  for (const auto& stage : encoder_) enc.push_back(fold_stage(stage));
  for (const auto& stage : decoder_) dec.push_back(fold_stage(stage));
  folded_encoder_ = std::move(enc);
  folded_decoder_ = std::move(dec);
}

std::int64_t CoronaNetImpl::parameter_count() const {
  std::int64_t total = 0;
  for (const auto& p : parameters()) total += p.numel();
  return total;
}

}  // namespace corona::native
