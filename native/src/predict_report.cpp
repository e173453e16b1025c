// One input -> report + mask + overlay: the body of `coronanet predict`, shared with the server so
// both give the same answer for the same bytes.
#include "corona_native/predict_report.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <optional>
#include <utility>

#include "corona/lung_mask.h"
#include "corona/overlay.h"
#include "corona/preprocess.h"
#include "corona/severity.h"
#include "corona_native/cli_util.h"
#include "corona_native/inference.h"

namespace corona::native {
namespace {

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

struct Lungs {
  Summed right, left, total;
  void add(const SeverityReport& sev) {
    right.add(sev.right);
    left.add(sev.left);
    total.add(sev.total);
  }
  nlohmann::json to_json() const {
    return {{"right", right.to_json()}, {"left", left.to_json()}, {"total", total.to_json()}};
  }
};

nlohmann::json model_json(const Predictor& p, const std::string& model_path) {
  const ModelPlans& plans = p.plans();
  nlohmann::json j = {{"name", plans.name},
                      {"version", plans.version},
                      {"task", plans.task},
                      {"input_size", plans.input_size},
                      {"hu_window", {{"center", plans.hu_window.center}, {"width", plans.hu_window.width}}},
                      {"config", plans.model.to_json()},
                      {"device", p.device_name()}};
  if (!model_path.empty()) j["path"] = model_path;
  return j;
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

bool cancelled(const PredictBytesOptions& o) { return o.cancel != nullptr && o.cancel->load(); }

// Encodes now (encode_files) or hands the sources to out.deferred.
Expected<bool> finish_files(PredictionOutputs& out, std::shared_ptr<DeferredFiles> files,
                            const PredictBytesOptions& options) {
  if (!options.encode_files) {
    out.deferred = std::move(files);
    return true;
  }
  if (files->mask_from_labels()) out.mask = files->mask_png();
  auto overlay = files->overlay_png();
  if (!overlay) return overlay.error();
  out.overlay_png = std::move(overlay).value();
  return true;
}

// PNG/JPEG slice.
Expected<bool> predict_image(Predictor& pred, const ImageU8& img, const PredictBytesOptions& options,
                             PredictionOutputs& out) {
  if (cancelled(options)) return make_error(kCancelledMessage);
  if (options.progress) options.progress(0, 1);
  // The lung mask needs only the image: it runs beside the network's post-processing (BesideFn).
  std::optional<LabelMap> lung;
  auto p = pred.predict_slice(img, [&] { lung = lung_mask_from_u8(img); });
  if (!p) return p.error();
  if (!lung) lung = lung_mask_from_u8(img);
  const int c = pred.num_classes();
  out.mask_extension = "png";
  if (auto r = finish_files(out, std::make_shared<DeferredFiles>(img, p->labels, true), options); !r)
    return r.error();
  const SeverityReport sev = assess_severity(p->labels, *lung, c);
  Lungs lungs;
  lungs.add(sev);
  nlohmann::json& report = out.report;
  report["kind"] = "slice";
  report["width"] = img.width;
  report["height"] = img.height;
  report["spacing_known"] = false;
  report["infected_probability"] = finite_or_null(p->infected_probability);
  report["classes"] = classes_json(sev.classes, c, 0.0, false);  // class_areas(labels), counted once
  report["lungs"] = lungs.to_json();
  report["severity_band"] = sev.total.severity_band;
  if (options.progress) options.progress(1, 1);
  return true;
}

// Areas and severity per slice in display orientation (the lung mask's left/right needs it),
// summed over the volume.
void volume_areas(const VolumeF& hu, const LabelVolume& labels_v, int c, std::vector<ClassArea>& areas, Lungs& lungs) {
  const DisplayOrientation o = display_orientation(hu.affine);
  areas.assign(static_cast<std::size_t>(c), ClassArea{});
  for (int z = 0; z < hu.nz; ++z) {
    const ImageF d = to_display(hu.slice(z), o);
    const LabelMap labels = to_display(labels_v.slice(z), o);
    const SeverityReport sev = assess_severity(labels, lung_mask_from_hu(d), c);
    const std::vector<ClassArea>& a = sev.classes;  // class_areas(labels, c), counted once
    for (std::size_t k = 0; k < static_cast<std::size_t>(c); ++k) {
      areas[k].px += a[k].px;
      areas[k].mm2 += a[k].mm2;
      areas[k].mm2_known = a[k].mm2_known;
    }
    lungs.add(sev);
  }
}

// Overlay: the slice with the most lesion, or the middle one when nothing was found.
Expected<bool> volume_overlay(const Predictor& pred, const VolumeF& hu, const VolumePrediction& vp,
                              const PredictBytesOptions& options, PredictionOutputs& out) {
  const DisplayOrientation o = display_orientation(hu.affine);
  const auto most = std::max_element(vp.lesion_px.begin(), vp.lesion_px.end());
  const bool any = most != vp.lesion_px.end() && *most > 0;
  const int oz = any ? static_cast<int>(most - vp.lesion_px.begin()) : hu.nz / 2;
  ImageU8 base = window_to_u8(to_display(hu.slice(oz), o), pred.plans().hu_window);
  auto files = std::make_shared<DeferredFiles>(std::move(base), to_display(vp.labels.slice(oz), o), false);
  if (auto r = finish_files(out, std::move(files), options); !r) return r.error();
  out.report["overlay_slice"] = oz;
  out.report["overlay_slice_rule"] = any ? "slice with the most lesion pixels" : "middle slice (no lesion predicted)";
  return true;
}

// NIfTI volume (2D files are volumes of one slice).
Expected<bool> predict_nifti(Predictor& pred, const NiftiImage& nii, const PredictBytesOptions& options,
                             PredictionOutputs& out) {
  const VolumeF& hu = nii.volume;
  auto vp = pred.predict_volume(hu, options.batch, options.progress, options.cancel);
  if (!vp) return vp.error();
  const int c = pred.num_classes();
  NiftiWriteOptions wo;
  wo.descrip = "coronanet labels";
  wo.gzip = true;
  wo.ndim = nii.header.ndim >= 3 ? 3 : 2;  // a 2D input gets a 2D mask (same shape in nibabel)
  auto mask = encode_nifti(vp->labels, wo);
  if (!mask) return mask.error();
  out.mask = std::move(mask).value();
  out.mask_extension = "nii.gz";

  std::vector<ClassArea> areas;
  Lungs lungs;
  volume_areas(hu, vp->labels, c, areas, lungs);
  if (auto r = volume_overlay(pred, hu, *vp, options, out); !r) return r.error();

  float max_prob = std::numeric_limits<float>::quiet_NaN();
  nlohmann::json per_slice = nlohmann::json::array();
  for (float v : vp->infected_probability) {
    per_slice.push_back(finite_or_null(v));
    if (std::isfinite(v) && !(v <= max_prob)) max_prob = v;
  }
  nlohmann::json& report = out.report;
  report["kind"] = "volume";
  report["dims"] = nii.header.ndim >= 3 ? nlohmann::json{hu.nx, hu.ny, hu.nz} : nlohmann::json{hu.nx, hu.ny};
  report["spacing_mm"] = {hu.spacing[0], hu.spacing[1], hu.spacing[2]};
  report["spacing_known"] = true;
  report["display_orientation"] = display_orientation(hu.affine).describe();
  report["infected_probability"] = finite_or_null(max_prob);
  report["infected_probability_rule"] = "maximum over slices";
  report["infected_probability_per_slice"] = per_slice;
  report["lesion_px_per_slice"] = vp->lesion_px;
  report["classes"] = classes_json(areas, c, hu.spacing[2], true);
  report["lungs"] = lungs.to_json();
  report["lungs_rule"] = "per slice classic lung mask (lung_mask_from_hu) and assess_severity, pixel counts summed";
  report["severity_band"] = lungs.total.to_json()["severity_band"];
  return true;
}

}  // namespace

DeferredFiles::DeferredFiles(ImageU8 overlay_base, LabelMap labels, bool mask_from_labels)
    : base_(std::move(overlay_base)), labels_(std::move(labels)), mask_from_labels_(mask_from_labels) {}

std::vector<std::uint8_t> DeferredFiles::mask_png() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!mask_) mask_ = encode_png_gray(labels_);
  return *mask_;
}

Expected<std::vector<std::uint8_t>> DeferredFiles::overlay_png() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!overlay_) {
    auto overlay = render_overlay(base_, labels_, default_lesion_styles(), 0.5f);
    if (!overlay) return overlay.error();
    overlay_ = encode_png_rgba(*overlay);
  }
  return *overlay_;
}

Expected<DecodedInput> decode_input(const std::uint8_t* data, std::size_t size, const DecodeLimits& limits) {
  DecodedInput in;
  in.kind = data == nullptr ? FileKind::kUnknown : sniff_file_kind(data, size);
  if (in.kind == FileKind::kPng || in.kind == FileKind::kJpeg) {
    auto img = load_image_from_buffer(data, size);
    if (!img) return img.error();
    in.image = std::move(img).value();
    return in;
  }
  if (in.kind == FileKind::kNifti1 || in.kind == FileKind::kGzip) {
    NiftiLoadOptions lo;
    lo.max_voxel_bytes = limits.max_voxel_bytes;
    auto nii = load_nifti_from_buffer(data, size, lo);
    if (!nii) return nii.error();
    in.nifti = std::move(nii).value();
    in.is_volume = true;
    return in;
  }
  return make_error(unsupported_file_message(in.kind));
}

Expected<PredictionOutputs> predict_decoded(Predictor& predictor, const DecodedInput& input,
                                            const PredictBytesOptions& options) {
  const auto t0 = std::chrono::steady_clock::now();
  PredictionOutputs out;
  out.report["file_kind"] = file_kind_name(input.kind);
  auto r = input.is_volume ? predict_nifti(predictor, input.nifti, options, out)
                           : predict_image(predictor, input.image, options, out);
  if (!r) return r.error();
  out.report["model"] = model_json(predictor, options.model_path);
  out.report["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  out.report["note"] = "research tool, not a diagnostic device; lung mask is a classic (model-free) estimate";
  return out;
}

Expected<PredictionOutputs> predict_bytes(Predictor& predictor, const std::uint8_t* data, std::size_t size,
                                          const PredictBytesOptions& options) {
  auto in = decode_input(data, size, options.limits);
  if (!in) return in.error();
  return predict_decoded(predictor, *in, options);
}

}  // namespace corona::native
