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

namespace corona::native {

// ---- display orientation ---------------------------------------------------------------------

std::string DisplayOrientation::describe() const {
  std::string s = transpose ? "transposed" : "as stored";
  if (flip_x) s += ", columns mirrored";
  if (flip_y) s += ", rows mirrored";
  return s + " (radiological: image left = patient right, top = anterior)";
}

DisplayOrientation display_orientation(const Affine& a) {
  // Column 0 of the affine is the world (RAS+) direction of voxel i, column 1 that of voxel j.
  // Display columns must run towards the patient's left (world x decreasing), rows towards
  // posterior (world y decreasing).
  DisplayOrientation o;
  const double straight = std::abs(a(0, 0)) * std::abs(a(1, 1));
  const double swapped = std::abs(a(0, 1)) * std::abs(a(1, 0));
  o.transpose = swapped > straight;
  if (!o.transpose) {
    o.flip_x = a(0, 0) > 0.0;
    o.flip_y = a(1, 1) > 0.0;
  } else {
    o.flip_x = a(0, 1) > 0.0;
    o.flip_y = a(1, 0) > 0.0;
  }
  return o;
}

namespace {

// Voxel (i, j) shown at display (dx, dy).
template <class F>
void for_each_display_pixel(int nx, int ny, const DisplayOrientation& o, F&& f) {
  const int w = o.transpose ? ny : nx;
  const int h = o.transpose ? nx : ny;
  for (int dy = 0; dy < h; ++dy) {
    for (int dx = 0; dx < w; ++dx) {
      const int sx = o.flip_x ? w - 1 - dx : dx;
      const int sy = o.flip_y ? h - 1 - dy : dy;
      const int i = o.transpose ? sy : sx;
      const int j = o.transpose ? sx : sy;
      f(dx, dy, i, j);
    }
  }
}

}  // namespace

template <class T>
Image2D<T> to_display(const Image2D<T>& v, const DisplayOrientation& o) {
  Image2D<T> out(o.transpose ? v.height : v.width, o.transpose ? v.width : v.height);
  out.spacing_known = v.spacing_known;
  out.spacing_x = o.transpose ? v.spacing_y : v.spacing_x;
  out.spacing_y = o.transpose ? v.spacing_x : v.spacing_y;
  for_each_display_pixel(v.width, v.height, o, [&](int dx, int dy, int i, int j) { out.at(dx, dy) = v.at(i, j); });
  return out;
}

template <class T>
Image2D<T> from_display(const Image2D<T>& d, const DisplayOrientation& o) {
  const int nx = o.transpose ? d.height : d.width;
  const int ny = o.transpose ? d.width : d.height;
  Image2D<T> out(nx, ny);
  out.spacing_known = d.spacing_known;
  out.spacing_x = o.transpose ? d.spacing_y : d.spacing_x;
  out.spacing_y = o.transpose ? d.spacing_x : d.spacing_y;
  for_each_display_pixel(nx, ny, o, [&](int dx, int dy, int i, int j) { out.at(i, j) = d.at(dx, dy); });
  return out;
}

template Image2D<float> to_display(const Image2D<float>&, const DisplayOrientation&);
template Image2D<std::uint8_t> to_display(const Image2D<std::uint8_t>&, const DisplayOrientation&);
template Image2D<float> from_display(const Image2D<float>&, const DisplayOrientation&);
template Image2D<std::uint8_t> from_display(const Image2D<std::uint8_t>&, const DisplayOrientation&);

std::string class_name(int num_classes, int c) {
  static const char* const kFour[4] = {"background", "ggo", "consolidation", "effusion"};
  if (num_classes == 2) return c == 0 ? "background" : "lesion";
  if (num_classes == 4 && c >= 0 && c < 4) return kFour[c];
  return "class" + std::to_string(c);
}

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
  if (options.device != "auto" && options.device != "cpu" && options.device != "cuda")
    return make_error("device must be auto, cpu or cuda, got \"" + options.device + "\"");
  if (options.device == "cuda" && !torch::cuda::is_available())
    return make_error("device cuda requested but this LibTorch sees no CUDA device");
  auto state = std::make_unique<State>();
  const bool cuda = options.device == "cuda" || (options.device == "auto" && torch::cuda::is_available());
  state->device = cuda ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
  // LibTorch defaults to one thread (DESIGN §4).
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
  const int s = state->loaded.meta.input_size;
  if (s <= 0 || s % (1 << state->loaded.meta.model.depth) != 0)
    return make_error(model_path + ": input_size " + std::to_string(s) + " is not a positive multiple of 2^depth");
  return Predictor(std::move(state));
}

const CheckpointMeta& Predictor::meta() const { return state_->loaded.meta; }
const ModelPlans& Predictor::plans() const { return state_->plans; }
int Predictor::num_classes() const { return state_->loaded.meta.model.num_classes; }
bool Predictor::has_classification_head() const { return state_->loaded.meta.model.classification_head; }
std::string Predictor::device_name() const { return state_->device.is_cuda() ? "cuda" : "cpu"; }
int Predictor::threads() const { return state_->threads; }

SlicePrediction segmentation_from_logits(const float* logits, int num_classes, int size, int width, int height) {
  const std::size_t plane = static_cast<std::size_t>(size) * size;
  MultiChannelImage lg(num_classes, size, size);
  std::memcpy(lg.data.data(), logits, num_classes * plane * sizeof(float));
  const MultiChannelImage prob = softmax(lg);
  SlicePrediction p;
  p.probabilities = MultiChannelImage(num_classes, width, height);
  const std::size_t out_plane = p.probabilities.plane_size();
  for (int k = 0; k < num_classes; ++k) {
    ImageF channel(size, size);
    std::copy(prob.data.begin() + static_cast<std::ptrdiff_t>(k * plane),
              prob.data.begin() + static_cast<std::ptrdiff_t>((k + 1) * plane), channel.pixels.begin());
    const ImageF up = resize_bilinear(channel, width, height);
    std::copy(up.pixels.begin(), up.pixels.end(),
              p.probabilities.data.begin() + static_cast<std::ptrdiff_t>(k * out_plane));
  }
  p.labels = argmax(p.probabilities);
  p.lesion_probability = ImageF(width, height);
  for (std::size_t q = 0; q < out_plane; ++q) p.lesion_probability.pixels[q] = 1.0f - p.probabilities.data[q];
  return p;
}

Expected<std::vector<SlicePrediction>> Predictor::predict_inputs(const std::vector<ImageF>& inputs, int width,
                                                                 int height, int batch) {
  if (width <= 0 || height <= 0) return make_error("predict: empty slice (" + std::to_string(width) + "x" +
                                                   std::to_string(height) + ")");
  const int s = meta().input_size;
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

ImageF hu_to_model_input(const ImageF& hu, IntensityWindow window, int size, float mean, float std) {
  ImageF w = apply_window(hu, window);  // 0..255 floats, clipped
  for (float& v : w.pixels) {
    if (!std::isfinite(v)) v = 0.0f;  // NaN HU (missing data) reads as air, not as a NaN input
  }
  return model_input_from_float(w, size, mean, std);
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
Expected<SlicePrediction> Predictor::predict_one(const Image2D<T>& slice, const ImageF& model_input) {
  auto r = predict_inputs({model_input}, slice.width, slice.height, 1);
  if (!r) return r.error();
  SlicePrediction p = std::move(r->front());
  carry_geometry(p, slice.spacing_x, slice.spacing_y, slice.spacing_known);
  return p;
}

Expected<SlicePrediction> Predictor::predict_slice(const ImageU8& img) {
  if (!consistent_slice(img)) return make_error("predict: empty or inconsistent slice");
  return predict_one(img, model_input_from_u8(img, meta().input_size, meta().input_mean, meta().input_std));
}

Expected<SlicePrediction> Predictor::predict_hu_slice(const ImageF& hu) {
  if (!consistent_slice(hu)) return make_error("predict: empty or inconsistent slice");
  return predict_one(hu, hu_to_model_input(hu, plans().hu_window, plans().input_size, plans().input_mean, plans().input_std));
}

Expected<VolumePrediction> Predictor::predict_volume(const VolumeF& hu, int batch, const ProgressFn& progress,
                                                     const std::atomic<bool>* cancel) {
  if (hu.nx <= 0 || hu.ny <= 0 || hu.nz <= 0 || hu.voxels.size() != static_cast<std::size_t>(hu.nx) * hu.ny * hu.nz)
    return make_error("predict: empty or inconsistent volume");
  batch = std::max(1, batch);
  const DisplayOrientation o = display_orientation(hu.affine);
  VolumePrediction vp;
  vp.labels = LabelVolume(hu.nx, hu.ny, hu.nz);
  vp.labels.spacing = hu.spacing;
  vp.labels.affine = hu.affine;
  vp.infected_probability.assign(static_cast<std::size_t>(hu.nz), std::numeric_limits<float>::quiet_NaN());
  vp.lesion_px.assign(static_cast<std::size_t>(hu.nz), 0);
  const int s = meta().input_size;
  if (progress) progress(0, hu.nz);
  for (int z0 = 0; z0 < hu.nz; z0 += batch) {
    if (cancel != nullptr && cancel->load()) return make_error(kCancelledMessage);
    const int n = std::min(batch, hu.nz - z0);
    std::vector<ImageF> inputs;
    int dw = 0, dh = 0;
    for (int k = 0; k < n; ++k) {
      const ImageF d = to_display(hu.slice(z0 + k), o);
      dw = d.width;
      dh = d.height;
      inputs.push_back(hu_to_model_input(d, plans().hu_window, s, plans().input_mean, plans().input_std));
    }
    auto r = predict_inputs(inputs, dw, dh, n);
    if (!r) return r.error();
    for (int k = 0; k < n; ++k) {
      const SlicePrediction& p = (*r)[static_cast<std::size_t>(k)];
      const LabelMap back = from_display(p.labels, o);
      vp.labels.set_slice(z0 + k, back);
      vp.infected_probability[static_cast<std::size_t>(z0 + k)] = p.infected_probability;
      vp.lesion_px[static_cast<std::size_t>(z0 + k)] =
          static_cast<std::uint64_t>(std::count_if(back.pixels.begin(), back.pixels.end(), [](std::uint8_t v) { return v != 0; }));
    }
    if (progress) progress(z0 + n, hu.nz);
  }
  return vp;
}

}  // namespace corona::native
