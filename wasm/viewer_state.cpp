#include "viewer_state.h"

#include <emscripten.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "corona/lung_mask.h"
#include "corona/nifti.h"
#include "corona/segmentation.h"

namespace corona::viewer {
namespace {

using nlohmann::json;
constexpr float kNaNf = std::numeric_limits<float>::quiet_NaN();

// The wasm heap is capped at 2 GB; a volume's floats, its labels, the prediction and the display
// copies must fit together, so the decoded float volume may take at most a quarter of it.
constexpr std::uint64_t kMaxVolumeBytes = std::uint64_t{512} << 20;

Expected<NiftiImage> load_browser_nifti(const std::uint8_t* data, std::size_t size) {
  NiftiLoadOptions o;
  o.max_voxel_bytes = kMaxVolumeBytes;
  auto nii = load_nifti_from_buffer(data, size, o);
  if (!nii && nii.error().message.find("over the cap") != std::string::npos)
    return make_error(nii.error().message + " (the browser viewer holds volumes up to 512 MiB of float voxels; "
                      "use the server or `coronanet predict` for larger ones)");
  return nii;
}

// An 8-bit slice as a one-slice float volume, so slices and volumes share one display path.
VolumeF volume_from_slice(const ImageU8& img) {
  VolumeF vol(img.width, img.height, 1);
  std::transform(img.pixels.begin(), img.pixels.end(), vol.voxels.begin(),
                 [](std::uint8_t v) { return static_cast<float>(v); });
  return vol;
}

LabelVolume labels_from_slice(const LabelMap& map) {
  LabelVolume vol(map.width, map.height, 1);
  vol.voxels = map.pixels;
  return vol;
}

LabelVolume labels_from_nifti(const VolumeF& values) {
  LabelVolume vol(values.nx, values.ny, values.nz);
  vol.spacing = values.spacing;
  vol.affine = values.affine;
  std::transform(values.voxels.begin(), values.voxels.end(), vol.voxels.begin(), [](float v) {
    const float r = std::round(v);
    return static_cast<std::uint8_t>(r >= 0.0f && r <= 255.0f ? r : kIgnoreLabel);
  });
  return vol;
}

json finite_or_null(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

json lung_json(const LungInvolvement& l) {
  return {{"lung_px", l.lung_px},
          {"lesion_px", l.lesion_px},
          {"outside_lesion_px", l.outside_lesion_px},
          {"percent_involved", l.percent},
          {"severity_band", l.severity_band}};
}

void add_involvement(LungInvolvement& sum, const LungInvolvement& l) {
  sum.lung_px += l.lung_px;
  sum.lesion_px += l.lesion_px;
  sum.outside_lesion_px += l.outside_lesion_px;
}

void close_involvement(LungInvolvement& l) {
  l.percent = l.lung_px > 0 ? 100.0 * static_cast<double>(l.lesion_px) / static_cast<double>(l.lung_px) : 0.0;
  l.severity_band = severity_band(l.percent);
}

const char* phase_name(RunPhase p) {
  switch (p) {
    case RunPhase::kIdle: return "idle";
    case RunPhase::kRunning: return "running";
    case RunPhase::kDone: return "done";
    case RunPhase::kFailed: return "failed";
    case RunPhase::kCancelled: return "cancelled";
  }
  return "idle";
}

}  // namespace

bool ViewerState::fail(const std::string& message) {
  status = message;
  status_is_error = true;
  return false;
}

bool ViewerState::set_model(const std::string& plans, const std::string& metrics, const std::string& log) {
  auto m = parse_model_info(plans, metrics, log);
  if (!m) return fail("Model: " + m.error().message);
  model = std::move(m).value();
  model_loaded = true;
  styles = model.styles();
  return true;
}

bool ViewerState::open(FileRole role, const std::string& name, const std::uint8_t* data, std::size_t size) {
  if (run.phase == RunPhase::kRunning && role != FileRole::kPrediction)
    return fail("A model run is in progress: cancel it before opening another file.");
  if (size == 0) return fail(name + ": the file is empty");
  const FileKind kind = sniff_file_kind(data, size);
  if (kind == FileKind::kGzip) {
    return fail(name + ": still gzip-compressed (the page decompresses .gz files; was it double-compressed?)");
  }
  const bool is_nifti = kind == FileKind::kNifti1 || kind == FileKind::kNifti2;
  if (!is_nifti && kind != FileKind::kPng && kind != FileKind::kJpeg) {
    return fail(name + ": " + unsupported_file_message(kind));
  }
  if (role == FileRole::kImage) {
    if (is_nifti) {
      auto nii = load_browser_nifti(data, size);
      if (!nii) return fail(name + ": " + nii.error().message);
      volume = std::move(nii->volume);
      nifti_ndim = nii->header.ndim >= 3 ? 3 : 2;
      volume_is_hu = true;
      orientation = display_orientation(volume->affine);
    } else {
      auto img = load_image_from_buffer(data, size);
      if (!img) return fail(name + ": " + img.error().message);
      volume = volume_from_slice(*img);
      nifti_ndim = 2;
      volume_is_hu = false;
      orientation = DisplayOrientation{};
    }
    file_kind = kind;
    reference.reset();
    prediction.reset();
    run = RunStatus{};
    reference_name.clear();
    image_name = name;
    slice_index = volume->nz / 2;
    status = "Opened " + name;
    status_is_error = false;
    return true;
  }
  if (!volume) return fail("Open an image before a label map.");
  LabelVolume lv;
  if (is_nifti) {
    auto nii = load_browser_nifti(data, size);
    if (!nii) return fail(name + ": " + nii.error().message);
    lv = labels_from_nifti(nii->volume);
  } else {
    auto map = load_label_png_from_buffer(data, size);
    if (!map) return fail(name + ": " + map.error().message);
    // A PNG mask is in display orientation (as `coronanet predict` writes it): back to voxel order.
    lv = labels_from_slice(from_display(*map, orientation));
  }
  if (lv.nx != volume->nx || lv.ny != volume->ny || lv.nz != volume->nz) {
    return fail(name + ": label map is " + std::to_string(lv.nx) + "x" + std::to_string(lv.ny) + "x" +
                std::to_string(lv.nz) + " but the image is " + std::to_string(volume->nx) + "x" +
                std::to_string(volume->ny) + "x" + std::to_string(volume->nz));
  }
  lv.spacing = volume->spacing;
  lv.affine = volume->affine;
  if (role == FileRole::kReference) {
    reference = std::move(lv);
    reference_name = name;
  } else {
    Prediction p;
    if (prediction) p.backend = prediction->backend;  // the server's mask arriving for a run
    p.labels = std::move(lv);
    p.infected.assign(static_cast<std::size_t>(volume->nz), kNaNf);
    p.cam.assign(static_cast<std::size_t>(volume->nz), ImageF{});
    p.done.assign(static_cast<std::size_t>(volume->nz), 1);
    p.summaries.assign(static_cast<std::size_t>(volume->nz), std::nullopt);
    prediction = std::move(p);
  }
  if (role == FileRole::kReference) status = "Opened " + name;
  status_is_error = false;
  return true;
}

int ViewerState::display_width() const {
  return volume ? (orientation.transpose ? volume->ny : volume->nx) : 0;
}
int ViewerState::display_height() const {
  return volume ? (orientation.transpose ? volume->nx : volume->ny) : 0;
}

ImageU8 ViewerState::display_slice(int k) const {
  const ImageF values = to_display(volume->slice(k), orientation);
  if (volume_is_hu) return window_to_u8(values, window);
  ImageU8 out(values.width, values.height);
  std::transform(values.pixels.begin(), values.pixels.end(), out.pixels.begin(),
                 [](float v) { return static_cast<std::uint8_t>(std::clamp(v, 0.0f, 255.0f)); });
  return out;
}

std::optional<LabelMap> ViewerState::predicted_slice(int k) const {
  if (!prediction || !prediction->done[static_cast<std::size_t>(k)]) return std::nullopt;
  return to_display(prediction->labels.slice(k), orientation);
}

std::optional<LabelMap> ViewerState::reference_slice(int k) const {
  if (!reference) return std::nullopt;
  return to_display(reference->slice(k), orientation);
}

RgbaImage ViewerState::render() const {
  const ImageU8 grey = display_slice(slice_index);
  if (show_cam && prediction) {
    const ImageF& cam = prediction->cam[static_cast<std::size_t>(slice_index)];
    if (!cam.pixels.empty()) {
      auto heat = render_heatmap(grey, cam, opacity);
      if (heat) return std::move(heat).value();
    }
  }
  const auto map = show_reference ? reference_slice(slice_index)
                                  : (show_prediction ? predicted_slice(slice_index) : std::nullopt);
  if (!map) return gray_to_rgba(grey);
  auto rgba = render_overlay(grey, *map, styles, opacity);
  return rgba ? std::move(rgba).value() : gray_to_rgba(grey);
}

// ---- a model run --------------------------------------------------------------------------

int ViewerState::begin_run(const std::string& backend) {
  const char* refusal = !volume                           ? "Open an image (or the demo) before running the model."
                        : !model_loaded                    ? "The model is not loaded yet."
                        : run.phase == RunPhase::kRunning ? "A model run is already in progress."
                                                           : nullptr;
  if (refusal != nullptr) {
    fail(refusal);
    return 0;
  }
  Prediction p;
  p.labels = LabelVolume(volume->nx, volume->ny, volume->nz);
  p.labels.spacing = volume->spacing;
  p.labels.affine = volume->affine;
  p.infected.assign(static_cast<std::size_t>(volume->nz), kNaNf);
  p.cam.assign(static_cast<std::size_t>(volume->nz), ImageF{});
  p.done.assign(static_cast<std::size_t>(volume->nz), 0);
  p.summaries.assign(static_cast<std::size_t>(volume->nz), std::nullopt);
  p.backend = backend;
  prediction = std::move(p);
  run = RunStatus{RunPhase::kRunning, 0, volume->nz, backend, ""};
  show_prediction = true;
  show_reference = false;
  status = "Running the model on " + backend + "...";
  status_is_error = false;
  return volume->nz;
}

ImageF ViewerState::model_input(int k) const {
  const ImageF slice = to_display(volume->slice(k), orientation);
  if (volume_is_hu) return model_input_from_hu(slice, model.hu_window, model.input_size, model.mean, model.std);
  return model_input_from_u8(display_slice(k), model.input_size, model.mean, model.std);
}

bool ViewerState::accept_output(int k, const float* logits, int classes, int size, float cls_logit,
                                const float* evidence, int cam_w, int cam_h) {
  if (run.phase != RunPhase::kRunning || !prediction || k < 0 || k >= slice_count())
    return fail("Model output for slice " + std::to_string(k) + " arrived outside a run.");
  if (classes != model.num_classes || size != model.input_size)
    return fail("Model output has " + std::to_string(classes) + " classes at " + std::to_string(size) +
                "² but plans.json says " + std::to_string(model.num_classes) + " at " +
                std::to_string(model.input_size) + "²");
  const int w = display_width(), h = display_height();
  const SlicePrediction p = segmentation_from_logits(logits, classes, size, w, h);
  prediction->labels.set_slice(k, from_display(p.labels, orientation));
  const auto i = static_cast<std::size_t>(k);
  prediction->infected[i] = std::isnan(cls_logit) ? kNaNf : infected_probability_from_logit(cls_logit);
  if (evidence != nullptr && cam_w > 0 && cam_h > 0) prediction->cam[i] = cam_from_evidence(evidence, cam_w, cam_h, w, h);
  if (!prediction->done[i]) ++run.done;
  prediction->done[i] = 1;
  prediction->summaries[i].reset();
  return true;
}

void ViewerState::finish_run(double ms_per_slice, double session_ms, int threads) {
  if (!prediction) return;
  // The report's per-slice work (classic lung mask, areas, involvement: ~20-40 ms a slice), once,
  // timed on its own: ms_per_slice is the mask's path (input, network, labels) as for any runtime.
  const double t0 = emscripten_get_now();
  summarise_all();
  prediction->report_ms = emscripten_get_now() - t0;
  prediction->ms_per_slice = ms_per_slice;
  prediction->session_ms = session_ms;
  prediction->threads = threads;
  run.phase = RunPhase::kDone;
  char buf[160];
  std::snprintf(buf, sizeof buf, "Predicted %d slice%s on %s: %.0f ms per slice.", run.total,
                run.total == 1 ? "" : "s", run.backend.c_str(), ms_per_slice);
  status = buf;
  status_is_error = false;
}

void ViewerState::fail_run(RunPhase phase, const std::string& message) {
  prediction.reset();  // a partial mask would read as "nothing found" on the slices not run
  run.phase = phase;
  run.message = message;
  status = (phase == RunPhase::kCancelled ? "Cancelled: " : "The model run failed: ") + message;
  status_is_error = phase == RunPhase::kFailed;
}

// ---- report ---------------------------------------------------------------------------------

LabelMap ViewerState::lung_mask(int k) const {
  if (volume_is_hu) return lung_mask_from_hu(to_display(volume->slice(k), orientation));
  return lung_mask_from_u8(display_slice(k));
}

Summary ViewerState::summarise_slice(int k) const {
  Summary s;
  auto labels = predicted_slice(k);
  if (!labels) return s;
  auto& cached = prediction->summaries[static_cast<std::size_t>(k)];
  if (cached) return *cached;
  labels->spacing_known = volume_is_hu;  // PNG/JPEG carry no geometry: pixels only
  const SeverityReport sev = assess_severity(*labels, lung_mask(k), model.num_classes);
  s.classes = class_areas(*labels, model.num_classes);
  s.right = sev.right;
  s.left = sev.left;
  s.total = sev.total;
  cached = s;
  return s;
}

Summary ViewerState::summarise_all() const {
  Summary sum;
  sum.classes.assign(static_cast<std::size_t>(model.num_classes), ClassArea{});
  for (int k = 0; k < slice_count(); ++k) {
    const Summary s = summarise_slice(k);
    if (s.classes.empty()) continue;
    for (std::size_t c = 0; c < sum.classes.size(); ++c) {
      sum.classes[c].px += s.classes[c].px;
      sum.classes[c].mm2 += s.classes[c].mm2;
      sum.classes[c].mm2_known = s.classes[c].mm2_known;
    }
    add_involvement(sum.right, s.right);
    add_involvement(sum.left, s.left);
    add_involvement(sum.total, s.total);
  }
  for (auto* l : {&sum.right, &sum.left, &sum.total}) close_involvement(*l);
  return sum;
}

// The same fields as `coronanet predict`'s report (native/src/predict_report.cpp), plus how this
// browser ran it.
json ViewerState::report() const {
  if (!volume || !prediction) return json::object();
  const Summary s = summarise_all();
  const bool is_volume = volume_is_hu;
  json classes = json::array();
  for (int c = 0; c < model.num_classes; ++c) {
    const ClassArea& a = s.classes[static_cast<std::size_t>(c)];
    json j = {{"label", c}, {"name", model.label_name(c)}, {"px", a.px},
              {"mm2", a.mm2_known ? finite_or_null(a.mm2) : json(nullptr)}};
    if (is_volume) j["ml"] = a.mm2_known ? finite_or_null(a.mm2 * volume->spacing[2] / 1000.0) : json(nullptr);
    classes.push_back(j);
  }
  json r;
  r["file_kind"] = file_kind_name(file_kind);
  if (is_volume) {
    r["kind"] = "volume";
    r["dims"] = nifti_ndim >= 3 ? json{volume->nx, volume->ny, volume->nz} : json{volume->nx, volume->ny};
    r["spacing_mm"] = {volume->spacing[0], volume->spacing[1], volume->spacing[2]};
    r["spacing_known"] = true;
    r["display_orientation"] = orientation.describe();
    float max_prob = kNaNf;
    json per_slice = json::array();
    json lesion_px = json::array();
    for (int k = 0; k < volume->nz; ++k) {
      const float v = prediction->infected[static_cast<std::size_t>(k)];
      per_slice.push_back(finite_or_null(v));
      if (std::isfinite(v) && !(v <= max_prob)) max_prob = v;
      const LabelMap m = prediction->labels.slice(k);
      lesion_px.push_back(std::count_if(m.pixels.begin(), m.pixels.end(), [](std::uint8_t l) { return l != 0; }));
    }
    r["infected_probability"] = finite_or_null(max_prob);
    r["infected_probability_rule"] = "maximum over slices";
    r["infected_probability_per_slice"] = per_slice;
    r["lesion_px_per_slice"] = lesion_px;
  } else {
    r["kind"] = "slice";
    r["width"] = volume->nx;
    r["height"] = volume->ny;
    r["spacing_known"] = false;
    r["infected_probability"] = finite_or_null(prediction->infected.empty() ? kNaNf : prediction->infected[0]);
  }
  r["classes"] = classes;
  r["lungs"] = {{"right", lung_json(s.right)}, {"left", lung_json(s.left)}, {"total", lung_json(s.total)}};
  r["severity_band"] = s.total.severity_band;
  r["model"] = {{"name", model.name},
                {"version", model.version},
                {"task", model.task},
                {"input_size", model.input_size},
                {"hu_window", {{"center", model.hu_window.center}, {"width", model.hu_window.width}}}};
  r["backend"] = prediction->backend;
  r["ms_per_slice"] = prediction->ms_per_slice;
  r["session_ms"] = prediction->session_ms;
  r["report_ms"] = prediction->report_ms;
  r["threads"] = prediction->threads;
  r["slices"] = volume->nz;
  r["note"] = "research tool, not a diagnostic device; lung mask is a classic (model-free) estimate";
  return r;
}

std::string ViewerState::report_csv() const {
  const json r = report();
  if (r.empty()) return {};
  std::string csv = "section,name,px,mm2,percent_involved,severity_band\n";
  auto num = [](const json& j) { return j.is_null() ? std::string() : j.dump(); };
  for (const json& c : r["classes"]) {
    csv += "class," + c["name"].get<std::string>() + "," + num(c["px"]) + "," + num(c["mm2"]) + ",,\n";
  }
  for (const char* side : {"right", "left", "total"}) {
    const json& l = r["lungs"][side];
    csv += std::string("lung,") + side + "," + num(l["lesion_px"]) + ",," + num(l["percent_involved"]) + "," +
           num(l["severity_band"]) + "\n";
  }
  csv += "summary,infected_probability,,," + num(r["infected_probability"]) + ",\n";
  csv += "summary,backend " + r["backend"].get<std::string>() + ",,,,\n";
  return csv;
}

Expected<std::vector<std::uint8_t>> ViewerState::export_bytes(ExportKind kind) const {
  if (!prediction || run.phase == RunPhase::kRunning) return make_error("Run the model first: there is no mask to save.");
  switch (kind) {
    case ExportKind::kMaskNifti: {
      NiftiWriteOptions o;
      o.descrip = "coronanet labels (browser)";
      o.ndim = nifti_ndim;
      return encode_nifti(prediction->labels, o);
    }
    case ExportKind::kMaskPng: {
      auto m = predicted_slice(slice_index);
      if (!m) return make_error("This slice has no prediction.");
      return encode_png_gray(*m);
    }
    case ExportKind::kReportJson: {
      const std::string s = report().dump(2) + "\n";
      return std::vector<std::uint8_t>(s.begin(), s.end());
    }
    case ExportKind::kReportCsv: {
      const std::string s = report_csv();
      return std::vector<std::uint8_t>(s.begin(), s.end());
    }
  }
  return make_error("unknown export");
}

json ViewerState::state_json() const {
  json j = {{"status", status},
            {"error", status_is_error},
            {"slices", slice_count()},
            {"slice", slice_index},
            {"width", volume ? volume->nx : 0},
            {"height", volume ? volume->ny : 0},
            {"is_volume", volume_is_hu},
            {"has_labels", reference.has_value()},
            {"has_prediction", prediction.has_value() && run.phase != RunPhase::kRunning},
            {"model", {{"loaded", model_loaded}, {"name", model.name}, {"version", model.version},
                       {"input_size", model.input_size}, {"num_classes", model.num_classes}}},
            {"run", {{"phase", phase_name(run.phase)}, {"done", run.done}, {"total", run.total},
                     {"backend", run.backend}, {"message", run.message}}}};
  return j;
}

}  // namespace corona::viewer
