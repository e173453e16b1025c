// wasm/viewer_app.h: the one viewer that the page bridge (viewer_bridge.cpp), the UI
// (viewer_ui.cpp) and the main loop (viewer_main.cpp) share: the state, what the page found out
// about the browser, the UI's own settings, and when a frame is worth drawing.
#pragma once

#include <array>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "viewer_state.h"

namespace corona::viewer {

// What the page found out about this browser (corona_set_capabilities).
struct Capabilities {
  bool webgpu = false;           // an adapter exists
  bool webgpu_hardware = false;  // ... and it is not a software fallback: "auto" uses it
  bool server = false;
  bool isolated = false;  // cross-origin isolated: wasm threads available
  int threads = 1;
};

// Frames are drawn only while something happens (input, a call from the page, a run) and for a
// few frames after, so ImGui can settle hover and popups. An idle viewer then costs nothing: with
// a software WebGL (headless Chromium) a frame costs a CPU core's worth of time that the model's
// wasm threads need. During a model run, calls from the page (one per slice) redraw at most every
// kRunFrameMs; user input always redraws at once.
class RedrawPolicy {
 public:
  void on_change() { quiet_frames_ = 0; }
  void on_input() {
    quiet_frames_ = 0;
    input_seen_ = true;
  }
  // Whether the frame at now_ms is drawn; a drawn frame starts the settling count again.
  bool should_draw(double now_ms, bool running);

 private:
  static constexpr int kSettleFrames = 3;
  static constexpr double kRunFrameMs = 1000.0;
  int quiet_frames_ = 0;
  bool input_seen_ = false;
  double last_draw_ms_ = 0.0;
};

// The UI's backend choices: what the combo shows and the name the page's run() takes.
struct BackendChoice {
  const char* label;
  const char* name;
};
constexpr BackendChoice kBackendChoices[] = {{"Auto (GPU if any, else CPU)", "auto"},
                                             {"WebGPU", "webgpu"},
                                             {"wasm (CPU)", "wasm"},
                                             {"Server", "server"}};
constexpr int kBackendChoiceCount = static_cast<int>(sizeof kBackendChoices / sizeof kBackendChoices[0]);

struct App {
  ViewerState state;
  Capabilities caps;
  RedrawPolicy redraw;
  bool texture_dirty = true;  // the slice's texture must be rendered again
  int backend_choice = 0;     // index into kBackendChoices
  bool offer_server = false;  // the "send it to the server?" dialog is open
  bool show_card = false;     // the model card window
  float zoom = 1.0f;
  float pan_x = 0.0f, pan_y = 0.0f;
  // A job is "heavy" when it would take longer than this on the chosen in-browser backend
  // (?heavy=SECONDS on the page's URL changes it, e.g. for tests).
  double heavy_job_seconds = 20.0;
  // Per-slice estimates until a run measures them (wasm EP, 2 threads, 256²: docs/viewer.md).
  std::map<std::string, double> ms_per_slice = {{"wasm", 250.0}, {"webgpu", 250.0}, {"server", 150.0}};
  // Widget rectangles (x, y, w, h) drawn in the last frame: what automation can click.
  std::map<std::string, std::array<float, 4>> widgets;

  // Something the page or the state changed: draw again.
  void changed(bool texture = false) {
    redraw.on_change();
    texture_dirty = texture_dirty || texture;
  }
  void reset_view();
  // The chosen backend with "auto" resolved: WebGPU on a hardware adapter, else the wasm EP.
  std::string resolved_backend() const;
  double estimated_seconds(const std::string& backend) const;
  // The state for the page and for automation (window.coronanet.state()): the viewer's, plus the
  // UI's choices and the widget rectangles.
  nlohmann::json state_json() const;
};

// The viewer (one per page).
App& app();

}  // namespace corona::viewer
