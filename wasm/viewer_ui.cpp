#include "viewer_ui.h"

#include <GLES3/gl3.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>

#include "imgui.h"
#include "viewer_bridge.h"

namespace corona::viewer {
namespace {

constexpr const char* kDisclaimer =
    "Research tool, not a diagnostic device: do not use it for clinical decisions.";

// The slice's texture; rendered again (ViewerState::render) only when App::texture_dirty.
struct SliceTexture {
  GLuint id = 0;
  int width = 0, height = 0;
} g_texture;

void record(App& a, const std::string& name) {
  const ImVec2 p = ImGui::GetItemRectMin(), q = ImGui::GetItemRectMax();
  a.widgets[name] = {p.x, p.y, q.x - p.x, q.y - p.y};
}

void upload_texture(App& a) {
  if (!a.state.volume) return;
  const RgbaImage rgba = a.state.render();
  if (g_texture.id == 0) glGenTextures(1, &g_texture.id);
  glBindTexture(GL_TEXTURE_2D, g_texture.id);
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_LINEAR);
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_NEAREST);  // see the real pixels
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_S, GL_CLAMP_TO_EDGE);
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_T, GL_CLAMP_TO_EDGE);
  glPixelStorei(GL_UNPACK_ALIGNMENT, 1);
  glTexImage2D(GL_TEXTURE_2D, 0, GL_RGBA, rgba.width, rgba.height, 0, GL_RGBA, GL_UNSIGNED_BYTE,
               rgba.rgba.data());
  g_texture.width = rgba.width;
  g_texture.height = rgba.height;
  a.texture_dirty = false;
}

void disabled_text_wrapped(const char* text) {
  ImGui::PushStyleColor(ImGuiCol_Text, ImGui::GetStyleColorVec4(ImGuiCol_TextDisabled));
  ImGui::TextWrapped("%s", text);
  ImGui::PopStyleColor();
}

void status_line(App& a) {
  if (a.state.status_is_error) {
    ImGui::PushStyleColor(ImGuiCol_Text, ImVec4(1.0f, 0.45f, 0.4f, 1.0f));
    ImGui::TextWrapped("%s", a.state.status.c_str());
    ImGui::PopStyleColor();
  } else {
    ImGui::TextWrapped("%s", a.state.status.c_str());
  }
  record(a, "status");
}

void open_section(App& a) {
  if (ImGui::Button("Open file...")) page::open_picker();
  record(a, "open_file");
  ImGui::SameLine();
  if (ImGui::Button("Demo volume")) page::load_demo("volume");
  record(a, "load_demo");
  ImGui::SameLine();
  if (ImGui::Button("Demo slice")) page::load_demo("slice32");
  record(a, "load_demo_slice");
  disabled_text_wrapped("or drop a NIfTI (.nii/.nii.gz), PNG or JPEG on the page");
}

void window_controls(App& a) {
  ViewerState& s = a.state;
  if (!s.volume_is_hu) {
    ImGui::TextDisabled("8-bit lung-window slice: window presets need HU (NIfTI)");
    return;
  }
  if (ImGui::Button("Lung")) {
    s.window = kLungWindow;
    a.texture_dirty = true;
  }
  record(a, "preset_lung");
  ImGui::SameLine();
  if (ImGui::Button("Mediastinum")) {
    s.window = kMediastinumWindow;
    a.texture_dirty = true;
  }
  record(a, "preset_mediastinum");
  a.texture_dirty |= ImGui::DragFloat("Level (HU)", &s.window.center, 5.0f, -1200.0f, 1200.0f, "%.0f");
  a.texture_dirty |= ImGui::DragFloat("Width (HU)", &s.window.width, 5.0f, 1.0f, 4000.0f, "%.0f");
}

void view_section(App& a) {
  ViewerState& s = a.state;
  ImGui::Text("%s: %d x %d x %d", s.image_name.c_str(), s.volume->nx, s.volume->ny, s.volume->nz);
  if (s.volume_is_hu) ImGui::TextDisabled("display: %s", s.orientation.describe().c_str());
  if (s.slice_count() > 1) {
    if (ImGui::SliderInt("Slice", &s.slice_index, 0, s.slice_count() - 1)) a.texture_dirty = true;
    record(a, "slice_slider");
  }
  window_controls(a);
  ImGui::SliderFloat("Zoom", &a.zoom, 0.25f, 8.0f, "%.2fx", ImGuiSliderFlags_Logarithmic);
  ImGui::SameLine();
  if (ImGui::SmallButton("Fit")) a.reset_view();
  ImGui::TextDisabled("wheel or up/down: slices, ctrl+wheel: zoom, drag: pan");
}

// One colour swatch and visibility box per lesion class, in the plans' colours.
void class_toggles(App& a) {
  ViewerState& s = a.state;
  for (std::size_t c = 1; c < s.styles.size(); ++c) {
    ImGui::PushID(static_cast<int>(c));
    Rgba& col = s.styles[c].colour;
    float rgb[3] = {col.r / 255.0f, col.g / 255.0f, col.b / 255.0f};
    if (ImGui::ColorEdit3("##colour", rgb, ImGuiColorEditFlags_NoInputs)) {
      col.r = static_cast<std::uint8_t>(std::lround(rgb[0] * 255));
      col.g = static_cast<std::uint8_t>(std::lround(rgb[1] * 255));
      col.b = static_cast<std::uint8_t>(std::lround(rgb[2] * 255));
      a.texture_dirty = true;
    }
    ImGui::SameLine();
    const std::string label = s.model.display_name(static_cast<int>(c));
    a.texture_dirty |= ImGui::Checkbox(label.c_str(), &s.styles[c].visible);
    record(a, "toggle_class_" + std::to_string(c));
    ImGui::PopID();
  }
}

void overlay_section(App& a) {
  ViewerState& s = a.state;
  int mode = s.show_cam ? 2 : s.show_reference ? 1 : 0;
  bool changed = ImGui::RadioButton("Prediction", &mode, 0);
  record(a, "overlay_prediction");
  if (s.reference) {
    ImGui::SameLine();
    changed |= ImGui::RadioButton("Reference", &mode, 1);
    record(a, "overlay_reference");
  }
  if (s.model.plans.model.classification_head) {
    ImGui::SameLine();
    changed |= ImGui::RadioButton("Activation map", &mode, 2);
    record(a, "overlay_cam");
  }
  if (changed) {
    s.show_prediction = mode == 0;
    s.show_reference = mode == 1;
    s.show_cam = mode == 2;
    a.texture_dirty = true;
  }
  a.texture_dirty |= ImGui::SliderFloat("Opacity", &s.opacity, 0.0f, 1.0f);
  class_toggles(a);
}

void start_run(App& a) {
  const std::string backend = a.resolved_backend();
  if (backend != "server" && a.estimated_seconds(backend) > a.heavy_job_seconds && a.caps.server) {
    a.offer_server = true;  // ask first: the data would leave this browser
    return;
  }
  page::run(backend);
}

void server_offer_popup(App& a) {
  if (a.offer_server) ImGui::OpenPopup("Heavy job");
  if (!ImGui::BeginPopupModal("Heavy job", nullptr, ImGuiWindowFlags_AlwaysAutoResize)) return;
  const std::string backend = a.resolved_backend();
  ImGui::Text("%d slices would take about %.0f s in this browser (%s).", a.state.slice_count(),
              a.estimated_seconds(backend), backend.c_str());
  ImGui::Text("The Corona-Net server is reachable. Send the volume there?");
  ImGui::TextDisabled("The image leaves this browser for the server you opened this page from.");
  if (ImGui::Button("Send to server")) {
    a.offer_server = false;
    page::run("server");
    ImGui::CloseCurrentPopup();
  }
  record(a, "offer_send");
  ImGui::SameLine();
  if (ImGui::Button("Run here")) {
    a.offer_server = false;
    page::run(backend);
    ImGui::CloseCurrentPopup();
  }
  record(a, "offer_local");
  ImGui::EndPopup();
}

void run_progress(App& a) {
  const RunStatus& r = a.state.run;
  ImGui::SameLine();
  if (ImGui::Button("Cancel")) page::cancel();
  record(a, "cancel");
  char label[64];
  std::snprintf(label, sizeof label, "%d / %d slices (%s)", r.done, r.total, r.backend.c_str());
  ImGui::ProgressBar(r.total > 0 ? static_cast<float>(r.done) / r.total : 0.0f, ImVec2(-1, 0), label);
  record(a, "progress");
}

void run_timings(const Prediction& p) {
  const bool in_browser = p.backend != "server";
  ImGui::Text("Ran on %s: %.0f ms per slice%s", p.backend.c_str(), p.ms_per_slice,
              in_browser && p.session_ms <= 0 ? " (session reused)" : "");
  if (p.session_ms > 0) ImGui::TextDisabled("model load %.0f ms, %d thread(s)", p.session_ms, p.threads);
  if (p.server_report.is_null()) {
    ImGui::TextDisabled("report (lung masks, areas) %.0f ms", p.report_ms);
  } else {
    ImGui::TextDisabled("report: the server's, as it came");
  }
}

void run_section(App& a) {
  ViewerState& s = a.state;
  if (!s.model_loaded) {
    ImGui::TextDisabled("Loading the model...");
    return;
  }
  const ModelPlans& plans = s.model.plans;
  ImGui::Text("Model %s %s (%d², %d classes)", plans.name.c_str(), plans.version.c_str(), plans.input.size,
              plans.num_classes());
  ImGui::SameLine();
  if (ImGui::SmallButton("Card")) a.show_card = !a.show_card;
  record(a, "model_card");
  ImGui::SetNextItemWidth(200);
  auto label_of = [](void*, int i, const char** out) {
    *out = kBackendChoices[i].label;
    return true;
  };
  ImGui::Combo("Backend", &a.backend_choice, label_of, nullptr, kBackendChoiceCount);
  record(a, "backend_combo");
  ImGui::TextDisabled("WebGPU %s, server %s, wasm threads %d",
                      a.caps.webgpu_hardware ? "yes" : a.caps.webgpu ? "software only" : "no",
                      a.caps.server ? "reachable" : "not reachable", a.caps.isolated ? a.caps.threads : 1);
  const bool running = s.run.phase == RunPhase::kRunning;
  ImGui::BeginDisabled(running || !s.volume);
  if (ImGui::Button("Run model")) start_run(a);
  ImGui::EndDisabled();
  record(a, "run");
  if (running) {
    run_progress(a);
  } else if (s.prediction && s.run.phase == RunPhase::kDone) {
    run_timings(*s.prediction);
  }
  server_offer_popup(a);
}

void severity_table(const App& a, const SeverityReport& s, bool mm2) {
  if (s.classes.empty()) return;
  if (ImGui::BeginTable("areas", 3, ImGuiTableFlags_Borders | ImGuiTableFlags_SizingStretchProp)) {
    ImGui::TableSetupColumn("Class");
    ImGui::TableSetupColumn("Pixels");
    ImGui::TableSetupColumn(mm2 ? "mm²" : "");
    ImGui::TableHeadersRow();
    for (std::size_t c = 1; c < s.classes.size(); ++c) {
      ImGui::TableNextRow();
      ImGui::TableNextColumn();
      ImGui::TextUnformatted(a.state.model.display_name(static_cast<int>(c)).c_str());
      ImGui::TableNextColumn();
      ImGui::Text("%llu", static_cast<unsigned long long>(s.classes[c].px));
      ImGui::TableNextColumn();
      if (mm2 && s.classes[c].mm2_known) ImGui::Text("%.0f", s.classes[c].mm2);
    }
    ImGui::EndTable();
  }
  if (!s.total.lung_found) {  // below or above the lungs: no denominator, so nothing to grade
    ImGui::TextUnformatted("No lung found here: no involvement, no severity band.");
    return;
  }
  auto involvement = [](const char* lung, const LungInvolvement& l) {
    char text[64];
    if (l.lung_found) std::snprintf(text, sizeof text, "%s lung %.1f %%", lung, l.percent);
    else std::snprintf(text, sizeof text, "%s lung not found", lung);
    return std::string(text);
  };
  ImGui::Text("%s, %s, both %.1f %%", involvement("Right", s.right).c_str(), involvement("left", s.left).c_str(),
              s.total.percent);
  ImGui::Text("Severity band %d of 4", s.total.severity_band);
}

void save_buttons(App& a) {
  struct SaveButton { const char* label; ExportKind kind; const char* widget; };
  static const SaveButton kSaves[] = {{"Mask NIfTI", ExportKind::kMaskNifti, "save_nifti"},
                                      {"Mask PNG", ExportKind::kMaskPng, "save_png"},
                                      {"Report JSON", ExportKind::kReportJson, "save_json"},
                                      {"CSV", ExportKind::kReportCsv, "save_csv"}};
  ImGui::TextUnformatted("Save:");
  for (const SaveButton& b : kSaves) {
    ImGui::SameLine();
    if (ImGui::SmallButton(b.label)) page::save(b.kind);
    record(a, b.widget);
  }
}

void results_section(App& a) {
  const ViewerState& s = a.state;
  if (!s.prediction || s.run.phase == RunPhase::kRunning) return;
  const float prob = s.prediction->infected[static_cast<std::size_t>(s.slice_index)];
  if (std::isfinite(prob)) {
    ImGui::Text("P(infected), this slice: %.2f", prob);
  } else {
    ImGui::TextDisabled("P(infected): not given by this backend");
  }
  ImGui::TextUnformatted("This slice:");
  severity_table(a, s.slice_severity(s.slice_index), s.volume_is_hu);
  if (s.slice_count() > 1 && ImGui::TreeNode("Whole volume")) {
    severity_table(a, s.volume_severity(), s.volume_is_hu);
    ImGui::TreePop();
  }
  ImGui::TextDisabled("Lung share uses a classic (model-free) lung mask.");
  save_buttons(a);
}

void card_table(const ModelInfo& m) {
  if (m.card.empty()) {
    ImGui::TextDisabled("No metrics.json in this model folder.");
    return;
  }
  if (!ImGui::BeginTable("card", 4, ImGuiTableFlags_Borders | ImGuiTableFlags_SizingStretchProp)) return;
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

void model_card_section(const ModelInfo& m) {
  card_table(m);
  disabled_text_wrapped("val: 5 slices; test: 48 MedSeg slices and 203 UCSD images (reported once). Targets are the "
                        "project's goals: this model misses them (see models/corona-net/card.md).");
  for (const auto& c : m.curves) {
    if (c.values.empty()) continue;
    ImGui::PlotLines(c.name.c_str(), c.values.data(), static_cast<int>(c.values.size()), 0, nullptr, FLT_MAX,
                     FLT_MAX, ImVec2(300, 56));
  }
  if (m.best_epoch > 0) ImGui::TextDisabled("weights: epoch %d (best val mean foreground Dice)", m.best_epoch);
}

void draw_controls(App& a) {
  const ImGuiViewport* vp = ImGui::GetMainViewport();
  ImGui::SetNextWindowPos(ImVec2(0, 0), ImGuiCond_Always);
  ImGui::SetNextWindowSize(ImVec2(380, vp->Size.y), ImGuiCond_Always);
  ImGui::Begin("Corona-Net", nullptr, ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoResize | ImGuiWindowFlags_NoCollapse);
  ImGui::PushStyleColor(ImGuiCol_Text, ImVec4(1.0f, 0.8f, 0.3f, 1.0f));
  ImGui::TextWrapped("%s", kDisclaimer);
  ImGui::PopStyleColor();
  ImGui::Separator();
  open_section(a);
  status_line(a);
  if (a.state.volume) {
    if (ImGui::CollapsingHeader("View", ImGuiTreeNodeFlags_DefaultOpen)) view_section(a);
    if (ImGui::CollapsingHeader("Overlay", ImGuiTreeNodeFlags_DefaultOpen)) overlay_section(a);
  }
  if (ImGui::CollapsingHeader("Model run", ImGuiTreeNodeFlags_DefaultOpen)) run_section(a);
  if (a.state.prediction && ImGui::CollapsingHeader("Results", ImGuiTreeNodeFlags_DefaultOpen)) results_section(a);
  ImGui::End();
}

// The model's card (metrics, curves) in its own window over the image, opened from "Model run".
void draw_model_card(App& a) {
  if (!a.show_card || !a.state.model_loaded) return;
  const ImGuiViewport* vp = ImGui::GetMainViewport();
  ImGui::SetNextWindowPos(ImVec2(vp->Size.x - 476, 36), ImGuiCond_Appearing);
  ImGui::SetNextWindowSize(ImVec2(460, 470), ImGuiCond_Appearing);
  const ModelPlans& plans = a.state.model.plans;
  const std::string title = "Model card: " + plans.name + " " + plans.version;
  if (ImGui::Begin(title.c_str(), &a.show_card)) model_card_section(a.state.model);
  ImGui::End();
}

void step_slice(App& a, int step) {
  ViewerState& s = a.state;
  s.slice_index = std::clamp(s.slice_index + step, 0, s.slice_count() - 1);
  a.texture_dirty = true;
}

// Over the image: the wheel scrolls slices (ctrl+wheel zooms), Up/Down or Page Up/Down step them,
// a drag pans.
void image_input(App& a) {
  const ImGuiIO& io = ImGui::GetIO();
  const bool hovered = ImGui::IsItemHovered();
  const bool stack = a.state.slice_count() > 1;
  if (hovered && io.MouseWheel != 0.0f) {
    if (io.KeyCtrl) {
      a.zoom = std::clamp(a.zoom * std::pow(1.15f, io.MouseWheel), 0.25f, 8.0f);
    } else if (stack) {
      step_slice(a, -static_cast<int>(io.MouseWheel));  // wheel down (negative) = next slice, as in radiology viewers
    }
  }
  if (hovered && stack) {
    auto pressed = [](ImGuiKey k) { return ImGui::IsKeyPressed(ImGui::GetKeyIndex(k)); };
    if (pressed(ImGuiKey_UpArrow) || pressed(ImGuiKey_PageUp)) step_slice(a, -1);
    if (pressed(ImGuiKey_DownArrow) || pressed(ImGuiKey_PageDown)) step_slice(a, 1);
  }
  if (ImGui::IsItemActive() && ImGui::IsMouseDragging(ImGuiMouseButton_Left)) {
    a.pan_x += io.MouseDelta.x;
    a.pan_y += io.MouseDelta.y;
  }
}

// Caption and the radiological side labels: the patient's right is on the image's left.
void image_labels(const App& a, ImDrawList* dl, ImVec2 origin, ImVec2 avail, ImVec2 p0, ImVec2 size) {
  char caption[64];
  std::snprintf(caption, sizeof caption, "slice %d / %d", a.state.slice_index + 1, a.state.slice_count());
  dl->AddText(ImVec2(origin.x + 6, origin.y + 4), IM_COL32(255, 255, 255, 200), caption);
  const float mid = p0.y + size.y / 2;
  auto side_label = [&](float x, const char* text) {
    dl->AddRectFilled(ImVec2(x - 3, mid - 2), ImVec2(x + 11, mid + 16), IM_COL32(0, 0, 0, 170), 3.0f);
    dl->AddText(ImVec2(x, mid), IM_COL32(255, 220, 120, 255), text);
  };
  side_label(std::max(origin.x + 6, p0.x + 6), "R");
  side_label(std::min(origin.x + avail.x - 16, p0.x + size.x - 16), "L");
}

// The slice, fitted to the window, with zoom and pan.
void draw_image(App& a) {
  const ImGuiViewport* vp = ImGui::GetMainViewport();
  ImGui::SetNextWindowPos(ImVec2(384, 0), ImGuiCond_Always);
  ImGui::SetNextWindowSize(ImVec2(vp->Size.x - 384, vp->Size.y), ImGuiCond_Always);
  ImGui::Begin("Slice", nullptr, ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoResize | ImGuiWindowFlags_NoCollapse |
                                     ImGuiWindowFlags_NoScrollbar | ImGuiWindowFlags_NoScrollWithMouse);
  if (!a.state.volume) {
    ImGui::TextDisabled("No image open.");
    ImGui::End();
    return;
  }
  if (a.texture_dirty) upload_texture(a);
  const ImVec2 origin = ImGui::GetCursorScreenPos();
  const ImVec2 avail = ImGui::GetContentRegionAvail();
  ImGui::InvisibleButton("##image", avail);
  record(a, "image");
  image_input(a);
  const float scale = std::min(avail.x / g_texture.width, avail.y / g_texture.height) * a.zoom;
  const ImVec2 size(g_texture.width * scale, g_texture.height * scale);
  const ImVec2 p0(origin.x + (avail.x - size.x) / 2 + a.pan_x, origin.y + (avail.y - size.y) / 2 + a.pan_y);
  ImDrawList* dl = ImGui::GetWindowDrawList();
  dl->PushClipRect(origin, ImVec2(origin.x + avail.x, origin.y + avail.y), true);
  dl->AddImage(reinterpret_cast<ImTextureID>(static_cast<std::intptr_t>(g_texture.id)), p0,
               ImVec2(p0.x + size.x, p0.y + size.y));
  dl->PopClipRect();
  image_labels(a, dl, origin, avail, p0, size);
  ImGui::End();
}

}  // namespace

void draw_ui(App& a) {
  a.widgets.clear();  // only what this frame draws is clickable
  draw_controls(a);
  draw_image(a);
  draw_model_card(a);
}

}  // namespace corona::viewer
