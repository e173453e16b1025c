// wasm/viewer_main.cpp: the browser viewer's main loop: GLFW on WebGL2, Dear ImGui, and a frame
// drawn only when something changed (RedrawPolicy). The panels are viewer_ui.cpp's; the page's
// calls land in viewer_bridge.cpp.
#include <GLES3/gl3.h>
#include <GLFW/glfw3.h>
#include <emscripten.h>
#include <emscripten/html5.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "imgui.h"
#include "imgui_impl_glfw.h"
#include "imgui_impl_opengl3.h"
#include "viewer_app.h"
#include "viewer_ui.h"

namespace {

using corona::viewer::App;
using corona::viewer::app;

GLFWwindow* g_window = nullptr;

// The canvas follows the page's layout (CSS size); a resize redraws.
void follow_canvas_size() {
  double css_w = 0, css_h = 0;
  emscripten_get_element_css_size("#canvas", &css_w, &css_h);
  int w = 0, h = 0;
  glfwGetWindowSize(g_window, &w, &h);
  if (static_cast<int>(css_w) != w || static_cast<int>(css_h) != h) {
    glfwSetWindowSize(g_window, static_cast<int>(css_w), static_cast<int>(css_h));
    app().changed();
  }
}

void frame() {
  App& a = app();
  follow_canvas_size();
  glfwPollEvents();
  if (a.texture_dirty) a.changed();
  const bool running = a.state.run.phase == corona::viewer::RunPhase::kRunning;
  if (!a.redraw.should_draw(emscripten_get_now(), running)) return;
  ImGui_ImplOpenGL3_NewFrame();
  ImGui_ImplGlfw_NewFrame();
  ImGui::NewFrame();
  corona::viewer::draw_ui(a);
  ImGui::Render();
  int fb_w = 0, fb_h = 0;
  glfwGetFramebufferSize(g_window, &fb_w, &fb_h);
  glViewport(0, 0, fb_w, fb_h);
  glClearColor(0.08f, 0.09f, 0.11f, 1.0f);
  glClear(GL_COLOR_BUFFER_BIT);
  ImGui_ImplOpenGL3_RenderDrawData(ImGui::GetDrawData());
}

void install_input_callbacks() {
  // Installed before ImGui's own callbacks, which chain to them: any input wakes the drawing.
  glfwSetCursorPosCallback(g_window, [](GLFWwindow*, double, double) { app().redraw.on_input(); });
  glfwSetMouseButtonCallback(g_window, [](GLFWwindow*, int, int, int) { app().redraw.on_input(); });
  glfwSetScrollCallback(g_window, [](GLFWwindow*, double, double) { app().redraw.on_input(); });
  glfwSetKeyCallback(g_window, [](GLFWwindow*, int, int, int, int) { app().redraw.on_input(); });
  glfwSetCharCallback(g_window, [](GLFWwindow*, unsigned int) { app().redraw.on_input(); });
  ImGui_ImplGlfw_InitForOpenGL(g_window, true);
  // Emscripten 3.1.6's GLFW hands the browser's raw wheel deltas to the scroll callback (pixels,
  // positive = down) where native GLFW gives steps, positive = up: ImGui then scrolled panels
  // backwards by 100 lines a notch. Steps of the native sign instead; ImGui's handler chains to
  // the activity callback above.
  glfwSetScrollCallback(g_window, [](GLFWwindow* w, double dx, double dy) {
    auto steps = [](double d) { return d == 0.0 ? 0.0 : (d > 0.0 ? -1.0 : 1.0) * std::max(1.0, std::abs(d) / 100.0); };
    ImGui_ImplGlfw_ScrollCallback(w, steps(dx), steps(dy));
  });
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
  install_input_callbacks();
  ImGui_ImplOpenGL3_Init("#version 300 es");
  emscripten_set_main_loop(frame, 0, false);
  return 0;
}
