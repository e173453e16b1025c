// wasm/viewer_main.cpp: the browser viewer's main loop (Dear ImGui on GLFW + WebGL2) and its bridge
// to the page. JS hands over file bytes and the model's outputs; C++ decodes, preprocesses,
// post-processes, draws and reports with the shared core. C++ asks JS (EM_JS) to open the file
// picker, fetch the demo, run the model (ONNX Runtime Web in a worker, or the server) and save files.
#include <GLES3/gl3.h>
#include <GLFW/glfw3.h>
#include <emscripten.h>
#include <emscripten/html5.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <map>
#include <string>

#include "imgui.h"
#include "imgui_impl_glfw.h"
#include "imgui_impl_opengl3.h"
#include "viewer_state.h"

using corona::viewer::ExportKind;
using corona::viewer::FileRole;
using corona::viewer::RunPhase;
using corona::viewer::ViewerState;

namespace {

ViewerState g_state;
GLFWwindow* g_window = nullptr;
GLuint g_texture = 0;
bool g_texture_dirty = true;
int g_tex_w = 0, g_tex_h = 0;
std::string g_json_out;                    // last string handed to JS
std::vector<std::uint8_t> g_bytes_out;     // last export handed to JS
corona::ImageF g_model_input;              // last network input handed to JS
std::map<std::string, ImVec4> g_rects;     // widget rectangles (x, y, w, h) for automation

// Frames are drawn only while something happens (input, a call from the page, a run) and for a
// few frames after, so ImGui can settle hover and popups. An idle viewer then costs nothing: with
// a software WebGL (headless Chromium) a frame costs a CPU core's worth of time that the model's
// wasm threads need.
// During a model run, calls from the page (one per slice) redraw at most every kRunFrameMs; user
// input always redraws at once.
constexpr int kSettleFrames = 3;
constexpr double kRunFrameMs = 1000.0;
int g_quiet_frames = 0;
bool g_input_seen = false;
double g_last_draw_ms = 0.0;
void mark_activity() { g_quiet_frames = 0; }
void mark_input() {
  g_quiet_frames = 0;
  g_input_seen = true;
}

// What the page found out about this browser (corona_set_capabilities).
struct Capabilities {
  bool webgpu = false;           // an adapter exists
  bool webgpu_hardware = false;  // ... and it is not a software fallback: "auto" uses it
  bool server = false;
  bool isolated = false;  // cross-origin isolated: wasm threads available
  int threads = 1;
} g_caps;

// Backend choice in the UI: index into kBackends.
const char* const kBackendLabels[] = {"Auto (GPU if any, else CPU)", "WebGPU", "wasm (CPU)", "Server"};
const char* const kBackends[] = {"auto", "webgpu", "wasm", "server"};
int g_backend = 0;
bool g_offer_server = false;
bool g_show_card = false;           // the model card window        // the "send it to the server?" dialog is open
float g_zoom = 1.0f;
ImVec2 g_pan{0.0f, 0.0f};

// A job is "heavy" when it would take longer than this on the chosen in-browser backend.
// (?heavy=SECONDS on the page's URL changes it, e.g. for tests.)
double g_heavy_job_seconds = 20.0;
// Per-slice estimates before anything was measured (DESIGN §4: wasm EP, 2 threads, 256²).
std::map<std::string, double> g_ms_per_slice = {{"wasm", 250.0}, {"webgpu", 250.0}, {"server", 150.0}};

constexpr const char* kDisclaimer =
    "Research tool, not a diagnostic device: do not use it for clinical decisions.";

void record(const char* name) {
  const ImVec2 a = ImGui::GetItemRectMin(), b = ImGui::GetItemRectMax();
  g_rects[name] = ImVec4(a.x, a.y, b.x - a.x, b.y - a.y);
}

void upload_texture() {
  if (!g_state.volume) return;
  const corona::RgbaImage rgba = g_state.render();
  if (g_texture == 0) glGenTextures(1, &g_texture);
  glBindTexture(GL_TEXTURE_2D, g_texture);
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_LINEAR);
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_NEAREST);  // see the real pixels
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_S, GL_CLAMP_TO_EDGE);
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_T, GL_CLAMP_TO_EDGE);
  glPixelStorei(GL_UNPACK_ALIGNMENT, 1);
  glTexImage2D(GL_TEXTURE_2D, 0, GL_RGBA, rgba.width, rgba.height, 0, GL_RGBA, GL_UNSIGNED_BYTE,
               rgba.rgba.data());
  g_tex_w = rgba.width;
  g_tex_h = rgba.height;
  g_texture_dirty = false;
}

std::string resolved_backend() {
  const std::string b = kBackends[g_backend];
  if (b == "auto") return g_caps.webgpu_hardware ? "webgpu" : "wasm";
  return b;
}

}  // namespace

// ---- C++ -> JS (web/coronanet-page.js defines window.coronanet) --------------------------------
EM_JS(void, corona_js_open_picker, (), { window.coronanet && window.coronanet.openPicker(); });
EM_JS(void, corona_js_load_demo, (const char* which), {
  window.coronanet && window.coronanet.loadDemo(UTF8ToString(which)).catch((e) => console.error(e));
});
EM_JS(void, corona_js_run, (const char* backend), {
  window.coronanet && window.coronanet.run({ backend: UTF8ToString(backend) }).catch((e) => console.warn(String(e)));
});
EM_JS(void, corona_js_cancel, (), { window.coronanet && window.coronanet.cancel(); });
EM_JS(void, corona_js_save, (int kind), { window.coronanet && window.coronanet.save(kind); });

// ---- JS -> C++ ------------------------------------------------------------------------------
extern "C" {

// Bytes of a file (gzip already undone). role: 0 image, 1 reference labels, 2 predicted mask.
EMSCRIPTEN_KEEPALIVE int corona_open_file(int role, const char* name, const std::uint8_t* data, int size) {
  mark_activity();
  const bool ok = g_state.open(static_cast<FileRole>(role), name ? name : "file", data,
                               size > 0 ? static_cast<std::size_t>(size) : 0);
  if (ok && role == 0) {
    g_zoom = 1.0f;
    g_pan = ImVec2(0, 0);
  }
  g_texture_dirty = true;
  return ok ? 1 : 0;
}

// A refusal found by the page before any bytes reached C++ (e.g. larger than wasm memory allows).
EMSCRIPTEN_KEEPALIVE void corona_report_error(const char* message) {
  mark_activity();
  g_state.status = message ? message : "error";
  g_state.status_is_error = true;
}

EMSCRIPTEN_KEEPALIVE int corona_set_model(const char* plans, const char* metrics, const char* log) {
  mark_activity();
  return g_state.set_model(plans ? plans : "", metrics ? metrics : "", log ? log : "") ? 1 : 0;
}

EMSCRIPTEN_KEEPALIVE void corona_set_capabilities(int webgpu, int webgpu_hardware, int server, int isolated,
                                                  int threads) {
  mark_activity();
  g_caps = Capabilities{webgpu != 0, webgpu_hardware != 0, server != 0, isolated != 0, std::max(1, threads)};
}

EMSCRIPTEN_KEEPALIVE void corona_set_heavy_job_seconds(double seconds) {
  mark_activity();
  if (seconds >= 0) g_heavy_job_seconds = seconds;
}

// The viewer's state for the page and for automation (window.coronanet.state()).
EMSCRIPTEN_KEEPALIVE const char* corona_state_json() {
  nlohmann::json j = g_state.state_json();
  nlohmann::json rects = nlohmann::json::object();
  for (const auto& [name, r] : g_rects) rects[name] = {r.x, r.y, r.z, r.w};
  j["widgets"] = rects;
  j["backend_choice"] = kBackends[g_backend];
  j["offer_server"] = g_offer_server;
  j["overlay"] = g_state.show_cam ? "cam" : g_state.show_reference ? "reference" : "prediction";
  j["window"] = {{"center", g_state.window.center}, {"width", g_state.window.width}};
  j["zoom"] = g_zoom;
  g_json_out = j.dump();
  return g_json_out.c_str();
}

EMSCRIPTEN_KEEPALIVE int corona_begin_run(const char* backend) {
  mark_activity();
  const int n = g_state.begin_run(backend ? backend : "wasm");
  g_texture_dirty = true;
  return n;
}

// Slice k's network input (input_size² floats) in wasm memory, valid until the next call.
EMSCRIPTEN_KEEPALIVE const float* corona_model_input(int k) {
  mark_activity();
  if (!g_state.volume || k < 0 || k >= g_state.slice_count() || !g_state.model_loaded) return nullptr;
  g_model_input = g_state.model_input(k);
  return g_model_input.pixels.data();
}

EMSCRIPTEN_KEEPALIVE int corona_accept_output(int k, const float* logits, int classes, int size, float cls_logit,
                                             const float* evidence, int cam_w, int cam_h) {
  mark_activity();
  const bool ok = g_state.accept_output(k, logits, classes, size, cls_logit, evidence, cam_w, cam_h);
  if (k == g_state.slice_index) g_texture_dirty = true;
  return ok ? 1 : 0;
}

// Ends a run; returns the report as JSON (valid until the next call).
EMSCRIPTEN_KEEPALIVE const char* corona_finish_run(double ms_per_slice, double session_ms, int threads) {
  mark_activity();
  g_state.finish_run(ms_per_slice, session_ms, threads);
  if (g_state.prediction) g_ms_per_slice[g_state.prediction->backend] = ms_per_slice;
  g_texture_dirty = true;
  g_json_out = g_state.report().dump();
  return g_json_out.c_str();
}

EMSCRIPTEN_KEEPALIVE void corona_fail_run(int cancelled, const char* message) {
  mark_activity();
  g_state.fail_run(cancelled ? RunPhase::kCancelled : RunPhase::kFailed, message ? message : "");
  g_texture_dirty = true;
}

// The server's per-slice infected probabilities (its mask came in through corona_open_file role 2).
EMSCRIPTEN_KEEPALIVE void corona_set_slice_probabilities(const float* p, int n) {
  mark_activity();
  if (!g_state.prediction) return;
  for (int k = 0; k < n && k < static_cast<int>(g_state.prediction->infected.size()); ++k)
    g_state.prediction->infected[static_cast<std::size_t>(k)] = p[k];
}

// Progress of a run the page drives without per-slice outputs (the server).
EMSCRIPTEN_KEEPALIVE void corona_set_run_progress(int done, int total) {
  mark_activity();
  if (g_state.run.phase != RunPhase::kRunning) return;
  g_state.run.done = done;
  if (total > 0) g_state.run.total = total;
}

EMSCRIPTEN_KEEPALIVE const char* corona_report_json() {
  g_json_out = g_state.report().dump();
  return g_json_out.c_str();
}

// Export bytes (ExportKind); *size = -1 and the status line says why on failure.
EMSCRIPTEN_KEEPALIVE const std::uint8_t* corona_export(int kind, int* size) {
  mark_activity();
  auto bytes = g_state.export_bytes(static_cast<ExportKind>(kind));
  if (!bytes) {
    g_state.status = bytes.error().message;
    g_state.status_is_error = true;
    *size = -1;
    return nullptr;
  }
  g_bytes_out = std::move(bytes).value();
  *size = static_cast<int>(g_bytes_out.size());
  return g_bytes_out.data();
}

// The predicted label volume in voxel (NIfTI) order; dims[0..2] = nx, ny, nz. nullptr: none.
EMSCRIPTEN_KEEPALIVE const std::uint8_t* corona_mask(int* dims) {
  if (!g_state.prediction || g_state.run.phase == RunPhase::kRunning) return nullptr;
  const auto& l = g_state.prediction->labels;
  dims[0] = l.nx;
  dims[1] = l.ny;
  dims[2] = l.nz;
  return l.voxels.data();
}

EMSCRIPTEN_KEEPALIVE void corona_set_slice(int k) {
  mark_activity();
  if (k >= 0 && k < g_state.slice_count()) {
    g_state.slice_index = k;
    g_texture_dirty = true;
  }
}

}  // extern "C"

// ---- drawing ----------------------------------------------------------------------------------
namespace {

void status_line() {
  if (g_state.status_is_error) {
    ImGui::PushStyleColor(ImGuiCol_Text, ImVec4(1.0f, 0.45f, 0.4f, 1.0f));
    ImGui::TextWrapped("%s", g_state.status.c_str());
    ImGui::PopStyleColor();
  } else {
    ImGui::TextWrapped("%s", g_state.status.c_str());
  }
  record("status");
}

void open_section() {
  if (ImGui::Button("Open file...")) corona_js_open_picker();
  record("open_file");
  ImGui::SameLine();
  if (ImGui::Button("Demo volume")) corona_js_load_demo("volume");
  record("load_demo");
  ImGui::SameLine();
  if (ImGui::Button("Demo slice")) corona_js_load_demo("slice32");
  record("load_demo_slice");
  ImGui::PushStyleColor(ImGuiCol_Text, ImGui::GetStyleColorVec4(ImGuiCol_TextDisabled));
  ImGui::TextWrapped("or drop a NIfTI (.nii/.nii.gz), PNG or JPEG on the page");
  ImGui::PopStyleColor();
}

void view_section() {
  ImGui::Text("%s: %d x %d x %d", g_state.image_name.c_str(), g_state.volume->nx, g_state.volume->ny,
              g_state.volume->nz);
  if (g_state.volume_is_hu) ImGui::TextDisabled("display: %s", g_state.orientation.describe().c_str());
  if (g_state.slice_count() > 1) {
    if (ImGui::SliderInt("Slice", &g_state.slice_index, 0, g_state.slice_count() - 1)) g_texture_dirty = true;
    record("slice_slider");
  }
  if (g_state.volume_is_hu) {
    if (ImGui::Button("Lung")) { g_state.window = corona::kLungWindow; g_texture_dirty = true; }
    record("preset_lung");
    ImGui::SameLine();
    if (ImGui::Button("Mediastinum")) { g_state.window = corona::kMediastinumWindow; g_texture_dirty = true; }
    record("preset_mediastinum");
    g_texture_dirty |= ImGui::DragFloat("Level (HU)", &g_state.window.center, 5.0f, -1200.0f, 1200.0f, "%.0f");
    g_texture_dirty |= ImGui::DragFloat("Width (HU)", &g_state.window.width, 5.0f, 1.0f, 4000.0f, "%.0f");
  } else {
    ImGui::TextDisabled("8-bit lung-window slice: window presets need HU (NIfTI)");
  }
  ImGui::SliderFloat("Zoom", &g_zoom, 0.25f, 8.0f, "%.2fx", ImGuiSliderFlags_Logarithmic);
  ImGui::SameLine();
  if (ImGui::SmallButton("Fit")) { g_zoom = 1.0f; g_pan = ImVec2(0, 0); }
  ImGui::TextDisabled("wheel or up/down: slices, ctrl+wheel: zoom, drag: pan");
}

void overlay_section() {
  int mode = g_state.show_cam ? 2 : g_state.show_reference ? 1 : 0;
  bool changed = ImGui::RadioButton("Prediction", &mode, 0);
  record("overlay_prediction");
  if (g_state.reference) {
    ImGui::SameLine();
    changed |= ImGui::RadioButton("Reference", &mode, 1);
    record("overlay_reference");
  }
  if (g_state.model.classification_head) {
    ImGui::SameLine();
    changed |= ImGui::RadioButton("Activation map", &mode, 2);
    record("overlay_cam");
  }
  if (changed) {
    g_state.show_prediction = mode == 0;
    g_state.show_reference = mode == 1;
    g_state.show_cam = mode == 2;
    g_texture_dirty = true;
  }
  g_texture_dirty |= ImGui::SliderFloat("Opacity", &g_state.opacity, 0.0f, 1.0f);
  for (std::size_t c = 1; c < g_state.styles.size(); ++c) {
    ImGui::PushID(static_cast<int>(c));
    corona::Rgba& col = g_state.styles[c].colour;
    float rgb[3] = {col.r / 255.0f, col.g / 255.0f, col.b / 255.0f};
    if (ImGui::ColorEdit3("##colour", rgb, ImGuiColorEditFlags_NoInputs)) {
      col.r = static_cast<std::uint8_t>(std::lround(rgb[0] * 255));
      col.g = static_cast<std::uint8_t>(std::lround(rgb[1] * 255));
      col.b = static_cast<std::uint8_t>(std::lround(rgb[2] * 255));
      g_texture_dirty = true;
    }
    ImGui::SameLine();
    const std::string label = c < g_state.model.labels.size() ? g_state.model.labels[c].display_name
                                                              : "class " + std::to_string(c);
    g_texture_dirty |= ImGui::Checkbox(label.c_str(), &g_state.styles[c].visible);
    record(("toggle_class_" + std::to_string(c)).c_str());
    ImGui::PopID();
  }
}

void start_run() {
  const std::string backend = resolved_backend();
  const double estimate_s = g_state.slice_count() * g_ms_per_slice[backend] / 1000.0;
  if (backend != "server" && estimate_s > g_heavy_job_seconds && g_caps.server) {
    g_offer_server = true;  // ask first: the data would leave this browser
    return;
  }
  corona_js_run(backend.c_str());
}

void server_offer_popup() {
  if (g_offer_server) ImGui::OpenPopup("Heavy job");
  if (ImGui::BeginPopupModal("Heavy job", nullptr, ImGuiWindowFlags_AlwaysAutoResize)) {
    const std::string backend = resolved_backend();
    ImGui::Text("%d slices would take about %.0f s in this browser (%s).", g_state.slice_count(),
                g_state.slice_count() * g_ms_per_slice[backend] / 1000.0, backend.c_str());
    ImGui::Text("The Corona-Net server is reachable. Send the volume there?");
    ImGui::TextDisabled("The image leaves this browser for the server you opened this page from.");
    if (ImGui::Button("Send to server")) {
      g_offer_server = false;
      corona_js_run("server");
      ImGui::CloseCurrentPopup();
    }
    record("offer_send");
    ImGui::SameLine();
    if (ImGui::Button("Run here")) {
      g_offer_server = false;
      corona_js_run(backend.c_str());
      ImGui::CloseCurrentPopup();
    }
    record("offer_local");
    ImGui::EndPopup();
  }
}

void run_section() {
  if (!g_state.model_loaded) {
    ImGui::TextDisabled("Loading the model...");
    return;
  }
  ImGui::Text("Model %s %s (%d², %d classes)", g_state.model.name.c_str(), g_state.model.version.c_str(),
              g_state.model.input_size, g_state.model.num_classes);
  ImGui::SameLine();
  if (ImGui::SmallButton("Card")) g_show_card = !g_show_card;
  record("model_card");
  ImGui::SetNextItemWidth(200);
  ImGui::Combo("Backend", &g_backend, kBackendLabels, IM_ARRAYSIZE(kBackendLabels));
  record("backend_combo");
  ImGui::TextDisabled("WebGPU %s, server %s, wasm threads %d",
                      g_caps.webgpu_hardware ? "yes" : g_caps.webgpu ? "software only" : "no",
                      g_caps.server ? "reachable" : "not reachable", g_caps.isolated ? g_caps.threads : 1);
  const bool running = g_state.run.phase == RunPhase::kRunning;
  ImGui::BeginDisabled(running || !g_state.volume);
  if (ImGui::Button("Run model")) start_run();
  ImGui::EndDisabled();
  record("run");
  if (running) {
    ImGui::SameLine();
    if (ImGui::Button("Cancel")) corona_js_cancel();
    record("cancel");
    char label[64];
    std::snprintf(label, sizeof label, "%d / %d slices (%s)", g_state.run.done, g_state.run.total,
                  g_state.run.backend.c_str());
    ImGui::ProgressBar(g_state.run.total > 0 ? static_cast<float>(g_state.run.done) / g_state.run.total : 0.0f,
                       ImVec2(-1, 0), label);
    record("progress");
  } else if (g_state.prediction && g_state.run.phase == RunPhase::kDone) {
    const auto& p = *g_state.prediction;
    const bool in_browser = p.backend != "server";
    ImGui::Text("Ran on %s: %.0f ms per slice%s", p.backend.c_str(), p.ms_per_slice,
                in_browser && p.session_ms <= 0 ? " (session reused)" : "");
    if (p.session_ms > 0) ImGui::TextDisabled("model load %.0f ms, %d thread(s)", p.session_ms, p.threads);
    ImGui::TextDisabled("report (lung masks, areas) %.0f ms", p.report_ms);
  }
  server_offer_popup();
}

void summary_table(const corona::viewer::Summary& s, bool mm2) {
  if (s.classes.empty()) return;
  if (ImGui::BeginTable("areas", 3, ImGuiTableFlags_Borders | ImGuiTableFlags_SizingStretchProp)) {
    ImGui::TableSetupColumn("Class");
    ImGui::TableSetupColumn("Pixels");
    ImGui::TableSetupColumn(mm2 ? "mm²" : "");
    ImGui::TableHeadersRow();
    for (std::size_t c = 1; c < s.classes.size(); ++c) {
      ImGui::TableNextRow();
      ImGui::TableNextColumn();
      ImGui::TextUnformatted(c < g_state.model.labels.size() ? g_state.model.labels[c].display_name.c_str() : "?");
      ImGui::TableNextColumn();
      ImGui::Text("%llu", static_cast<unsigned long long>(s.classes[c].px));
      ImGui::TableNextColumn();
      if (mm2 && s.classes[c].mm2_known) ImGui::Text("%.0f", s.classes[c].mm2);
    }
    ImGui::EndTable();
  }
  ImGui::Text("Right lung %.1f %%, left lung %.1f %%, both %.1f %%", s.right.percent, s.left.percent,
              s.total.percent);
  ImGui::Text("Severity band %d of 4", s.total.severity_band);
}

void results_section() {
  if (!g_state.prediction || g_state.run.phase == RunPhase::kRunning) return;
  const auto& p = *g_state.prediction;
  const float prob = p.infected[static_cast<std::size_t>(g_state.slice_index)];
  if (std::isfinite(prob)) {
    ImGui::Text("P(infected), this slice: %.2f", prob);
  } else {
    ImGui::TextDisabled("P(infected): not given by this backend");
  }
  ImGui::TextUnformatted("This slice:");
  summary_table(g_state.summarise_slice(g_state.slice_index), g_state.volume_is_hu);
  if (g_state.slice_count() > 1 && ImGui::TreeNode("Whole volume")) {
    summary_table(g_state.summarise_all(), g_state.volume_is_hu);
    ImGui::TreePop();
  }
  ImGui::TextDisabled("Lung share uses a classic (model-free) lung mask.");
  struct SaveButton { const char* label; ExportKind kind; const char* widget; };
  static const SaveButton kSaves[] = {{"Mask NIfTI", ExportKind::kMaskNifti, "save_nifti"},
                                      {"Mask PNG", ExportKind::kMaskPng, "save_png"},
                                      {"Report JSON", ExportKind::kReportJson, "save_json"},
                                      {"CSV", ExportKind::kReportCsv, "save_csv"}};
  ImGui::TextUnformatted("Save:");
  for (const SaveButton& b : kSaves) {
    ImGui::SameLine();
    if (ImGui::SmallButton(b.label)) corona_js_save(static_cast<int>(b.kind));
    record(b.widget);
  }
}

void model_card_section() {
  const auto& m = g_state.model;
  if (m.card.empty()) {
    ImGui::TextDisabled("No metrics.json in this model folder.");
  } else if (ImGui::BeginTable("card", 4, ImGuiTableFlags_Borders | ImGuiTableFlags_SizingStretchProp)) {
    ImGui::TableSetupColumn("Metric");
    ImGui::TableSetupColumn("val");
    ImGui::TableSetupColumn("test");
    ImGui::TableSetupColumn("target");
    ImGui::TableHeadersRow();
    for (const auto& row : m.card) {
      ImGui::TableNextRow();
      ImGui::TableNextColumn();
      ImGui::TextUnformatted(row.name.c_str());
      for (double v : {row.val, row.test, row.target}) {
        ImGui::TableNextColumn();
        if (std::isfinite(v)) ImGui::Text("%.3f", v); else ImGui::TextDisabled("-");
      }
    }
    ImGui::EndTable();
  }
  ImGui::PushStyleColor(ImGuiCol_Text, ImGui::GetStyleColorVec4(ImGuiCol_TextDisabled));
  ImGui::TextWrapped("val: 5 slices; test: 48 MedSeg slices and 203 UCSD images (reported once). Targets are the "
                     "project's goals: this model misses them (see models/corona-net/card.md).");
  ImGui::PopStyleColor();
  for (const auto& c : m.curves) {
    if (c.values.empty()) continue;
    ImGui::PlotLines(c.name.c_str(), c.values.data(), static_cast<int>(c.values.size()), 0, nullptr, FLT_MAX,
                     FLT_MAX, ImVec2(300, 56));
  }
  if (m.best_epoch > 0) ImGui::TextDisabled("weights: epoch %d (best val mean foreground Dice)", m.best_epoch);
}

void draw_controls() {
  const ImGuiViewport* vp = ImGui::GetMainViewport();
  ImGui::SetNextWindowPos(ImVec2(0, 0), ImGuiCond_Always);
  ImGui::SetNextWindowSize(ImVec2(380, vp->Size.y), ImGuiCond_Always);
  ImGui::Begin("Corona-Net", nullptr, ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoResize | ImGuiWindowFlags_NoCollapse);
  ImGui::PushStyleColor(ImGuiCol_Text, ImVec4(1.0f, 0.8f, 0.3f, 1.0f));
  ImGui::TextWrapped("%s", kDisclaimer);
  ImGui::PopStyleColor();
  ImGui::Separator();
  open_section();
  status_line();
  if (g_state.volume) {
    if (ImGui::CollapsingHeader("View", ImGuiTreeNodeFlags_DefaultOpen)) view_section();
    if (ImGui::CollapsingHeader("Overlay", ImGuiTreeNodeFlags_DefaultOpen)) overlay_section();
  }
  if (ImGui::CollapsingHeader("Model run", ImGuiTreeNodeFlags_DefaultOpen)) run_section();
  if (g_state.prediction && ImGui::CollapsingHeader("Results", ImGuiTreeNodeFlags_DefaultOpen)) results_section();
  ImGui::End();
}

// The model's card (metrics, curves) in its own window over the image, opened from "Model run".
void draw_model_card() {
  if (!g_show_card || !g_state.model_loaded) return;
  const ImGuiViewport* vp = ImGui::GetMainViewport();
  ImGui::SetNextWindowPos(ImVec2(vp->Size.x - 476, 36), ImGuiCond_Appearing);
  ImGui::SetNextWindowSize(ImVec2(460, 470), ImGuiCond_Appearing);
  const std::string title = "Model card: " + g_state.model.name + " " + g_state.model.version;
  if (ImGui::Begin(title.c_str(), &g_show_card)) model_card_section();
  ImGui::End();
}

// The slice, fitted to the window, with zoom (ctrl+wheel) and pan (drag); the wheel scrolls slices.
void draw_image() {
  const ImGuiViewport* vp = ImGui::GetMainViewport();
  ImGui::SetNextWindowPos(ImVec2(384, 0), ImGuiCond_Always);
  ImGui::SetNextWindowSize(ImVec2(vp->Size.x - 384, vp->Size.y), ImGuiCond_Always);
  ImGui::Begin("Slice", nullptr, ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoResize | ImGuiWindowFlags_NoCollapse |
                                     ImGuiWindowFlags_NoScrollbar | ImGuiWindowFlags_NoScrollWithMouse);
  if (!g_state.volume) {
    ImGui::TextDisabled("No image open.");
    ImGui::End();
    return;
  }
  if (g_texture_dirty) upload_texture();
  const ImVec2 origin = ImGui::GetCursorScreenPos();
  const ImVec2 avail = ImGui::GetContentRegionAvail();
  ImGui::InvisibleButton("##image", avail);
  record("image");
  const ImGuiIO& io = ImGui::GetIO();
  if (ImGui::IsItemHovered() && io.MouseWheel != 0.0f) {
    if (io.KeyCtrl) {
      g_zoom = std::clamp(g_zoom * std::pow(1.15f, io.MouseWheel), 0.25f, 8.0f);
    } else if (g_state.slice_count() > 1) {
      // Wheel down (negative) = next slice, as in radiology viewers.
      g_state.slice_index = std::clamp(g_state.slice_index - static_cast<int>(io.MouseWheel), 0, g_state.slice_count() - 1);
      g_texture_dirty = true;
    }
  }
  // Up/Down (or Page Up/Down) with the pointer over the image: previous/next slice.
  if (ImGui::IsItemHovered() && g_state.slice_count() > 1) {
    int step = 0;
    if (ImGui::IsKeyPressed(ImGui::GetKeyIndex(ImGuiKey_UpArrow)) ||
        ImGui::IsKeyPressed(ImGui::GetKeyIndex(ImGuiKey_PageUp)))
      step = -1;
    if (ImGui::IsKeyPressed(ImGui::GetKeyIndex(ImGuiKey_DownArrow)) ||
        ImGui::IsKeyPressed(ImGui::GetKeyIndex(ImGuiKey_PageDown)))
      step = 1;
    if (step != 0) {
      g_state.slice_index = std::clamp(g_state.slice_index + step, 0, g_state.slice_count() - 1);
      g_texture_dirty = true;
    }
  }
  if (ImGui::IsItemActive() && ImGui::IsMouseDragging(ImGuiMouseButton_Left)) {
    g_pan.x += io.MouseDelta.x;
    g_pan.y += io.MouseDelta.y;
  }
  const float scale = std::min(avail.x / g_tex_w, avail.y / g_tex_h) * g_zoom;
  const ImVec2 size(g_tex_w * scale, g_tex_h * scale);
  const ImVec2 p0(origin.x + (avail.x - size.x) / 2 + g_pan.x, origin.y + (avail.y - size.y) / 2 + g_pan.y);
  ImDrawList* dl = ImGui::GetWindowDrawList();
  dl->PushClipRect(origin, ImVec2(origin.x + avail.x, origin.y + avail.y), true);
  dl->AddImage(reinterpret_cast<ImTextureID>(static_cast<std::intptr_t>(g_texture)), p0,
               ImVec2(p0.x + size.x, p0.y + size.y));
  dl->PopClipRect();
  char caption[64];
  std::snprintf(caption, sizeof caption, "slice %d / %d", g_state.slice_index + 1, g_state.slice_count());
  dl->AddText(ImVec2(origin.x + 6, origin.y + 4), IM_COL32(255, 255, 255, 200), caption);
  // Radiological convention: the patient's right is on the image's left.
  const float mid = p0.y + size.y / 2;
  auto side_label = [&](float x, const char* text) {
    dl->AddRectFilled(ImVec2(x - 3, mid - 2), ImVec2(x + 11, mid + 16), IM_COL32(0, 0, 0, 170), 3.0f);
    dl->AddText(ImVec2(x, mid), IM_COL32(255, 220, 120, 255), text);
  };
  side_label(std::max(origin.x + 6, p0.x + 6), "R");
  side_label(std::min(origin.x + avail.x - 16, p0.x + size.x - 16), "L");
  ImGui::End();
}

void frame() {
  double css_w = 0, css_h = 0;
  emscripten_get_element_css_size("#canvas", &css_w, &css_h);
  int w = 0, h = 0;
  glfwGetWindowSize(g_window, &w, &h);
  if (static_cast<int>(css_w) != w || static_cast<int>(css_h) != h) {
    glfwSetWindowSize(g_window, static_cast<int>(css_w), static_cast<int>(css_h));
    mark_activity();
  }
  glfwPollEvents();
  if (g_texture_dirty) mark_activity();
  const double now = emscripten_get_now();
  const bool running = g_state.run.phase == RunPhase::kRunning;
  if (!g_input_seen) {
    if (running && now - g_last_draw_ms < kRunFrameMs) return;  // leave the cores to the model
    if (g_quiet_frames++ > kSettleFrames) return;                // nothing changed: keep the last frame
  }
  g_input_seen = false;
  g_last_draw_ms = now;
  ImGui_ImplOpenGL3_NewFrame();
  ImGui_ImplGlfw_NewFrame();
  ImGui::NewFrame();
  g_rects.clear();  // only what this frame draws is clickable
  draw_controls();
  draw_image();
  draw_model_card();
  ImGui::Render();
  int fb_w = 0, fb_h = 0;
  glfwGetFramebufferSize(g_window, &fb_w, &fb_h);
  glViewport(0, 0, fb_w, fb_h);
  glClearColor(0.08f, 0.09f, 0.11f, 1.0f);
  glClear(GL_COLOR_BUFFER_BIT);
  ImGui_ImplOpenGL3_RenderDrawData(ImGui::GetDrawData());
}

}  // namespace

int main() {
  if (!glfwInit()) {
    std::fprintf(stderr, "glfwInit failed\n");
    return 1;
  }
  glfwWindowHint(GLFW_CLIENT_API, GLFW_OPENGL_ES_API);
  glfwWindowHint(GLFW_CONTEXT_VERSION_MAJOR, 3);
  glfwWindowHint(GLFW_CONTEXT_VERSION_MINOR, 0);
  g_window = glfwCreateWindow(1280, 800, "Corona-Net", nullptr, nullptr);
  if (!g_window) {
    std::fprintf(stderr, "WebGL2 is not available in this browser\n");
    return 1;
  }
  glfwMakeContextCurrent(g_window);
  IMGUI_CHECKVERSION();
  ImGui::CreateContext();
  ImGui::GetIO().IniFilename = nullptr;  // no file system assumptions in the browser
  ImGui::StyleColorsDark();
  // Installed before ImGui's own callbacks, which chain to them: any input wakes the drawing.
  glfwSetCursorPosCallback(g_window, [](GLFWwindow*, double, double) { mark_input(); });
  glfwSetMouseButtonCallback(g_window, [](GLFWwindow*, int, int, int) { mark_input(); });
  glfwSetScrollCallback(g_window, [](GLFWwindow*, double, double) { mark_input(); });
  glfwSetKeyCallback(g_window, [](GLFWwindow*, int, int, int, int) { mark_input(); });
  glfwSetCharCallback(g_window, [](GLFWwindow*, unsigned int) { mark_input(); });
  ImGui_ImplGlfw_InitForOpenGL(g_window, true);
  // Emscripten 3.1.6's GLFW hands the browser's raw wheel deltas to the scroll callback (pixels,
  // positive = down) where native GLFW gives steps, positive = up: ImGui then scrolled panels
  // backwards by 100 lines a notch. Steps of the native sign instead; ImGui's handler chains to
  // the activity callback above.
  glfwSetScrollCallback(g_window, [](GLFWwindow* w, double dx, double dy) {
    auto steps = [](double d) { return d == 0.0 ? 0.0 : (d > 0.0 ? -1.0 : 1.0) * std::max(1.0, std::abs(d) / 100.0); };
    ImGui_ImplGlfw_ScrollCallback(w, steps(dx), steps(dy));
  });
  ImGui_ImplOpenGL3_Init("#version 300 es");
  emscripten_set_main_loop(frame, 0, false);
  return 0;
}
