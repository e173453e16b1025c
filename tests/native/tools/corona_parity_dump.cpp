// corona_parity_dump: the LibTorch side of the ONNX parity checks. Loads a checkpoint, exports it
// (fp32 and fp16), runs LibTorch on the fixture slices preprocessed exactly as the Predictor does
// (model_input_from_u8 at the checkpoint's input size, mean and std) and writes everything an ONNX
// runtime needs to be compared with it:
//
//   corona_parity_dump --checkpoint CKPT --fixtures DIR --out DIR [--threads N]
//   corona_parity_dump --checkpoint CKPT --write-fixture DIR
//
// --write-fixture writes DIR/checkpoint.pt (weights only, no optimizer state: small enough to
// commit) and DIR/model.onnx: how tests/fixtures/models/tiny is made from a training run.
//
//   OUT/model.onnx, OUT/model_fp16.onnx   export_onnx of the checkpoint
//   OUT/<case>.<tensor>.f32               little-endian float32, C order
//   OUT/manifest.json                     {models, ops, config, cases: [{name, input, outputs}]}
// Cases: each DIR/medseg/tr_im_*.png alone at the input size, all of them as one batch, and the
// first one at 512 x 512 (the network is fully convolutional). "cam" is class_activation_logits:
// head weights x bottleneck features, no bias, before ReLU (the graph's cam output).
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "corona/image_io.h"
#include "corona/preprocess.h"
#include "corona_native/checkpoint.h"
#include "corona_native/onnx_export.h"

namespace {

namespace fs = std::filesystem;
using namespace corona;
using namespace corona::native;

struct Args {
  std::string checkpoint, fixtures, out, write_fixture;
  int threads = 1;  // the parity figures do not depend on it; one thread leaves the box usable
};

bool parse_args(int argc, char** argv, Args& a) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    const std::string v = argv[i + 1];
    if (k == "--checkpoint") a.checkpoint = v;
    else if (k == "--fixtures") a.fixtures = v;
    else if (k == "--out") a.out = v;
    else if (k == "--write-fixture") a.write_fixture = v;
    else if (k == "--threads") a.threads = std::max(1, std::atoi(v.c_str()));
    else return false;
  }
  if (argc % 2 != 1 || a.checkpoint.empty()) return false;
  return !a.write_fixture.empty() || (!a.fixtures.empty() && !a.out.empty());
}

// Writes a tensor as raw float32 and returns its manifest entry.
nlohmann::json write_tensor(const fs::path& dir, const std::string& file, const torch::Tensor& t) {
  const torch::Tensor c = t.detach().to(torch::kCPU, torch::kFloat32).contiguous();
  std::ofstream f(dir / file, std::ios::binary);
  f.write(static_cast<const char*>(c.data_ptr()), static_cast<std::streamsize>(c.nbytes()));
  if (!f) throw std::runtime_error("cannot write " + (dir / file).string());
  return {{"file", file}, {"shape", c.sizes().vec()}};
}

// [N, 1, size, size] from 8-bit slices, as Predictor::predict_slice builds its input.
torch::Tensor model_input(const std::vector<ImageU8>& slices, int size, const CheckpointMeta& meta) {
  torch::Tensor x = torch::empty({static_cast<std::int64_t>(slices.size()), 1, size, size});
  for (std::size_t i = 0; i < slices.size(); ++i) {
    const ImageF in = model_input_from_u8(slices[i], size, meta.input_mean, meta.input_std);
    std::copy(in.pixels.begin(), in.pixels.end(), x.data_ptr<float>() + i * in.pixels.size());
  }
  return x;
}

nlohmann::json run_case(CoronaNet& model, const fs::path& out, const std::string& name, const torch::Tensor& x) {
  torch::NoGradGuard no_grad;
  const ModelOutput y = model->forward(x);
  nlohmann::json c = {{"name", name}, {"input", write_tensor(out, name + ".input.f32", x)}};
  c["outputs"]["seg_logits"] = write_tensor(out, name + ".seg_logits.f32", y.seg_logits);
  if (y.cls_logit.defined()) {
    c["outputs"]["cls_logit"] = write_tensor(out, name + ".cls_logit.f32", y.cls_logit.unsqueeze(1));
    c["outputs"]["cam"] = write_tensor(out, name + ".cam.f32", class_activation_logits(model, y.features));
  }
  return c;
}

int fail(const std::string& message) {
  std::fprintf(stderr, "corona_parity_dump: %s\n", message.c_str());
  return 1;
}

int write_fixture(LoadedModel& loaded, const fs::path& dir) {
  fs::create_directories(dir);
  if (auto w = save_checkpoint((dir / "checkpoint.pt").string(), loaded.model, nullptr, loaded.meta); !w) {
    return fail(w.error().message);
  }
  auto ops = export_onnx(loaded.model, {}, (dir / "model.onnx").string());
  if (!ops) return fail(ops.error().message);
  std::printf("corona_parity_dump: wrote %s/checkpoint.pt and model.onnx\n", dir.string().c_str());
  return 0;
}

int run(const Args& a) {
  torch::set_num_threads(a.threads);
  auto loaded = load_model_from_checkpoint(a.checkpoint);
  if (!loaded) return fail(loaded.error().message);
  if (!a.write_fixture.empty()) return write_fixture(*loaded, a.write_fixture);
  CoronaNet& model = loaded->model;
  const CheckpointMeta& meta = loaded->meta;
  const fs::path out = a.out;
  fs::create_directories(out);

  nlohmann::json manifest = {{"checkpoint", a.checkpoint}, {"config", meta.model.to_json()},
                             {"input_size", meta.input_size}};
  for (const bool fp16 : {false, true}) {
    OnnxExportOptions o;
    o.fp16 = fp16;
    const std::string file = fp16 ? "model_fp16.onnx" : "model.onnx";
    auto ops = export_onnx(model, o, (out / file).string());
    if (!ops) return fail(ops.error().message);
    manifest["models"][fp16 ? "fp16" : "fp32"] = file;
    manifest["ops"][fp16 ? "fp16" : "fp32"] = *ops;
  }

  std::vector<std::pair<std::string, ImageU8>> slices;
  for (const auto& e : fs::directory_iterator(fs::path(a.fixtures) / "medseg")) {
    const std::string n = e.path().filename().string();
    if (n.rfind("tr_im_", 0) != 0 || e.path().extension() != ".png") continue;
    auto img = load_image_from_file(e.path().string());
    if (!img) return fail(img.error().message);
    slices.emplace_back(e.path().stem().string(), std::move(img).value());
  }
  std::sort(slices.begin(), slices.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
  if (slices.empty()) return fail("no tr_im_*.png under " + a.fixtures + "/medseg");

  const int s = meta.input_size;
  std::vector<ImageU8> all;
  for (const auto& [name, img] : slices) {
    manifest["cases"].push_back(run_case(model, out, name + "_s" + std::to_string(s), model_input({img}, s, meta)));
    all.push_back(img);
  }
  manifest["cases"].push_back(run_case(model, out, "batch" + std::to_string(all.size()) + "_s" + std::to_string(s),
                                       model_input(all, s, meta)));
  manifest["cases"].push_back(
      run_case(model, out, slices.front().first + "_s512", model_input({all.front()}, 512, meta)));

  std::ofstream(out / "manifest.json") << manifest.dump(2) << "\n";
  std::printf("corona_parity_dump: %zu cases in %s\n", manifest["cases"].size(), out.string().c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  if (!parse_args(argc, argv, a)) {
    std::fprintf(stderr,
                 "usage: corona_parity_dump --checkpoint CKPT --fixtures DIR --out DIR [--threads N]\n"
                 "       corona_parity_dump --checkpoint CKPT --write-fixture DIR\n");
    return 2;
  }
  try {
    return run(a);
  } catch (const std::exception& e) {
    return fail(e.what());
  }
}
