#include "viewer_state.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>

#include "corona/lung_mask.h"
#include "corona/nifti.h"
#include "corona/report.h"
#include "corona/segmentation.h"

namespace corona::viewer {
namespace {

using nlohmann::json;
constexpr float kNaNf = std::numeric_limits<float>::quiet_NaN();

// The wasm heap is capped at 2 GB; a volume's floats, its labels, the prediction and the display
// copies must fit together, so the decoded float volume may take at most a quarter of it.
constexpr std::uint64_t kMaxVolumeBytes = std::uint64_t{512} << 20;

// The names the bridge and the state JSON use for the viewer's enums.
template <class E>
struct Named {
  E value;
  const char* name;
};
constexpr Named<FileRole> kRoleNames[] = {
    {FileRole::kImage, "image"}, {FileRole::kReference, "reference"}, {FileRole::kPrediction, "prediction"}};
constexpr Named<ExportKind> kKindNames[] = {{ExportKind::kMaskNifti, "mask_nifti"},
                                            {ExportKind::kMaskPng, "mask_png"},
                                            {ExportKind::kReportJson, "report_json"},
                                            {ExportKind::kReportCsv, "report_csv"}};
constexpr Named<RunPhase> kPhaseNames[] = {{RunPhase::kIdle, "idle"},
                                           {RunPhase::kRunning, "running"},
                                           {RunPhase::kDone, "done"},
                                           {RunPhase::kFailed, "failed"},
                                           {RunPhase::kCancelled, "cancelled"}};

template <class E, std::size_t N>
std::optional<E> value_named(const Named<E> (&table)[N], const std::string& name) {
  for (const Named<E>& n : table)
    if (name == n.name) return n.value;
  return std::nullopt;
}

template <class E, std::size_t N>
const char* name_of(const Named<E> (&table)[N], E value) {
  for (const Named<E>& n : table)
    if (value == n.value) return n.name;
  return table[0].name;  // unreachable: every enumerator has a row
}

template <class E, std::size_t N>
std::string names_of(const Named<E> (&table)[N]) {
  std::string out;
  for (const Named<E>& n : table) out += (out.empty() ? "" : ", ") + std::string(n.name);
  return out;
}

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

LabelVolume labels_from_nifti(const VolumeF& values) {
  LabelVolume vol(values.nx, values.ny, values.nz);
  std::transform(values.voxels.begin(), values.voxels.end(), vol.voxels.begin(), [](float v) {
    const float r = std::round(v);
    return static_cast<std::uint8_t>(r >= 0.0f && r <= 255.0f ? r : kIgnoreLabel);
  });
  return vol;
}

std::string dims_text(int nx, int ny, int nz) {
  return std::to_string(nx) + "x" + std::to_string(ny) + "x" + std::to_string(nz);
}

// An empty label volume shaped like the image in display orientation (spacing follows the axes).
LabelVolume display_volume(const VolumeF& image, const DisplayOrientation& o) {
  LabelVolume out = o.transpose ? LabelVolume(image.ny, image.nx, image.nz) : LabelVolume(image.nx, image.ny, image.nz);
  out.spacing = o.transpose ? std::array<double, 3>{image.spacing[1], image.spacing[0], image.spacing[2]}
                            : image.spacing;
  return out;
}

LabelVolume to_display_volume(const LabelVolume& voxels, const VolumeF& image, const DisplayOrientation& o) {
  LabelVolume out = display_volume(image, o);
  for (int k = 0; k < voxels.nz; ++k) out.set_slice(k, to_display(voxels.slice(k), o));
  return out;
}

std::uint64_t lesion_pixels(const LabelVolume& labels, int k) {
  const std::size_t n = static_cast<std::size_t>(labels.nx) * static_cast<std::size_t>(labels.ny);
  const auto first = labels.voxels.begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(k) * n);
  return static_cast<std::uint64_t>(
      std::count_if(first, first + static_cast<std::ptrdiff_t>(n), [](std::uint8_t l) { return l != 0; }));
}

std::vector<std::uint8_t> text_bytes(const std::string& s) { return std::vector<std::uint8_t>(s.begin(), s.end()); }

}  // namespace

std::optional<FileRole> file_role_from_name(const std::string& name) { return value_named(kRoleNames, name); }
const char* file_role_name(FileRole role) { return name_of(kRoleNames, role); }
std::optional<ExportKind> export_kind_from_name(const std::string& name) { return value_named(kKindNames, name); }
const char* export_kind_name(ExportKind kind) { return name_of(kKindNames, kind); }
std::string file_role_names() { return names_of(kRoleNames); }
std::string export_kind_names() { return names_of(kKindNames); }
const char* run_phase_name(RunPhase phase) { return name_of(kPhaseNames, phase); }

bool ViewerState::fail(const std::string& message) {
  status = message;
  status_is_error = true;
  return false;
}

void ViewerState::report_error(const std::string& message) { fail(message.empty() ? "error" : message); }

bool ViewerState::set_model(const std::string& plans, const std::string& metrics, const std::string& log) {
  auto m = parse_model_info(plans, metrics, log);
  if (!m) return fail("Model: " + m.error().message);
  model = std::move(m).value();
  model_loaded = true;
  styles = model.plans.styles();
  return true;
}

// ---- opening files ----------------------------------------------------------------------------

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
  if (role == FileRole::kImage) return open_image(name, kind, data, size);
  if (!volume) return fail("Open an image before a label map.");
  auto labels = read_labels(name, kind, data, size);
  if (!labels) return fail(labels.error().message);
  if (role == FileRole::kReference) {
    reference = std::move(labels).value();
    reference_name = name;
    status = "Opened " + name;
  } else {
    Prediction p = empty_prediction(/*done=*/1);
    if (prediction) p.backend = prediction->backend;  // the server's mask arriving for a run
    p.labels = std::move(labels).value();
    prediction = std::move(p);
  }
  status_is_error = false;
  return true;
}

// A new image: what belonged to the previous one (labels, prediction, run) goes.
bool ViewerState::open_image(const std::string& name, FileKind kind, const std::uint8_t* data, std::size_t size) {
  if (kind == FileKind::kNifti1 || kind == FileKind::kNifti2) {
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

// A label file for the open image, display-oriented. A NIfTI is in voxel order; a PNG mask is in
// display orientation already (as `coronanet predict` writes it).
Expected<LabelVolume> ViewerState::read_labels(const std::string& name, FileKind kind, const std::uint8_t* data,
                                               std::size_t size) const {
  const bool is_nifti = kind == FileKind::kNifti1 || kind == FileKind::kNifti2;
  const std::string image_dims = dims_text(volume->nx, volume->ny, volume->nz);
  if (is_nifti) {
    auto nii = load_browser_nifti(data, size);
    if (!nii) return make_error(name + ": " + nii.error().message);
    const VolumeF& v = nii->volume;
    if (v.nx != volume->nx || v.ny != volume->ny || v.nz != volume->nz)
      return make_error(name + ": label map is " + dims_text(v.nx, v.ny, v.nz) + " but the image is " + image_dims);
    return to_display_volume(labels_from_nifti(v), *volume, orientation);
  }
  auto map = load_label_png_from_buffer(data, size);
  if (!map) return make_error(name + ": " + map.error().message);
  LabelVolume out = display_volume(*volume, orientation);
  if (map->width != out.nx || map->height != out.ny || out.nz != 1) {
    // In the image's terms (voxel order), as for a NIfTI label map.
    const int w = orientation.transpose ? map->height : map->width;
    const int h = orientation.transpose ? map->width : map->height;
    return make_error(name + ": label map is " + dims_text(w, h, 1) + " but the image is " + image_dims);
  }
  out.set_slice(0, *map);
  return out;
}

Prediction ViewerState::empty_prediction(std::uint8_t done) const {
  const auto n = static_cast<std::size_t>(volume->nz);
  Prediction p;
  p.labels = display_volume(*volume, orientation);
  p.infected.assign(n, kNaNf);
  p.cam.assign(n, ImageF{});
  p.done.assign(n, done);
  p.severity.assign(n, std::nullopt);
  return p;
}

// ---- display ----------------------------------------------------------------------------------

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
  if (!prediction || k < 0 || k >= slice_count() || !prediction->done[static_cast<std::size_t>(k)]) return std::nullopt;
  return prediction->labels.slice(k);
}

std::optional<LabelMap> ViewerState::reference_slice(int k) const {
  if (!reference || k < 0 || k >= slice_count()) return std::nullopt;
  return reference->slice(k);
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

// ---- a model run ------------------------------------------------------------------------------

int ViewerState::begin_run(const std::string& backend) {
  const char* refusal = !volume                           ? "Open an image (or the demo) before running the model."
                        : !model_loaded                    ? "The model is not loaded yet."
                        : run.phase == RunPhase::kRunning ? "A model run is already in progress."
                                                           : nullptr;
  if (refusal != nullptr) {
    fail(refusal);
    return 0;
  }
  Prediction p = empty_prediction(/*done=*/0);
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
  if (volume_is_hu) return model_input_from_hu(to_display(volume->slice(k), orientation), model.plans.input);
  return model_input_from_u8(display_slice(k), model.plans.input);
}

bool ViewerState::accept_output(int k, const float* logits, int classes, int size, float cls_logit,
                                const float* evidence, int cam_w, int cam_h) {
  if (run.phase != RunPhase::kRunning || !prediction || k < 0 || k >= slice_count())
    return fail("Model output for slice " + std::to_string(k) + " arrived outside a run.");
  const int want_classes = model.plans.num_classes(), want_size = model.plans.input.size;
  if (classes != want_classes || size != want_size)
    return fail("Model output has " + std::to_string(classes) + " classes at " + std::to_string(size) +
                "² but plans.json says " + std::to_string(want_classes) + " at " + std::to_string(want_size) + "²");
  const int w = display_width(), h = display_height();
  const SlicePrediction p = segmentation_from_logits(logits, classes, size, w, h);
  prediction->labels.set_slice(k, p.labels);
  const auto i = static_cast<std::size_t>(k);
  prediction->infected[i] = std::isnan(cls_logit) ? kNaNf : infected_probability_from_logit(cls_logit);
  if (evidence != nullptr && cam_w > 0 && cam_h > 0) prediction->cam[i] = cam_from_evidence(evidence, cam_w, cam_h, w, h);
  if (!prediction->done[i]) ++run.done;
  prediction->done[i] = 1;
  prediction->severity[i].reset();
  prediction->whole.reset();
  return true;
}

bool ViewerState::set_server_report(const std::string& json_text) {
  if (run.phase != RunPhase::kRunning || !prediction || prediction->backend != "server")
    return fail("A server report arrived outside a server run.");
  // Never trust a network answer's shape: read_report checks every field it reads, throws nothing.
  json report = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  auto numbers = read_report(report, volume_is_hu, slice_count(), model.plans.num_classes());
  if (!numbers) return fail("server " + numbers.error().message);  // "server report: FIELD ..."
  prediction->infected = std::move(numbers->infected_probability);
  prediction->whole = std::move(numbers->severity);
  prediction->server_report = std::move(report);
  return true;
}

void ViewerState::finish_run(double ms_per_slice, double session_ms, int threads) {
  if (!prediction) return;
  // The report's per-slice work (classic lung mask, areas, involvement: ~20-40 ms a slice), once,
  // timed on its own: ms_per_slice is the mask's path (input, network, labels) as for any runtime.
  // A server run brought its report: nothing to compute here.
  const auto t0 = std::chrono::steady_clock::now();
  volume_severity();
  prediction->report_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
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

// ---- severity and report ----------------------------------------------------------------------

LabelMap ViewerState::lung_mask(int k) const {
  if (volume_is_hu) return lung_mask_from_hu(to_display(volume->slice(k), orientation));
  return lung_mask_from_u8(display_slice(k));
}

const SeverityReport& ViewerState::slice_severity(int k) const {
  static const SeverityReport kNone;
  auto labels = predicted_slice(k);
  if (!labels) return kNone;
  auto& cached = prediction->severity[static_cast<std::size_t>(k)];
  if (!cached) {
    labels->spacing_known = volume_is_hu;  // PNG/JPEG carry no geometry: pixels only
    cached = assess_severity(*labels, lung_mask(k), model.plans.num_classes());
  }
  return *cached;
}

const SeverityReport& ViewerState::volume_severity() const {
  static const SeverityReport kNone;
  if (!prediction) return kNone;
  if (!prediction->whole) {
    std::vector<SeverityReport> slices;
    for (int k = 0; k < slice_count(); ++k)
      if (prediction->done[static_cast<std::size_t>(k)]) slices.push_back(slice_severity(k));
    prediction->whole = sum_severity(slices, model.plans.num_classes());
  }
  return *prediction->whole;
}

ReportInput ViewerState::report_input() const {
  ReportInput in;
  in.file_kind = file_kind_name(file_kind);
  in.is_volume = volume_is_hu;
  in.ndim = nifti_ndim;
  in.nx = volume->nx;
  in.ny = volume->ny;
  in.nz = volume->nz;
  in.spacing_mm = volume->spacing;
  in.display_orientation = orientation.describe();
  in.infected_probability = prediction->infected;
  for (int k = 0; k < volume->nz; ++k) in.lesion_px.push_back(lesion_pixels(prediction->labels, k));
  in.severity = volume_severity();
  return in;
}

json ViewerState::report() const {
  if (!volume || !prediction) return json::object();
  json r = prediction->server_report.is_null() ? build_report(report_input(), model.plans) : prediction->server_report;
  r["backend"] = prediction->backend;
  r["ms_per_slice"] = prediction->ms_per_slice;
  r["session_ms"] = prediction->session_ms;
  r["report_ms"] = prediction->report_ms;
  r["threads"] = prediction->threads;
  r["slices"] = volume->nz;
  return r;
}

// Reads only what it writes, never throws: a server's report passed read_report's checks of
// these fields.
std::string ViewerState::report_csv() const {
  const json r = report();
  if (r.empty()) return {};
  auto num = [](const json& j, const char* key) {
    const auto it = j.find(key);
    return it == j.end() || !it->is_number() ? std::string() : it->dump();
  };
  auto text = [](const json& j, const char* key) {
    const auto it = j.find(key);
    return it == j.end() || !it->is_string() ? std::string() : it->get<std::string>();
  };
  std::string csv = "section,name,px,mm2,percent_involved,severity_band\n";
  for (const json& c : r.value("classes", json::array()))
    csv += "class," + text(c, "name") + "," + num(c, "px") + "," + num(c, "mm2") + ",,\n";
  const json lungs = r.value("lungs", json::object());
  for (const char* side : {"right", "left", "total"}) {
    const json l = lungs.value(side, json::object());
    csv += std::string("lung,") + side + "," + num(l, "lesion_px") + ",," + num(l, "percent_involved") + "," +
           num(l, "severity_band") + "\n";
  }
  csv += "summary,infected_probability,,," + num(r, "infected_probability") + ",\n";
  csv += "summary,backend " + text(r, "backend") + ",,,,\n";
  return csv;
}

LabelVolume ViewerState::voxel_labels() const {
  if (!volume || !prediction) return {};
  LabelVolume out(volume->nx, volume->ny, volume->nz);
  out.spacing = volume->spacing;
  out.affine = volume->affine;
  for (int k = 0; k < volume->nz; ++k) out.set_slice(k, from_display(prediction->labels.slice(k), orientation));
  return out;
}

Expected<std::vector<std::uint8_t>> ViewerState::export_bytes(ExportKind kind) const {
  if (!prediction || run.phase == RunPhase::kRunning) return make_error("Run the model first: there is no mask to save.");
  switch (kind) {
    case ExportKind::kMaskNifti: {
      NiftiWriteOptions o;
      o.descrip = "coronanet labels (browser)";
      o.ndim = nifti_ndim;
      return encode_nifti(voxel_labels(), o);
    }
    case ExportKind::kMaskPng: {
      auto m = predicted_slice(slice_index);
      if (!m) return make_error("This slice has no prediction.");
      return encode_png_gray(*m);
    }
    case ExportKind::kReportJson: return text_bytes(report().dump(2) + "\n");
    case ExportKind::kReportCsv: return text_bytes(report_csv());
  }
  return make_error("unknown export");
}

json ViewerState::state_json() const {
  // Before plans.json arrives the model fields are empty, not the plans' defaults.
  const ModelPlans& plans = model.plans;
  json model_j = {{"loaded", model_loaded}, {"name", model_loaded ? plans.name : ""},
                  {"version", model_loaded ? plans.version : ""}, {"input_size", model_loaded ? plans.input.size : 0},
                  {"num_classes", model_loaded ? plans.num_classes() : 0}};
  json j = {{"status", status},
            {"error", status_is_error},
            {"slices", slice_count()},
            {"slice", slice_index},
            {"width", volume ? volume->nx : 0},
            {"height", volume ? volume->ny : 0},
            {"is_volume", volume_is_hu},
            {"has_labels", reference.has_value()},
            {"has_prediction", prediction.has_value() && run.phase != RunPhase::kRunning},
            {"model", model_j},
            {"run", {{"phase", run_phase_name(run.phase)}, {"done", run.done}, {"total", run.total},
                     {"backend", run.backend}, {"message", run.message}}}};
  return j;
}

}  // namespace corona::viewer
