#include "viewer_app.h"

namespace corona::viewer {

bool RedrawPolicy::should_draw(double now_ms, bool running) {
  if (!input_seen_) {
    if (running && now_ms - last_draw_ms_ < kRunFrameMs) return false;  // leave the cores to the model
    if (quiet_frames_++ > kSettleFrames) return false;                   // nothing changed: keep the last frame
  }
  input_seen_ = false;
  last_draw_ms_ = now_ms;
  return true;
}

void App::reset_view() {
  zoom = 1.0f;
  pan_x = pan_y = 0.0f;
}

std::string App::resolved_backend() const {
  const std::string b = kBackendChoices[backend_choice].name;
  if (b == "auto") return caps.webgpu_hardware ? "webgpu" : "wasm";
  return b;
}

double App::estimated_seconds(const std::string& backend) const {
  const auto it = ms_per_slice.find(backend);
  return state.slice_count() * (it == ms_per_slice.end() ? 250.0 : it->second) / 1000.0;
}

nlohmann::json App::state_json() const {
  nlohmann::json j = state.state_json();
  nlohmann::json rects = nlohmann::json::object();
  for (const auto& [name, r] : widgets) rects[name] = {r[0], r[1], r[2], r[3]};
  j["widgets"] = rects;
  j["backend_choice"] = kBackendChoices[backend_choice].name;
  j["offer_server"] = offer_server;
  j["overlay"] = state.show_cam ? "cam" : state.show_reference ? "reference" : "prediction";
  j["window"] = {{"center", state.window.center}, {"width", state.window.width}};
  j["zoom"] = zoom;
  return j;
}

App& app() {
  static App the_app;
  return the_app;
}

}  // namespace corona::viewer
