// `coronanet predict -i IN -o OUT`: PNG/JPEG slices and NIfTI (HU) volumes, or a folder of them ->
// label masks with the input's geometry, overlays, and a JSON report (areas, severity, model).
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "corona/file_io.h"
#include "corona/image_io.h"
#include "corona/lung_mask.h"
#include "corona/nifti.h"
#include "corona/overlay.h"
#include "corona/preprocess.h"
#include "corona/severity.h"
#include "corona_native/cli_util.h"
#include "corona_native/inference.h"
#include "corona_native/verbs.h"

namespace corona::native {
namespace {

namespace fs = std::filesystem;

constexpr const char* kPredictUsage =
    "usage: coronanet predict -i IN -o OUT [--model DIR|CKPT] [options]\n"
    "  -i, --input IN          a PNG/JPEG slice (8-bit lung window, as the training images), a NIfTI-1\n"
    "                          file (.nii / .nii.gz, Hounsfield units, 2D or 3D), or a folder of them\n"
    "                          (not recursive; other files are skipped with a note)\n"
    "  -o, --output OUT        output folder (created): for each input X.ext\n"
    "                            X.mask.png      PNG input: 8-bit labels, same size as the input\n"
    "                            X.mask.nii.gz   NIfTI input: uint8 labels, same shape and affine\n"
    "                            X.overlay.png   labels over the image (volumes: the slice with the\n"
    "                                            most lesion, else the middle one; display orientation)\n"
    "                            X.json          infected probability, per-class areas (px; mm2 and mL\n"
    "                                            when the file has spacing), per-lung % involved and\n"
    "                                            severity band, model, seconds\n"
    "  --model DIR|CKPT        a model folder (plans.json + weights) or a checkpoint from coronanet\n"
    "                          train (default: the shipped models/corona-net); --checkpoint is an alias\n"
    "  --batch N               slices per forward pass for volumes (default 8)\n"
    "  --threads N             CPU threads (default 0 = all cores)\n"
    "  --device auto|cpu|cuda  (default auto: CUDA when available)\n"
    "Labels: 0 background, 1 GGO, 2 consolidation, 3 effusion (binary models: 0/1 lesion).\n"
    "HU input goes through the model's HU window (plans.json; lung window [-1350, 150] HU) onto the\n"
    "8-bit training range; NIfTI\n"
    "slices are reoriented to radiological display (image left = patient right, anterior up) for\n"
    "the network and the lung mask, and the mask is written back in the file's voxel order.\n"
    "Research tool, not a diagnostic device. Exit status 1 if any input failed.\n";

int usage_error(const std::string& message) { return native::usage_error("predict", message, kPredictUsage); }


std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// X of X.ext (X of X.nii.gz).
std::string stem_of(const fs::path& p) {
  const std::string name = p.filename().string();
  if (ends_with(lower(name), ".nii.gz")) return name.substr(0, name.size() - 7);
  const auto dot = name.rfind('.');
  return dot == std::string::npos || dot == 0 ? name : name.substr(0, dot);
}

bool accepted_name(const std::string& name) {
  const std::string l = lower(name);
  for (const char* e : {".png", ".jpg", ".jpeg", ".nii", ".nii.gz"})
    if (ends_with(l, e)) return true;
  return false;
}

bool is_our_output(const std::string& name) {
  const std::string l = lower(name);
  return ends_with(l, ".mask.png") || ends_with(l, ".overlay.png") || ends_with(l, ".mask.nii.gz");
}

struct Summed {
  std::uint64_t lung_px = 0, lesion_px = 0, outside_lesion_px = 0;
  void add(const LungInvolvement& l) {
    lung_px += l.lung_px;
    lesion_px += l.lesion_px;
    outside_lesion_px += l.outside_lesion_px;
  }
  nlohmann::json to_json() const {
    const double percent = lung_px > 0 ? 100.0 * static_cast<double>(lesion_px) / static_cast<double>(lung_px) : 0.0;
    return {{"lung_px", lung_px},
            {"lesion_px", lesion_px},
            {"outside_lesion_px", outside_lesion_px},
            {"percent_involved", percent},
            {"severity_band", severity_band(percent)}};
  }
};

nlohmann::json model_json(const Predictor& p, const std::string& model_path) {
  const ModelPlans& plans = p.plans();
  return {{"name", plans.name},
          {"version", plans.version},
          {"path", model_path},
          {"task", plans.task},
          {"input_size", plans.input_size},
          {"hu_window", {{"center", plans.hu_window.center}, {"width", plans.hu_window.width}}},
          {"config", plans.model.to_json()},
          {"device", p.device_name()}};
}

nlohmann::json classes_json(const std::vector<ClassArea>& areas, int num_classes, double voxel_depth_mm,
                            bool volume) {
  nlohmann::json a = nlohmann::json::array();
  for (int c = 0; c < num_classes; ++c) {
    const ClassArea& ar = areas[static_cast<std::size_t>(c)];
    nlohmann::json j = {{"label", c}, {"name", class_name(num_classes, c)}, {"px", ar.px},
                        {"mm2", ar.mm2_known ? finite_or_null(ar.mm2) : nlohmann::json(nullptr)}};
    if (volume) j["ml"] = ar.mm2_known ? finite_or_null(ar.mm2 * voxel_depth_mm / 1000.0) : nlohmann::json(nullptr);
    a.push_back(j);
  }
  return a;
}

Expected<bool> write_json(const fs::path& path, const nlohmann::json& j) {
  const std::string text = j.dump(2) + "\n";
  return write_file_bytes(path.string(), std::vector<std::uint8_t>(text.begin(), text.end()));
}

// PNG/JPEG slice.
Expected<bool> predict_image(Predictor& pred, const ImageU8& img, const fs::path& out, const std::string& stem,
                             nlohmann::json& report) {
  auto p = pred.predict_slice(img);
  if (!p) return p.error();
  const int c = pred.num_classes();
  if (auto w = save_png((out / (stem + ".mask.png")).string(), p->labels); !w) return w.error();
  auto overlay = render_overlay(img, p->labels, default_lesion_styles(), 0.5f);
  if (!overlay) return overlay.error();
  if (auto w = save_png((out / (stem + ".overlay.png")).string(), *overlay); !w) return w.error();
  const LabelMap lungs = lung_mask_from_u8(img);
  const SeverityReport sev = assess_severity(p->labels, lungs, c);
  Summed right, left, total;
  right.add(sev.right);
  left.add(sev.left);
  total.add(sev.total);
  report["kind"] = "slice";
  report["width"] = img.width;
  report["height"] = img.height;
  report["spacing_known"] = false;
  report["infected_probability"] = finite_or_null(p->infected_probability);
  report["classes"] = classes_json(class_areas(p->labels, c), c, 0.0, false);
  report["lungs"] = {{"right", right.to_json()}, {"left", left.to_json()}, {"total", total.to_json()}};
  report["severity_band"] = sev.total.severity_band;
  report["outputs"] = {stem + ".mask.png", stem + ".overlay.png", stem + ".json"};
  return true;
}

// NIfTI volume (2D files are volumes of one slice).
Expected<bool> predict_nifti(Predictor& pred, const NiftiImage& nii, const fs::path& out, const std::string& stem,
                             const std::string& display_name, int batch, nlohmann::json& report) {
  const VolumeF& hu = nii.volume;
  const bool tty = isatty(STDERR_FILENO) != 0;
  const auto t0 = std::chrono::steady_clock::now();
  auto progress = [&](int done, int total) {
    const double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double eta = done > 0 ? el / done * (total - done) : 0.0;
    std::fprintf(stderr, "%s  %s: slice %d/%d, %.0f s, ETA %.0f s%s", tty ? "\r" : "", display_name.c_str(), done,
                 total, el, eta, tty ? (done == total ? "\n" : "") : "\n");
    std::fflush(stderr);
  };
  auto vp = pred.predict_volume(hu, batch, progress);
  if (!vp) return vp.error();
  const int c = pred.num_classes();
  NiftiWriteOptions wo;
  wo.descrip = "coronanet labels";
  const std::string mask_path = (out / (stem + ".mask.nii.gz")).string();
  wo.ndim = nii.header.ndim >= 3 ? 3 : 2;  // a 2D input gets a 2D mask (same shape in nibabel)
  if (auto w = save_nifti_to_file(mask_path, vp->labels, wo); !w) return w.error();

  // Areas and severity per slice in display orientation (the lung mask's left/right needs it),
  // summed over the volume.
  const DisplayOrientation o = display_orientation(hu.affine);
  std::vector<ClassArea> areas(static_cast<std::size_t>(c));
  Summed right, left, total;
  for (int z = 0; z < hu.nz; ++z) {
    const ImageF d = to_display(hu.slice(z), o);
    const LabelMap labels = to_display(vp->labels.slice(z), o);
    const std::vector<ClassArea> a = class_areas(labels, c);
    for (int k = 0; k < c; ++k) {
      areas[static_cast<std::size_t>(k)].px += a[static_cast<std::size_t>(k)].px;
      areas[static_cast<std::size_t>(k)].mm2 += a[static_cast<std::size_t>(k)].mm2;
      areas[static_cast<std::size_t>(k)].mm2_known = a[static_cast<std::size_t>(k)].mm2_known;
    }
    const SeverityReport sev = assess_severity(labels, lung_mask_from_hu(d), c);
    right.add(sev.right);
    left.add(sev.left);
    total.add(sev.total);
  }

  // Overlay: the slice with the most lesion, or the middle one when nothing was found.
  const auto most = std::max_element(vp->lesion_px.begin(), vp->lesion_px.end());
  const bool any = most != vp->lesion_px.end() && *most > 0;
  const int oz = any ? static_cast<int>(most - vp->lesion_px.begin()) : hu.nz / 2;
  const ImageU8 base = window_to_u8(to_display(hu.slice(oz), o), pred.plans().hu_window);
  auto overlay = render_overlay(base, to_display(vp->labels.slice(oz), o), default_lesion_styles(), 0.5f);
  if (!overlay) return overlay.error();
  if (auto w = save_png((out / (stem + ".overlay.png")).string(), *overlay); !w) return w.error();

  float max_prob = std::numeric_limits<float>::quiet_NaN();
  nlohmann::json per_slice = nlohmann::json::array();
  for (float v : vp->infected_probability) {
    per_slice.push_back(finite_or_null(v));
    if (std::isfinite(v) && !(v <= max_prob)) max_prob = v;
  }
  report["kind"] = "volume";
  report["dims"] = nii.header.ndim >= 3 ? nlohmann::json{hu.nx, hu.ny, hu.nz} : nlohmann::json{hu.nx, hu.ny};
  report["spacing_mm"] = {hu.spacing[0], hu.spacing[1], hu.spacing[2]};
  report["spacing_known"] = true;
  report["display_orientation"] = o.describe();
  report["infected_probability"] = finite_or_null(max_prob);
  report["infected_probability_rule"] = "maximum over slices";
  report["infected_probability_per_slice"] = per_slice;
  report["lesion_px_per_slice"] = vp->lesion_px;
  report["classes"] = classes_json(areas, c, hu.spacing[2], true);
  report["lungs"] = {{"right", right.to_json()}, {"left", left.to_json()}, {"total", total.to_json()}};
  report["lungs_rule"] = "per slice classic lung mask (lung_mask_from_hu) and assess_severity, pixel counts summed";
  report["severity_band"] = total.to_json()["severity_band"];
  report["overlay_slice"] = oz;
  report["overlay_slice_rule"] = any ? "slice with the most lesion pixels" : "middle slice (no lesion predicted)";
  report["outputs"] = {stem + ".mask.nii.gz", stem + ".overlay.png", stem + ".json"};
  return true;
}

// One input file: sniffed by content, never by name.
Expected<bool> predict_file(Predictor& pred, const fs::path& in, const fs::path& out, int batch,
                            const std::string& checkpoint) {
  const auto t0 = std::chrono::steady_clock::now();
  auto bytes = read_file_bytes(in.string(), std::uint64_t{4} << 30);
  if (!bytes) return bytes.error();
  const FileKind kind = sniff_file_kind(bytes->data(), bytes->size());
  const std::string stem = stem_of(in);
  nlohmann::json report;
  report["input"] = in.string();
  report["file_kind"] = file_kind_name(kind);
  if (kind == FileKind::kPng || kind == FileKind::kJpeg) {
    auto img = load_image_from_buffer(bytes->data(), bytes->size());
    if (!img) return make_error(in.string() + ": " + img.error().message);
    if (auto r = predict_image(pred, *img, out, stem, report); !r) return make_error(in.string() + ": " + r.error().message);
  } else if (kind == FileKind::kNifti1 || kind == FileKind::kGzip) {
    auto nii = load_nifti_from_buffer(bytes->data(), bytes->size());
    if (!nii) return make_error(in.string() + ": " + nii.error().message);
    bytes->clear();
    bytes->shrink_to_fit();
    if (auto r = predict_nifti(pred, *nii, out, stem, in.filename().string(), batch, report); !r)
      return make_error(in.string() + ": " + r.error().message);
  } else {
    return make_error(in.string() + ": " + unsupported_file_message(kind));
  }
  report["model"] = model_json(pred, checkpoint);
  report["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  report["note"] = "research tool, not a diagnostic device; lung mask is a classic (model-free) estimate";
  if (auto w = write_json(out / (stem + ".json"), report); !w) return w.error();
  std::fprintf(stderr, "coronanet predict: %s -> %s (infected p = %s, severity band %d)\n", in.string().c_str(),
               (out / (stem + ".json")).string().c_str(),
               report["infected_probability"].is_null() ? "n/a"
                                                        : std::to_string(report["infected_probability"].get<double>()).c_str(),
               report["severity_band"].get<int>());
  return true;
}

}  // namespace

int run_predict(int argc, char** argv) {
  std::string input, output, checkpoint;
  int batch = 8;
  PredictorOptions popt;
  for (int i = 0; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      std::fputs(kPredictUsage, stdout);
      return 0;
    }
    if (a.rfind("-", 0) != 0) return usage_error("unexpected argument '" + a + "'");
    if (i + 1 >= argc) return usage_error(a + " needs a value");
    const std::string v = argv[++i];
    if (a == "-i" || a == "--input") input = v;
    else if (a == "-o" || a == "--output") output = v;
    else if (a == "--model" || a == "--checkpoint") checkpoint = v;
    else if (a == "--batch") {
      if (!parse_int(v, 1, 4096, batch)) return usage_error("bad value '" + v + "' for --batch: expected 1..4096");
    } else if (std::string err; parse_predictor_flag(a, v, popt, err)) {
      if (!err.empty()) return usage_error(err);
    } else {
      return usage_error("unknown option '" + a + "'");
    }
  }
  if (input.empty()) return usage_error("-i IN is required");
  if (output.empty()) return usage_error("-o OUT is required");
  if (checkpoint.empty()) checkpoint = default_model_path();

  std::vector<fs::path> files;
  std::error_code ec;
  if (fs::is_directory(input, ec)) {
    std::vector<fs::path> all;
    for (const auto& e : fs::directory_iterator(input, ec)) all.push_back(e.path());
    std::sort(all.begin(), all.end());
    for (const fs::path& p : all) {
      const std::string name = p.filename().string();
      if (!fs::is_regular_file(p, ec)) continue;
      if (is_our_output(name)) {
        std::fprintf(stderr, "coronanet predict: note: skipping %s (an output of predict)\n", p.string().c_str());
      } else if (!accepted_name(name)) {
        std::fprintf(stderr, "coronanet predict: note: skipping %s (not .png/.jpg/.jpeg/.nii/.nii.gz)\n",
                     p.string().c_str());
      } else {
        files.push_back(p);
      }
    }
    if (files.empty()) {
      std::fprintf(stderr, "coronanet predict: no PNG/JPEG/NIfTI files in %s\n", input.c_str());
      return 1;
    }
  } else if (fs::is_regular_file(input, ec)) {
    files.push_back(input);
  } else {
    std::fprintf(stderr, "coronanet predict: %s: no such file or folder\n", input.c_str());
    return 1;
  }
  fs::create_directories(output, ec);
  if (ec || !fs::is_directory(output)) {
    std::fprintf(stderr, "coronanet predict: cannot create output folder %s: %s\n", output.c_str(),
                 ec.message().c_str());
    return 1;
  }

  auto predictor = Predictor::load(checkpoint, popt);
  if (!predictor) {
    std::fprintf(stderr, "coronanet predict: %s\n", predictor.error().message.c_str());
    return 1;
  }
  int failed = 0;
  for (const fs::path& f : files) {
    auto r = predict_file(*predictor, f, output, batch, checkpoint);
    if (!r) {
      ++failed;
      std::fprintf(stderr, "coronanet predict: error: %s\n", r.error().message.c_str());
    }
  }
  if (failed > 0) {
    std::fprintf(stderr, "coronanet predict: %d of %zu inputs failed\n", failed, files.size());
    return 1;
  }
  return 0;
}

}  // namespace corona::native
