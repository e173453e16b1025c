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
// Two more modes measure an exported model folder on a data split (tools/bench/fp16_dice.mjs
// drives them; the ONNX graphs run in between, outside this tool):
//
//   corona_parity_dump --split-dump --model DIR --data DIR --split S --work W [--threads N]
//   corona_parity_dump --score --work W --logits NAME[,NAME...] [--tolerance T]
//
// --split-dump loads DIR with the Predictor and, for each MedSeg slice of the split (split order),
// writes the network input exactly as Predictor::predict_slice builds it (model_input_from_u8 at
// the checkpoint's input size, mean and std) to W/inputs/<case>.input.f32 ([1, 1, S, S]), then
// predicts the slice with predict_slice and scores it (W/libtorch/scores.json; its label map goes
// to W/libtorch/<case>.labels.u8). W/manifest.json lists the cases (index, original size), the
// input size, the number of classes and the model folder's ONNX files (plans.json "files").
// --score reads, for each NAME, W/NAME/<case>.seg_logits.f32 ([1, C, S, S] float32, written by
// another runtime from W/inputs), turns them into predictions with segmentation_from_logits (the
// Predictor's one postprocessing path), scores them the same way and writes W/NAME/scores.json
// and W/summary.json: per-run means and the differences between runs (each run vs libtorch, each
// later NAME vs the first), with whether |difference of means| <= T (default 0.005).
// Scores are those of `coronanet evaluate`, from the same core functions: per slice, binary Dice at
// 0.5 of the lesion probability 1 - P(background) vs reference classes 1-3 (255 ignored), and for
// 4-class models the GGO / consolidation / effusion Dice of the argmax labels (NaN when a class is
// absent from both; means skip NaN). label_agreement: fraction of the slice's pixels whose label
// equals LibTorch's.
//
//   OUT/model.onnx, OUT/model_fp16.onnx   export_onnx of the checkpoint
//   OUT/<case>.<tensor>.f32               little-endian float32, C order
//   OUT/manifest.json                     {models, ops, config, cases: [{name, input, outputs}]}
// Cases: each DIR/medseg/tr_im_*.png alone at the input size, all of them as one batch, and the
// first one at 512 x 512 (the network is fully convolutional). "cam" is class_activation_logits:
// head weights x bottleneck features, no bias, before ReLU (the graph's cam output).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "cli/cli_util.h"
#include "corona/image_io.h"
#include "corona/metrics.h"
#include "corona/preprocess.h"
#include "corona/report.h"  // finite_or_null
#include "corona_native/checkpoint.h"
#include "corona_native/dataset.h"
#include "corona_native/inference.h"
#include "corona_native/onnx_export.h"

namespace {

namespace fs = std::filesystem;
using namespace corona;
using namespace corona::native;

struct Args {
  std::string checkpoint, fixtures, out, write_fixture;
  bool split_dump = false, score = false;
  std::string model, data, split, work, logits;
  double tolerance = 0.005;
  int threads = 1;  // the parity figures do not depend on it; one thread leaves the box usable
};

bool parse_args(int argc, char** argv, Args& a) {
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    if (k == "--split-dump") { a.split_dump = true; continue; }
    if (k == "--score") { a.score = true; continue; }
    if (i + 1 >= argc) return false;
    const std::string v = argv[++i];
    if (k == "--checkpoint") a.checkpoint = v;
    else if (k == "--fixtures") a.fixtures = v;
    else if (k == "--out") a.out = v;
    else if (k == "--write-fixture") a.write_fixture = v;
    else if (k == "--model") a.model = v;
    else if (k == "--data") a.data = v;
    else if (k == "--split") a.split = v;
    else if (k == "--work") a.work = v;
    else if (k == "--logits") a.logits = v;
    else if (k == "--tolerance") {
      if (!parse_double(v, a.tolerance) || a.tolerance < 0) return false;
    } else if (k == "--threads") a.threads = std::max(1, std::atoi(v.c_str()));
    else return false;
  }
  if (a.split_dump && a.score) return false;
  if (a.split_dump) return !a.model.empty() && !a.data.empty() && !a.split.empty() && !a.work.empty();
  if (a.score) return !a.work.empty() && !a.logits.empty();
  if (a.checkpoint.empty()) return false;
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
    const ImageF in = model_input_from_u8(slices[i], size, meta.input.mean, meta.input.std);
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

// ---- split measurement (--split-dump, --score) ---------------------------------------------

// One slice's figures in a fixed key order (the order of the means too).
using Row = std::vector<std::pair<std::string, double>>;

std::string case_name(int index) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "tr_im_%04d", index);
  return buf;
}

// The figures `coronanet evaluate` computes (verb_evaluate.cpp), from the same core functions:
// binary lesion Dice at 0.5 of the lesion probability, and per-class Dice of the argmax labels
// for 4-class models; plus agreement of the labels with LibTorch's when those are given.
Expected<Row> slice_scores(const SlicePrediction& p, const SegCase& c, int num_classes, const LabelMap* libtorch) {
  Row v;
  const LabelMap lesion_ref = lesion_labels(c.labels);
  auto bd = binary_dice(p.lesion_probability, lesion_ref, 0.5);
  if (!bd) return bd.error();
  v.emplace_back("dice", *bd);
  if (num_classes == 4) {
    auto sm = segmentation_metrics(p.labels, c.labels, SegmentationOptions{{1, 2, 3}, EmptyPolicy::kNaN});
    if (!sm) return sm.error();
    for (int k = 0; k < 3; ++k)
      v.emplace_back(default_labels("multiclass")[static_cast<std::size_t>(k + 1)].name + "_dice", sm->per_class[static_cast<std::size_t>(k)].values.dice);
  }
  if (libtorch) {
    if (libtorch->pixels.size() != p.labels.pixels.size()) return make_error("label maps differ in size");
    std::uint64_t same = 0;
    for (std::size_t q = 0; q < p.labels.pixels.size(); ++q) same += p.labels.pixels[q] == libtorch->pixels[q];
    v.emplace_back("label_agreement", static_cast<double>(same) / static_cast<double>(p.labels.pixels.size()));
  }
  return v;
}

// A run's scores.json: per case, the NaN-skipping mean of each figure and how many cases it has.
nlohmann::json scores_json(const std::string& run, const std::vector<int>& indices, const std::vector<Row>& rows) {
  nlohmann::json per_case = nlohmann::json::array();
  for (std::size_t i = 0; i < rows.size(); ++i) {
    nlohmann::json j = {{"index", indices[i]}};
    for (const auto& [k, x] : rows[i]) j[k] = finite_or_null(x);
    per_case.push_back(j);
  }
  nlohmann::json mean = nlohmann::json::object(), counted = nlohmann::json::object();
  if (!rows.empty()) {
    for (std::size_t q = 0; q < rows.front().size(); ++q) {
      std::vector<double> xs;
      std::size_t n = 0;
      for (const Row& r : rows) {
        xs.push_back(r[q].second);
        n += std::isfinite(r[q].second) ? 1 : 0;
      }
      mean[rows.front()[q].first] = finite_or_null(nan_mean(xs));
      counted[rows.front()[q].first] = n;
    }
  }
  return {{"run", run}, {"num_cases", rows.size()}, {"mean", mean}, {"cases_counted", counted},
          {"per_case", per_case}};
}

void write_bytes(const fs::path& path, const void* data, std::size_t n) {
  std::ofstream f(path, std::ios::binary);
  f.write(static_cast<const char*>(data), static_cast<std::streamsize>(n));
  if (!f) throw std::runtime_error("cannot write " + path.string());
}

std::vector<char> read_bytes(const fs::path& path, std::size_t expected) {
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  if (!f) throw std::runtime_error("cannot read " + path.string());
  const auto n = static_cast<std::size_t>(f.tellg());
  if (n != expected)
    throw std::runtime_error(path.string() + ": " + std::to_string(n) + " bytes, expected " + std::to_string(expected));
  std::vector<char> b(n);
  f.seekg(0);
  f.read(b.data(), static_cast<std::streamsize>(n));
  if (!f) throw std::runtime_error("cannot read " + path.string());
  return b;
}

void write_json(const fs::path& path, const nlohmann::json& j) {
  std::ofstream f(path);
  f << j.dump(2) << "\n";
  if (!f) throw std::runtime_error("cannot write " + path.string());
}

nlohmann::json read_json(const fs::path& path) {
  std::ifstream f(path);
  if (!f) throw std::runtime_error("cannot read " + path.string());
  return nlohmann::json::parse(f);
}

int split_dump(const Args& a) {
  PredictorOptions popt;
  popt.threads = a.threads;
  popt.device = "cpu";  // the ONNX side runs on the CPU too
  auto predictor = Predictor::load(a.model, popt);
  if (!predictor) return fail(predictor.error().message);
  Predictor& pred = *predictor;
  auto cases = load_medseg_split(a.data, a.split);
  if (!cases) return fail(cases.error().message);
  if (cases->empty()) return fail("split '" + a.split + "' of " + a.data + " has no slices");

  const fs::path work = a.work;
  fs::create_directories(work / "inputs");
  fs::create_directories(work / "libtorch");
  const CheckpointMeta& meta = pred.meta();
  const int s = meta.input.size;
  const int c = pred.num_classes();

  nlohmann::json onnx = nlohmann::json::object();
  const nlohmann::json& files = pred.plans().files;
  std::error_code ec;
  const bool folder = fs::is_directory(a.model, ec);
  for (const auto& [role, key] : {std::pair<const char*, const char*>{"fp32", "onnx"}, {"fp16", "onnx_fp16"}}) {
    if (folder && files.contains(key) && files[key].is_string())
      onnx[role] = fs::absolute(fs::path(a.model) / files[key].get<std::string>()).string();
  }
  nlohmann::json manifest = {{"model", a.model},
                             {"model_name", pred.plans().name},
                             {"model_version", pred.plans().version},
                             {"data", a.data},
                             {"split", a.split},
                             {"input_size", s},
                             {"input_mean", meta.input.mean},
                             {"input_std", meta.input.std},
                             {"num_classes", c},
                             {"onnx", onnx},
                             {"libtorch_threads", pred.threads()},
                             {"cases", nlohmann::json::array()}};

  std::vector<int> indices;
  std::vector<Row> rows;
  for (const SegCase& sc : *cases) {
    const std::string name = case_name(sc.index);
    // The Predictor's own preprocessing (Predictor::predict_slice): same function, same arguments.
    const ImageF in = model_input_from_u8(sc.image, s, meta.input.mean, meta.input.std);
    const std::string input_file = "inputs/" + name + ".input.f32";
    write_bytes(work / input_file, in.pixels.data(), in.pixels.size() * sizeof(float));
    auto p = pred.predict_slice(sc.image);
    if (!p) return fail("slice " + std::to_string(sc.index) + ": " + p.error().message);
    write_bytes(work / "libtorch" / (name + ".labels.u8"), p->labels.pixels.data(), p->labels.pixels.size());
    auto row = slice_scores(*p, sc, c, nullptr);
    if (!row) return fail("slice " + std::to_string(sc.index) + ": " + row.error().message);
    indices.push_back(sc.index);
    rows.push_back(std::move(row).value());
    manifest["cases"].push_back({{"name", name},
                                 {"index", sc.index},
                                 {"width", sc.image.width},
                                 {"height", sc.image.height},
                                 {"input", {{"file", input_file}, {"shape", {1, 1, s, s}}}}});
  }
  write_json(work / "libtorch" / "scores.json", scores_json("libtorch", indices, rows));
  write_json(work / "manifest.json", manifest);
  std::printf("corona_parity_dump: %zu %s slices of %s, inputs and LibTorch scores in %s\n", rows.size(),
              a.split.c_str(), a.data.c_str(), work.string().c_str());
  return 0;
}

std::vector<std::string> split_names(const std::string& list) {
  std::vector<std::string> out;
  std::stringstream ss(list);
  for (std::string n; std::getline(ss, n, ',');) {
    if (n.empty() || n == "libtorch" || n == "inputs" || n.find('/') != std::string::npos)
      throw std::runtime_error("--logits: bad run name '" + n + "'");
    out.push_back(n);
  }
  return out;
}

// Run a minus run b: difference of the means (the figure two evaluate summaries would show),
// the largest per-slice |a - b| over slices where both are defined, the slices defined in only
// one of them, and whether |difference of means| <= tolerance (per figure and for all of them).
nlohmann::json difference(const nlohmann::json& a, const nlohmann::json& b, double tolerance) {
  nlohmann::json d = {{"a", a["run"]}, {"b", b["run"]}, {"tolerance", tolerance}};
  bool all_within = true;
  std::size_t compared = 0;
  for (const auto& [key, ma] : a["mean"].items()) {
    if (key == "label_agreement" || !b["mean"].contains(key)) continue;
    const nlohmann::json& mb = b["mean"][key];
    double max_abs = 0.0;
    std::size_t paired = 0, one_sided = 0;
    for (std::size_t i = 0; i < a["per_case"].size(); ++i) {
      const nlohmann::json& x = a.at("per_case").at(i).at(key);
      const nlohmann::json& y = b.at("per_case").at(i).at(key);
      if (x.is_null() != y.is_null()) ++one_sided;
      if (x.is_null() || y.is_null()) continue;
      ++paired;
      max_abs = std::max(max_abs, std::abs(x.get<double>() - y.get<double>()));
    }
    nlohmann::json e = {{"slices_paired", paired}, {"slices_defined_in_one_only", one_sided},
                        {"max_abs_slice_difference", paired ? nlohmann::json(max_abs) : nlohmann::json(nullptr)}};
    if (ma.is_null() || mb.is_null()) {
      e["mean_difference"] = nullptr;
      e["within_tolerance"] = nullptr;  // undefined on this split: nothing to compare
    } else {
      const double diff = ma.get<double>() - mb.get<double>();
      e["mean_difference"] = diff;
      e["within_tolerance"] = std::abs(diff) <= tolerance;
      all_within = all_within && std::abs(diff) <= tolerance;
      ++compared;
    }
    d["metrics"][key] = e;
  }
  // null when no figure is defined in both runs (e.g. a split without lesions): nothing was compared.
  d["all_within_tolerance"] = compared ? nlohmann::json(all_within) : nlohmann::json(nullptr);
  return d;
}

int score(const Args& a) {
  const fs::path work = a.work;
  const nlohmann::json manifest = read_json(work / "manifest.json");
  const std::string data = manifest.at("data"), split = manifest.at("split");
  const int s = manifest.at("input_size"), c = manifest.at("num_classes");
  auto cases = load_medseg_split(data, split);
  if (!cases) return fail(cases.error().message);
  const nlohmann::json& listed = manifest.at("cases");
  if (cases->size() != listed.size()) return fail("the split no longer has the manifest's slices");
  const std::size_t plane = static_cast<std::size_t>(s) * s;

  nlohmann::json runs = {{"libtorch", read_json(work / "libtorch" / "scores.json")}};
  std::vector<std::string> order = {"libtorch"};
  for (const std::string& run : split_names(a.logits)) {
    std::vector<int> indices;
    std::vector<Row> rows;
    for (std::size_t i = 0; i < cases->size(); ++i) {
      const SegCase& sc = (*cases)[i];
      const std::string name = listed[i].at("name");
      if (listed[i].at("index") != sc.index) return fail("the split's order differs from the manifest's");
      const std::vector<char> raw =
          read_bytes(work / run / (name + ".seg_logits.f32"), static_cast<std::size_t>(c) * plane * sizeof(float));
      std::vector<float> logits(static_cast<std::size_t>(c) * plane);
      std::memcpy(logits.data(), raw.data(), raw.size());
      const SlicePrediction p = segmentation_from_logits(logits.data(), c, s, sc.image.width, sc.image.height);
      LabelMap libtorch(sc.image.width, sc.image.height);
      const std::vector<char> lt = read_bytes(work / "libtorch" / (name + ".labels.u8"), libtorch.pixels.size());
      std::memcpy(libtorch.pixels.data(), lt.data(), lt.size());
      auto row = slice_scores(p, sc, c, &libtorch);
      if (!row) return fail(run + " slice " + std::to_string(sc.index) + ": " + row.error().message);
      indices.push_back(sc.index);
      rows.push_back(std::move(row).value());
    }
    runs[run] = scores_json(run, indices, rows);
    write_json(work / run / "scores.json", runs[run]);
    order.push_back(run);
  }

  nlohmann::json diffs = nlohmann::json::array();
  for (std::size_t i = 1; i < order.size(); ++i) diffs.push_back(difference(runs[order[i]], runs["libtorch"], a.tolerance));
  for (std::size_t i = 2; i < order.size(); ++i) diffs.push_back(difference(runs[order[i]], runs[order[1]], a.tolerance));

  nlohmann::json summary = {
      {"model", manifest.at("model")}, {"data", data}, {"split", split}, {"num_cases", cases->size()},
      {"input_size", s}, {"num_classes", c}, {"tolerance", a.tolerance},
      {"protocol",
       "per MedSeg slice, as coronanet evaluate: binary Dice at 0.5 of lesion probability 1 - P(background) "
       "(softmax at the network size, bilinear resize to the slice size) vs reference classes 1-3 (255 "
       "ignored); per-class Dice of the argmax labels (NaN when the class is absent from both); means skip "
       "NaN. ONNX runs: segmentation_from_logits on the runtime's seg_logits. Differences: a - b of the "
       "means; within_tolerance: |a - b| <= tolerance"},
      {"runs", nlohmann::json::array()}, {"differences", diffs}};
  for (const std::string& r : order) {
    nlohmann::json m = {{"run", r}, {"mean", runs[r]["mean"]}, {"cases_counted", runs[r]["cases_counted"]}};
    summary["runs"].push_back(m);
  }
  write_json(work / "summary.json", summary);
  std::printf("corona_parity_dump: scored %zu runs on %zu slices: %s\n", order.size(), cases->size(),
              (work / "summary.json").string().c_str());
  return 0;
}

int run(const Args& a) {
  if (a.split_dump) return split_dump(a);
  if (a.score) return score(a);
  torch::set_num_threads(a.threads);
  auto loaded = load_model_from_checkpoint(a.checkpoint);
  if (!loaded) return fail(loaded.error().message);
  if (!a.write_fixture.empty()) return write_fixture(*loaded, a.write_fixture);
  CoronaNet& model = loaded->model;
  const CheckpointMeta& meta = loaded->meta;
  const fs::path out = a.out;
  fs::create_directories(out);

  nlohmann::json manifest = {{"checkpoint", a.checkpoint}, {"config", meta.model.to_json()},
                             {"input_size", meta.input.size}};
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

  const int s = meta.input.size;
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
                 "       corona_parity_dump --checkpoint CKPT --write-fixture DIR\n"
                 "       corona_parity_dump --split-dump --model DIR --data DIR --split S --work W [--threads N]\n"
                 "       corona_parity_dump --score --work W --logits NAME[,NAME...] [--tolerance T]\n");
    return 2;
  }
  try {
    return run(a);
  } catch (const std::exception& e) {
    return fail(e.what());
  }
}
