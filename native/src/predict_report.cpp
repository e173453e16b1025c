// One input -> report + mask + overlay: the body of `coronanet predict`, shared with the server so
// both give the same answer for the same bytes.
#include "corona_native/predict_report.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <utility>

#include "corona/lung_mask.h"
#include "corona/overlay.h"
#include "corona/preprocess.h"
#include "corona/report.h"
#include "corona_native/inference.h"

namespace corona::native {
namespace {

// The report's native extras: the device the model ran on and, for the CLI, the model's path.
void add_model_extras(nlohmann::json& report, const Predictor& p, const std::string& model_path) {
  report["model"]["device"] = p.device_name();
  if (!model_path.empty()) report["model"]["path"] = model_path;
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
                             ReportInput& report, PredictionOutputs& out) {
  if (cancelled(options)) return make_error(kCancelledMessage);
  if (options.progress) options.progress(0, 1);
  // The lung mask needs only the image: it runs beside the network's post-processing (BesideFn).
  std::optional<LabelMap> lung;
  auto p = pred.predict_slice(img, [&] { lung = lung_mask_from_u8(img); });
  if (!p) return p.error();
  if (!lung) lung = lung_mask_from_u8(img);
  out.mask_extension = "png";
  if (auto r = finish_files(out, std::make_shared<DeferredFiles>(img, p->labels, true), options); !r)
    return r.error();
  report.nx = img.width;
  report.ny = img.height;
  set_slice_outcomes(report, {slice_outcome(p->labels, *lung, p->infected_probability, pred.num_classes())},
                     pred.num_classes());
  if (options.progress) options.progress(1, 1);
  return true;
}

// The slice the overlay shows: the first with the most lesion pixels, or the middle one when
// nothing was found. Keeps that slice's display image and labels as the pass goes by.
struct OverlayPick {
  int z = -1;
  std::uint64_t lesion_px = 0;
  ImageF display;
  LabelMap labels;
  void offer(int slice, const SliceOutcome& o, const ImageF& d, const LabelMap& l, int middle) {
    const bool most = o.lesion_px > lesion_px;
    if (!most && !(lesion_px == 0 && slice == middle)) return;
    if (most) lesion_px = o.lesion_px;
    z = slice;
    display = d;
    labels = l;
  }
};

// One batch of display slices: network, lung masks (beside the network's post-processing), and
// what each slice contributes, all on the same display slice. Labels go back to voxel order once.
Expected<bool> predict_batch(Predictor& pred, const VolumeF& hu, const DisplayOrientation& o, int z0, int n,
                             LabelVolume& labels, std::vector<SliceOutcome>& outcomes, OverlayPick& pick) {
  std::vector<ImageF> display, inputs;
  for (int k = 0; k < n; ++k) {
    display.push_back(to_display(hu.slice(z0 + k), o));
    inputs.push_back(model_input_from_hu(display.back(), pred.plans().input));
  }
  std::vector<LabelMap> lungs;
  auto lung_masks = [&] {
    for (const ImageF& d : display) lungs.push_back(lung_mask_from_hu(d));
  };
  auto r = pred.predict_inputs(inputs, display[0].width, display[0].height, n, lung_masks);
  if (!r) return r.error();
  if (lungs.empty()) lung_masks();
  for (int k = 0; k < n; ++k) {
    const auto i = static_cast<std::size_t>(k);
    const ImageF& d = display[i];
    LabelMap& l = (*r)[i].labels;
    l.spacing_x = d.spacing_x;  // areas in mm²: the display slice's spacing
    l.spacing_y = d.spacing_y;
    l.spacing_known = d.spacing_known;
    outcomes.push_back(slice_outcome(l, lungs[i], (*r)[i].infected_probability, pred.num_classes()));
    pick.offer(z0 + k, outcomes.back(), d, l, hu.nz / 2);
    labels.set_slice(z0 + k, from_display(l, o));
  }
  return true;
}

// NIfTI volume (2D files are volumes of one slice): slice by slice in display orientation.
// extras: the report's fields only a volume's overlay has (which slice it shows and why).
Expected<bool> predict_nifti(Predictor& pred, const NiftiImage& nii, const PredictBytesOptions& options,
                             ReportInput& report, nlohmann::json& extras, PredictionOutputs& out) {
  const VolumeF& hu = nii.volume;
  if (hu.nx <= 0 || hu.ny <= 0 || hu.nz <= 0 || hu.voxels.size() != static_cast<std::size_t>(hu.nx) * hu.ny * hu.nz)
    return make_error("predict: empty or inconsistent volume");
  const DisplayOrientation o = display_orientation(hu.affine);
  const int batch = std::max(1, options.batch);
  LabelVolume labels(hu.nx, hu.ny, hu.nz);
  labels.spacing = hu.spacing;
  labels.affine = hu.affine;
  std::vector<SliceOutcome> outcomes;
  OverlayPick pick;
  if (options.progress) options.progress(0, hu.nz);
  for (int z0 = 0; z0 < hu.nz; z0 += batch) {
    if (cancelled(options)) return make_error(kCancelledMessage);
    const int n = std::min(batch, hu.nz - z0);
    if (auto r = predict_batch(pred, hu, o, z0, n, labels, outcomes, pick); !r) return r.error();
    if (options.progress) options.progress(z0 + n, hu.nz);
  }

  NiftiWriteOptions wo;
  wo.descrip = "coronanet labels";
  wo.gzip = true;
  wo.ndim = nii.header.ndim >= 3 ? 3 : 2;  // a 2D input gets a 2D mask (same shape in nibabel)
  auto mask = encode_nifti(labels, wo);
  if (!mask) return mask.error();
  out.mask = std::move(mask).value();
  out.mask_extension = "nii.gz";
  ImageU8 base = window_to_u8(pick.display, pred.plans().input.hu_window);
  auto files = std::make_shared<DeferredFiles>(std::move(base), std::move(pick.labels), false);
  if (auto r = finish_files(out, std::move(files), options); !r) return r.error();

  report.is_volume = true;
  report.ndim = wo.ndim;
  report.nx = hu.nx;
  report.ny = hu.ny;
  report.nz = hu.nz;
  report.spacing_mm = hu.spacing;
  report.display_orientation = o.describe();
  set_slice_outcomes(report, outcomes, pred.num_classes());
  const bool any = pick.lesion_px > 0;
  extras["overlay_slice"] = pick.z;
  extras["overlay_slice_rule"] = any ? "slice with the most lesion pixels" : "middle slice (no lesion predicted)";
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
  ReportInput report;
  report.file_kind = file_kind_name(input.kind);
  nlohmann::json extras = nlohmann::json::object();
  auto r = input.is_volume ? predict_nifti(predictor, input.nifti, options, report, extras, out)
                           : predict_image(predictor, input.image, options, report, out);
  if (!r) return r.error();
  out.report = build_report(report, predictor.plans());
  out.report.update(extras);
  add_model_extras(out.report, predictor, options.model_path);
  out.report["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

Expected<PredictionOutputs> predict_bytes(Predictor& predictor, const std::uint8_t* data, std::size_t size,
                                          const PredictBytesOptions& options) {
  auto in = decode_input(data, size, options.limits);
  if (!in) return in.error();
  return predict_decoded(predictor, *in, options);
}

}  // namespace corona::native
