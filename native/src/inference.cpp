// Checkpoint -> per-slice predictions: the network runs at the checkpoint's input size, everything
// after the logits (softmax, resizing, argmax) is the shared core's, so the browser and the server
// post-process exactly as evaluate does.
#include "corona_native/inference.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <thread>
#include <utility>

#include <torch/torch.h>

#include "corona/postprocess.h"
#include "corona/preprocess.h"
#include "corona/segmentation.h"
#include "corona_native/device.h"

namespace corona::native {

// ---- predictor -------------------------------------------------------------------------------

struct Predictor::State {
  LoadedModel loaded;
  ModelPlans plans;
  torch::Device device{torch::kCPU};
  int threads = 1;
};

Predictor::Predictor(std::unique_ptr<State> state) : state_(std::move(state)) {}
Predictor::Predictor(Predictor&&) noexcept = default;
Predictor& Predictor::operator=(Predictor&&) noexcept = default;
Predictor::~Predictor() = default;

Expected<Predictor> Predictor::load(const std::string& model_path, const PredictorOptions& options) {
  auto device = resolve_device(options.device);
  if (!device) return device.error();
  auto state = std::make_unique<State>();
  state->device = *device;
  // LibTorch defaults to one thread: without this, inference uses one core.
  const unsigned hw = std::max(1u, std::thread::hardware_concurrency());
  state->threads = options.threads > 0 ? options.threads : static_cast<int>(hw);
  torch::set_num_threads(state->threads);
  auto source = resolve_model(model_path);
  if (!source) return source.error();
  state->plans = std::move(source->plans);
  auto loaded = load_model_from_checkpoint(source->checkpoint_path, state->device);
  if (!loaded) return loaded.error();
  state->loaded = std::move(loaded).value();
  state->loaded.model->eval();
  // Inference only from here: each BatchNorm folded into its convolution, as the ONNX export does
  // (one conv + bias + in-place ReLU per layer instead of conv, BN, ReLU passes over memory).
  state->loaded.model->fold_batchnorm_for_inference();
  // resolve_model checked that plans and checkpoint agree; plans().input is the one input spec.
  if (const std::string e = state->plans.input.validate(state->plans.model.depth); !e.empty())
    return make_error(model_path + ": " + e);
  return Predictor(std::move(state));
}

const CheckpointMeta& Predictor::meta() const { return state_->loaded.meta; }
const ModelPlans& Predictor::plans() const { return state_->plans; }
int Predictor::num_classes() const { return state_->loaded.meta.model.num_classes; }
bool Predictor::has_classification_head() const { return state_->loaded.meta.model.classification_head; }
std::string Predictor::device_name() const { return native::device_name(state_->device); }
int Predictor::threads() const { return state_->threads; }

Expected<std::vector<SlicePrediction>> Predictor::predict_inputs(const std::vector<ImageF>& inputs, int width,
                                                                 int height, int batch,
                                                                 const BesideFn& beside) {
  if (width <= 0 || height <= 0) return make_error("predict: empty slice (" + std::to_string(width) + "x" +
                                                   std::to_string(height) + ")");
  const int s = plans().input.size;
  for (const ImageF& x : inputs) {
    if (x.width != s || x.height != s || x.pixels.size() != static_cast<std::size_t>(s) * s)
      return make_error("predict: network input must be " + std::to_string(s) + "x" + std::to_string(s));
  }
  batch = std::max(1, batch);
  const int c = num_classes();
  const std::size_t plane = static_cast<std::size_t>(s) * s;
  std::vector<SlicePrediction> result;
  result.reserve(inputs.size());
  try {
    // No autograd bookkeeping at all (no version counters, no views tracked), unlike NoGradGuard.
    c10::InferenceMode inference_mode;
    CoronaNet& model = state_->loaded.model;
    for (std::size_t b0 = 0; b0 < inputs.size(); b0 += static_cast<std::size_t>(batch)) {
      const std::size_t n = std::min(inputs.size() - b0, static_cast<std::size_t>(batch));
      torch::Tensor x = torch::empty({static_cast<std::int64_t>(n), 1, s, s}, torch::kFloat32);
      for (std::size_t i = 0; i < n; ++i)
        std::memcpy(x.data_ptr<float>() + i * plane, inputs[b0 + i].pixels.data(), plane * sizeof(float));
      const ModelOutput out = model->forward(x.to(state_->device));
      const torch::Tensor logits = out.seg_logits.to(torch::kCPU, torch::kFloat32).contiguous();
      torch::Tensor infected, cam;
      if (out.cls_logit.defined()) {
        infected = torch::sigmoid(out.cls_logit).to(torch::kCPU, torch::kFloat32).contiguous();
        cam = model->class_activation_map(out, height, width).to(torch::kCPU, torch::kFloat32).contiguous();
      }
      auto post_process = [&] {
        for (std::size_t i = 0; i < n; ++i) {
          SlicePrediction p =
              segmentation_from_logits(logits.data_ptr<float>() + i * c * plane, c, s, width, height);
          const std::size_t out_plane = p.probabilities.plane_size();
          if (infected.defined()) {
            p.infected_probability = infected.data_ptr<float>()[i];
            p.cam = ImageF(width, height);
            std::memcpy(p.cam.pixels.data(), cam.data_ptr<float>() + i * out_plane, out_plane * sizeof(float));
          }
          result.push_back(std::move(p));
        }
      };
      if (beside && b0 == 0) {  // once per call: a caller with several batches calls per batch
        // Two chunks of one: the network's own (warm, spinning) OpenMP threads take one each. A
        // std::thread started here landed on the post-processing's core and slowed it instead.
        at::parallel_for(0, 2, 1, [&](std::int64_t begin, std::int64_t end) {
          for (std::int64_t k = begin; k < end; ++k) k == 0 ? post_process() : beside();
        });
      } else {
        post_process();
      }
    }
  } catch (const std::exception& e) {
    return make_error(std::string("predict: the network failed: ") + e.what());
  }
  return result;
}

namespace {

// Geometry of the source slice onto the prediction's images.
void carry_geometry(SlicePrediction& p, const double sx, const double sy, const bool known) {
  for (auto* img : {&p.lesion_probability, &p.cam}) {
    img->spacing_x = sx;
    img->spacing_y = sy;
    img->spacing_known = known;
  }
  p.labels.spacing_x = sx;
  p.labels.spacing_y = sy;
  p.labels.spacing_known = known;
}

}  // namespace

namespace {

template <class T>
bool consistent_slice(const Image2D<T>& img) {
  return img.width > 0 && img.height > 0 &&
         img.pixels.size() == static_cast<std::size_t>(img.width) * img.height;
}

}  // namespace

// One slice through predict_inputs; the prediction keeps the slice's spacing.
template <class T>
Expected<SlicePrediction> Predictor::predict_one(const Image2D<T>& slice, const ImageF& model_input,
                                                const BesideFn& beside) {
  auto r = predict_inputs({model_input}, slice.width, slice.height, 1, beside);
  if (!r) return r.error();
  SlicePrediction p = std::move(r->front());
  carry_geometry(p, slice.spacing_x, slice.spacing_y, slice.spacing_known);
  return p;
}

Expected<SlicePrediction> Predictor::predict_slice(const ImageU8& img, const BesideFn& beside) {
  if (!consistent_slice(img)) return make_error("predict: empty or inconsistent slice");
  return predict_one(img, model_input_from_u8(img, plans().input), beside);
}

Expected<SlicePrediction> Predictor::predict_hu_slice(const ImageF& hu) {
  if (!consistent_slice(hu)) return make_error("predict: empty or inconsistent slice");
  return predict_one(hu, model_input_from_hu(hu, plans().input));
}

}  // namespace corona::native
