// corona_bench: native (LibTorch) speed of the Corona-Net model, medians over repeats.
//   train    slices/s of full training steps (forward, CE + Dice + BCE, backward, Adam) at --size
//            on real fixture slices with the trainer's batch builder and augmentation
//   latency  per-slice inference at each --sizes: raw network forward (batch 1, inference mode)
//            and the whole Predictor path (preprocess, forward, softmax, resize back, argmax, CAM)
// Prints one JSON object per measurement on stdout; progress on stderr. A benchmark, not a test:
// run it on an otherwise idle machine and compare figures from one run (tools/bench/run.sh).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "corona/image_io.h"
#include "corona/preprocess.h"
#include "corona_native/cli_util.h"
#include "corona_native/dataset.h"
#include "corona_native/inference.h"
#include "corona_native/model.h"
#include "corona_native/model_package.h"
#include "corona_native/trainer.h"

namespace {

using namespace corona;
using namespace corona::native;
using Clock = std::chrono::steady_clock;

constexpr const char* kUsage =
    "usage: corona_bench train|latency [options]\n"
    "  --model DIR|CKPT    model for latency (default models/corona-net); train uses a fresh U-Net\n"
    "                      of --base/--depth\n"
    "  --fixtures DIR      8-bit slices + masks (default tests/fixtures/medseg)\n"
    "  --size N            train: input size (default 256)\n"
    "  --sizes A,B         latency: slice sizes (default 256,512)\n"
    "  --batch N           train: batch size (default 8)\n"
    "  --base N --depth N  train: network width/depth (default 16 / 4)\n"
    "  --repeats N         timed repeats (default 20 latency, 10 train); 3 warm-up runs first\n"
    "  --threads N         torch threads (default: all cores)\n";

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

template <class F>
std::vector<double> time_runs(int warmup, int repeats, F&& f) {
  for (int i = 0; i < warmup; ++i) f();
  std::vector<double> ms;
  for (int i = 0; i < repeats; ++i) {
    const auto t0 = Clock::now();
    f();
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  return ms;
}

nlohmann::json stats(const std::vector<double>& ms) {
  return {{"median_ms", median(ms)},
          {"min_ms", *std::min_element(ms.begin(), ms.end())},
          {"max_ms", *std::max_element(ms.begin(), ms.end())},
          {"repeats", ms.size()}};
}

struct Args {
  std::string mode, model, fixtures = "tests/fixtures/medseg";
  int size = 256, batch = 8, base = 16, depth = 4, repeats = 0, threads = 0;
  std::vector<int> sizes{256, 512};
};

// The fixture slices and masks (tr_im_XXXX.png / tr_mask_XXXX.png) as training cases.
std::vector<SegCase> fixture_cases(const std::string& dir) {
  std::vector<SegCase> cases;
  for (int index : {22, 32, 48}) {
    char im[64], mk[64];
    std::snprintf(im, sizeof im, "/tr_im_%04d.png", index);
    std::snprintf(mk, sizeof mk, "/tr_mask_4class_%04d.png", index);
    auto image = load_image_from_file(dir + im);
    auto labels = load_label_png_from_file(dir + mk);
    if (image && labels) cases.push_back({index, std::move(image).value(), std::move(labels).value()});
  }
  return cases;
}

int bench_train(const Args& a) {
  const auto cases = fixture_cases(a.fixtures);
  if (cases.empty()) {
    std::fprintf(stderr, "corona_bench: no fixture slices in %s\n", a.fixtures.c_str());
    return 1;
  }
  torch::manual_seed(42);
  ModelConfig cfg;
  cfg.base_channels = a.base;
  cfg.depth = a.depth;
  CoronaNet model(cfg);
  model->train();
  torch::optim::Adam opt(model->parameters(), torch::optim::AdamOptions(1e-3));
  Rng rng(42);
  std::vector<std::size_t> idx;
  for (int i = 0; i < a.batch; ++i) idx.push_back(static_cast<std::size_t>(i) % cases.size());
  const AugmentConfig aug;
  auto step = [&] {
    // One segmentation batch and one classification batch per step, as the trainer does.
    const SegBatch b = make_seg_batch(cases, idx, a.size, true, aug, rng);
    opt.zero_grad();
    const ModelOutput out = model->forward(b.image);
    torch::Tensor loss = segmentation_loss(out.seg_logits, b.target);
    const ModelOutput cls_out = model->forward(b.image);
    loss = loss + 0.5 * classification_loss(cls_out.cls_logit, torch::ones({a.batch}));
    loss.backward();
    opt.step();
  };
  const int repeats = a.repeats > 0 ? a.repeats : 10;
  std::fprintf(stderr, "corona_bench: train %d steps of batch %d at %d^2 (+3 warm-up)\n", repeats, a.batch, a.size);
  const auto ms = time_runs(3, repeats, step);
  nlohmann::json j = {{"bench", "train_step"}, {"size", a.size}, {"batch", a.batch},
                      {"slices_per_step", 2 * a.batch}, {"threads", torch::get_num_threads()},
                      {"parameters", model->parameter_count()}};
  j.update(stats(ms));
  // A step trains on batch segmentation slices and batch classification images.
  j["slices_per_s"] = 2.0 * a.batch / (median(ms) / 1000.0);
  std::printf("%s\n", j.dump().c_str());
  return 0;
}

int bench_latency(const Args& a) {
  PredictorOptions popt;
  popt.threads = a.threads;
  auto pred = Predictor::load(a.model.empty() ? default_model_path() : a.model, popt);
  if (!pred) {
    std::fprintf(stderr, "corona_bench: %s\n", pred.error().message.c_str());
    return 1;
  }
  const auto cases = fixture_cases(a.fixtures);
  if (cases.empty()) {
    std::fprintf(stderr, "corona_bench: no fixture slices in %s\n", a.fixtures.c_str());
    return 1;
  }
  const int repeats = a.repeats > 0 ? a.repeats : 20;
  // The bare network on the same weights: what pre/post-processing costs on top of it.
  auto source = resolve_model(a.model.empty() ? default_model_path() : a.model);
  auto raw = source ? load_model_from_checkpoint(source->checkpoint_path) : Expected<LoadedModel>(source.error());
  if (!raw) {
    std::fprintf(stderr, "corona_bench: %s\n", raw.error().message.c_str());
    return 1;
  }
  raw->model->eval();
  for (int s : a.sizes) {
    const torch::Tensor x = torch::randn({1, 1, s, s});
    const auto fwd = time_runs(3, repeats, [&] {
      c10::InferenceMode guard;
      (void)raw->model->forward(x);
    });
    nlohmann::json j = {{"bench", "network_forward"}, {"size", s}, {"batch", 1}, {"threads", torch::get_num_threads()}};
    j.update(stats(fwd));
    std::printf("%s\n", j.dump().c_str());
  }
  for (int s : a.sizes) {
    // The whole path on a real slice resized to s x s (the network runs at the model's size).
    const ImageU8 slice = float_to_u8(resize_bilinear(u8_to_float(cases[1].image), s, s));
    std::fprintf(stderr, "corona_bench: latency at %d^2, %d repeats\n", s, repeats);
    const auto full = time_runs(3, repeats, [&] { (void)pred->predict_slice(slice); });
    nlohmann::json j = {{"bench", "predict_slice"}, {"slice_size", s}, {"network_size", pred->plans().input_size},
                        {"threads", pred->threads()}, {"model", pred->plans().name + " " + pred->plans().version}};
    j.update(stats(full));
    std::printf("%s\n", j.dump().c_str());
  }
  return 0;
}

std::vector<int> parse_sizes(const std::string& s) {
  std::vector<int> out;
  std::size_t start = 0;
  while (start <= s.size()) {
    const std::size_t comma = s.find(',', start);
    int v = 0;
    if (!parse_int(s.substr(start, comma - start), 16, 4096, v)) return {};
    out.push_back(v);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  if (argc < 2) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  a.mode = argv[1];
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string f = argv[i], v = argv[i + 1];
    bool ok = true;
    if (f == "--model") a.model = v;
    else if (f == "--fixtures") a.fixtures = v;
    else if (f == "--size") ok = parse_int(v, 16, 4096, a.size);
    else if (f == "--batch") ok = parse_int(v, 1, 256, a.batch);
    else if (f == "--base") ok = parse_int(v, 1, 256, a.base);
    else if (f == "--depth") ok = parse_int(v, 1, 6, a.depth);
    else if (f == "--repeats") ok = parse_int(v, 1, 100000, a.repeats);
    else if (f == "--threads") ok = parse_int(v, 0, 1024, a.threads);
    else if (f == "--sizes") ok = !(a.sizes = parse_sizes(v)).empty();
    else ok = false;
    if (!ok) {
      std::fprintf(stderr, "corona_bench: bad option %s %s\n\n%s", f.c_str(), v.c_str(), kUsage);
      return 2;
    }
  }
  const unsigned hw = std::max(1u, std::thread::hardware_concurrency());
  torch::set_num_threads(a.threads > 0 ? a.threads : static_cast<int>(hw));
  if (a.mode == "train") return bench_train(a);
  if (a.mode == "latency") return bench_latency(a);
  std::fputs(kUsage, stderr);
  return 2;
}
