// corona_bench: native (LibTorch) speed of the Corona-Net model, medians over repeats.
//   train    slices/s of full training steps (forward, CE + Dice + BCE, backward, Adam) at --size
//            on real fixture slices with the trainer's batch builder and augmentation
//   latency  per-slice inference at each --sizes: raw network forward (batch 1, inference mode)
//            and the whole Predictor path (preprocess, forward, softmax, resize back, argmax, CAM)
//   stages   where the server's time goes for one --slice (PNG), interleaved: decode, preprocess,
//            network forward with and without BatchNorm folded, predict_slice, lung mask, severity,
//            mask PNG, overlay render + PNG, the whole predict_decoded (as `coronanet predict`:
//            every file encoded)
//   slice-worker  for tools/bench/latency.mjs: loads the Predictor, then for each stdin line runs
//            one --slice end to end in process (PNG bytes in memory -> decode -> predict_slice ->
//            512² label map) and answers one JSON line {ms, labels_fnv} on stdout
// Prints one JSON object per measurement on stdout; progress on stderr. A benchmark, not a test:
// run it on an otherwise idle machine and compare figures from one run (tools/bench/run.sh).
#include <algorithm>
#include <functional>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "cli/cli_util.h"
#include "corona/image_io.h"
#include "corona/lung_mask.h"
#include "corona/overlay.h"
#include "corona/preprocess.h"
#include "corona/severity.h"
#include "corona_native/predict_report.h"
#include "corona_native/server.h"
#include "corona_native/dataset.h"
#include "corona_native/inference.h"
#include "corona_native/model.h"
#include "corona_native/model_package.h"
#include "corona_native/precision.h"
#include "corona_native/trainer.h"

namespace {

using namespace corona;
using namespace corona::native;
using Clock = std::chrono::steady_clock;

constexpr const char* kUsage =
    "usage: corona_bench train|latency|stages|slice-worker [options]\n"
    "  --model DIR|CKPT    model for latency (default models/corona-net); train uses a fresh U-Net\n"
    "                      of --base/--depth\n"
    "  --fixtures DIR      8-bit slices + masks (default tests/fixtures/medseg)\n"
    "  --size N            train: input size (default 256)\n"
    "  --sizes A,B         latency: slice sizes (default 256,512)\n"
    "  --batch N           train: batch size (default 8)\n"
    "  --precision P       train: fp32, bf16 (autocast) or auto (bf16 where the CPU has it; default fp32)\n"
    "  --base N --depth N  train: network width/depth (default 16 / 4)\n"
    "  --repeats N         timed repeats (default 20 latency, 10 train); 3 warm-up runs first\n"
    "  --threads N         torch threads (default: all cores)\n"
    "  --slice PNG         stages, slice-worker: the slice (default tests/fixtures/medseg/tr_im_0032.png)\n";

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
  std::string mode, model, fixtures = "tests/fixtures/medseg", slice = "tests/fixtures/medseg/tr_im_0032.png";
  int size = 256, batch = 8, base = 16, depth = 4, repeats = 0, threads = 0;
  std::string precision = "fp32";
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
  auto precision = resolve_precision(a.precision, torch::kCPU);
  if (!precision) {
    std::fprintf(stderr, "corona_bench: %s\n", precision.error().message.c_str());
    return 2;
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
    torch::Tensor loss;
    {
      AutocastScope autocast(*precision, torch::kCPU);
      const ModelOutput out = model->forward(b.image);
      loss = segmentation_loss(out.seg_logits, b.target);
      const ModelOutput cls_out = model->forward(b.image);
      loss = loss + 0.5 * classification_loss(cls_out.cls_logit, torch::ones({a.batch}));
    }
    loss.backward();
    opt.step();
  };
  const int repeats = a.repeats > 0 ? a.repeats : 10;
  std::fprintf(stderr, "corona_bench: train %d steps of batch %d at %d^2 (+3 warm-up)\n", repeats, a.batch, a.size);
  const auto ms = time_runs(3, repeats, step);
  nlohmann::json j = {{"bench", "train_step"}, {"size", a.size}, {"batch", a.batch},
                      {"precision", precision_name(*precision)}, {"cpu_native_bf16", cpu_has_native_bf16()},
                      {"slices_per_step", 2 * a.batch}, {"threads", torch::get_num_threads()},
                      {"parameters", model->parameter_count()}};
  j.update(stats(ms));
  // A step trains on batch segmentation slices and batch classification images.
  j["slices_per_s"] = 2.0 * a.batch / (median(ms) / 1000.0);
  std::printf("%s\n", j.dump().c_str());
  return 0;
}

// The bare network of the model folder or checkpoint in a.model (default: the shipped one), in eval mode.
Expected<LoadedModel> load_eval_model(const Args& a) {
  auto source = resolve_model(a.model.empty() ? default_model_path() : a.model);
  if (!source) return source.error();
  auto loaded = load_model_from_checkpoint(source->checkpoint_path);
  if (loaded) loaded->model->eval();
  return loaded;
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
  auto raw = load_eval_model(a);
  if (!raw) {
    std::fprintf(stderr, "corona_bench: %s\n", raw.error().message.c_str());
    return 1;
  }
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
    nlohmann::json j = {{"bench", "predict_slice"}, {"slice_size", s}, {"network_size", pred->plans().input.size},
                        {"threads", pred->threads()}, {"model", pred->plans().name + " " + pred->plans().version}};
    j.update(stats(full));
    std::printf("%s\n", j.dump().c_str());
  }
  return 0;
}

std::vector<std::uint8_t> read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<std::uint8_t>(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

// FNV-1a of a label map: the latency bench checks that the three contestants agree.
std::uint64_t fnv1a(const std::vector<std::uint8_t>& v) {
  std::uint64_t h = 14695981039346656037ull;  // 0xcbf29ce484222325
  for (std::uint8_t b : v) h = (h ^ b) * 1099511628211ull;
  return h;
}

Expected<Predictor> load_predictor(const Args& a) {
  PredictorOptions popt;
  popt.threads = a.threads;
  return Predictor::load(a.model.empty() ? default_model_path() : a.model, popt);
}

int bench_stages(const Args& a) {
  tune_allocator_for_inference();  // as the server runs
  auto pred = load_predictor(a);
  if (!pred) {
    std::fprintf(stderr, "corona_bench: %s\n", pred.error().message.c_str());
    return 1;
  }
  const std::vector<std::uint8_t> png = read_bytes(a.slice);
  auto img = load_image_from_buffer(png.data(), png.size());
  if (!img) {
    std::fprintf(stderr, "corona_bench: %s: %s\n", a.slice.c_str(), img.error().message.c_str());
    return 1;
  }
  auto raw = load_eval_model(a);
  if (!raw) {
    std::fprintf(stderr, "corona_bench: %s\n", raw.error().message.c_str());
    return 1;
  }
  // The same weights with BatchNorm folded, as the Predictor runs them since the server issue.
  auto folded = load_eval_model(a);
  if (!folded) {
    std::fprintf(stderr, "corona_bench: %s\n", folded.error().message.c_str());
    return 1;
  }
  folded->model->fold_batchnorm_for_inference();
  const int repeats = a.repeats > 0 ? a.repeats : 20;
  const int s = pred->plans().input.size;
  const ImageF input = model_input_from_u8(*img, pred->plans().input);
  const torch::Tensor x = torch::from_blob(const_cast<float*>(input.pixels.data()), {1, 1, s, s}).clone();
  const auto p = pred->predict_slice(*img);
  if (!p) {
    std::fprintf(stderr, "corona_bench: %s\n", p.error().message.c_str());
    return 1;
  }
  const LabelMap lungs = lung_mask_from_u8(*img);
  const RgbaImage overlay = render_overlay(*img, p->labels, default_lesion_styles(), 0.5f).value();
  DecodedInput decoded;
  decoded.kind = FileKind::kPng;
  decoded.image = *img;
  PredictBytesOptions popts;
  // Interleaved: every repeat runs each stage once, so background load hits them alike.
  const std::vector<std::pair<std::string, std::function<void()>>> stages = {
      {"decode_png", [&] { (void)load_image_from_buffer(png.data(), png.size()); }},
      {"preprocess", [&] { (void)model_input_from_u8(*img, pred->plans().input); }},
      {"network_forward_unfolded", [&] { c10::InferenceMode g; (void)raw->model->forward(x); }},
      {"network_forward_folded", [&] { c10::InferenceMode g; (void)folded->model->forward(x); }},
      {"predict_slice", [&] { (void)pred->predict_slice(*img); }},
      {"predict_slice_then_lung_mask", [&] { (void)pred->predict_slice(*img); (void)lung_mask_from_u8(*img); }},
      {"predict_slice_lung_mask_beside", [&] { (void)pred->predict_slice(*img, [&] { (void)lung_mask_from_u8(*img); }); }},
      {"lung_mask", [&] { (void)lung_mask_from_u8(*img); }},
      {"severity_and_areas", [&] { (void)assess_severity(p->labels, lungs, pred->num_classes()); }},
      {"encode_mask_png", [&] { (void)encode_png_gray(p->labels); }},
      {"render_overlay", [&] { (void)render_overlay(*img, p->labels, default_lesion_styles(), 0.5f); }},
      {"encode_overlay_png", [&] { (void)encode_png_rgba(overlay); }},
      {"predict_decoded", [&] { (void)predict_decoded(*pred, decoded, popts); }},
  };
  std::vector<std::vector<double>> ms(stages.size());
  for (int r = -3; r < repeats; ++r) {
    for (std::size_t k = 0; k < stages.size(); ++k) {
      const auto t0 = Clock::now();
      stages[k].second();
      if (r >= 0) ms[k].push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    }
  }
  for (std::size_t k = 0; k < stages.size(); ++k) {
    nlohmann::json j = {{"bench", "server_stage"}, {"stage", stages[k].first}, {"slice", a.slice},
                        {"threads", pred->threads()}};
    j.update(stats(ms[k]));
    std::printf("%s\n", j.dump().c_str());
  }
  return 0;
}

int slice_worker(const Args& a) {
  // The server's malloc settings (server.h), so the two LibTorch contestants differ by the server only.
  tune_allocator_for_inference();
  auto pred = load_predictor(a);
  if (!pred) {
    std::fprintf(stderr, "corona_bench: %s\n", pred.error().message.c_str());
    return 1;
  }
  const std::vector<std::uint8_t> png = read_bytes(a.slice);
  std::printf("%s\n", nlohmann::json({{"ready", true}, {"threads", pred->threads()}}).dump().c_str());
  std::fflush(stdout);
  std::string line;
  while (std::getline(std::cin, line)) {
    const auto t0 = Clock::now();
    auto img = load_image_from_buffer(png.data(), png.size());
    if (!img) {
      std::printf("%s\n", nlohmann::json({{"error", img.error().message}}).dump().c_str());
      std::fflush(stdout);
      continue;
    }
    auto p = pred->predict_slice(*img);
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    nlohmann::json j = p ? nlohmann::json{{"ms", ms}, {"labels_fnv", std::to_string(fnv1a(p->labels.pixels))},
                                          {"width", p->labels.width}, {"height", p->labels.height}}
                         : nlohmann::json{{"error", p.error().message}};
    std::printf("%s\n", j.dump().c_str());
    std::fflush(stdout);
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
    else if (f == "--slice") a.slice = v;
    else if (f == "--precision") a.precision = v;
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
  if (a.mode == "stages") return bench_stages(a);
  if (a.mode == "slice-worker") return slice_worker(a);
  std::fputs(kUsage, stderr);
  return 2;
}
