// wasm/viewer_main.cpp: the browser viewer's main loop (Dear ImGui on GLFW + WebGL2) and its
// bridge to the page: JS hands file bytes to corona_open_file(); C++ asks JS to open the file
// picker or fetch the demo through EM_JS. All decoding and overlays are the shared core's.
#include <GLES3/gl3.h>
#include <GLFW/glfw3.h>
#include <emscripten.h>
#include <emscripten/html5.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "imgui.h"
#include "imgui_impl_glfw.h"
#include "imgui_impl_opengl3.h"
#include "viewer_state.h"

using corona::viewer::FileRole;
using corona::viewer::ViewerState;

namespace {

ViewerState g_state;
GLFWwindow* g_window = nullptr;
GLuint g_texture = 0;
bool g_texture_dirty = true;
int g_tex_w = 0, g_tex_h = 0;
std::string g_state_json;

constexpr const char* kDisclaimer =
    "Research tool, not a diagnostic device: do not use it for clinical decisions.";

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

}  // namespace

// JS side of the bridge (web/coronanet.js defines window.coronanet).
EM_JS(void, corona_js_open_picker, (), { window.coronanet && window.coronanet.openPicker(); });
EM_JS(void, corona_js_load_demo, (), { window.coronanet && window.coronanet.loadDemo(); });

extern "C" {

// Called by JS with the bytes of a file (gzip already undone). role: 0 image, 1 label map.
EMSCRIPTEN_KEEPALIVE int corona_open_file(int role, const char* name, const std::uint8_t* data, int size) {
  const bool ok = g_state.open(static_cast<FileRole>(role), name ? name : "file", data,
                               size > 0 ? static_cast<std::size_t>(size) : 0);
  g_texture_dirty = true;
  return ok ? 1 : 0;
}

// A JSON snapshot for the page and for automation (tests read it through window.coronanet).
EMSCRIPTEN_KEEPALIVE const char* corona_state_json() {
  std::string status;
  for (char c : g_state.status) status += (c == '"' || c == '\\') ? '\'' : c;
  char buf[256];
  std::snprintf(buf, sizeof buf, R"(,"slices":%d,"slice":%d,"width":%d,"height":%d,"has_labels":%s})",
                g_state.slice_count(), g_state.slice_index, g_state.volume ? g_state.volume->nx : 0,
                g_state.volume ? g_state.volume->ny : 0, g_state.labels ? "true" : "false");
  g_state_json = std::string(R"({"status":")") + status + R"(","error":)" +
                 (g_state.status_is_error ? "true" : "false") + buf;
  return g_state_json.c_str();
}

}  // extern "C"

namespace {

void draw_controls() {
  ImGui::SetNextWindowPos(ImVec2(8, 8), ImGuiCond_FirstUseEver);
  ImGui::SetNextWindowSize(ImVec2(330, 420), ImGuiCond_FirstUseEver);
  ImGui::Begin("Corona-Net");
  ImGui::TextWrapped("%s", kDisclaimer);
  ImGui::Separator();
  if (ImGui::Button("Open file...")) corona_js_open_picker();
  ImGui::SameLine();
  if (ImGui::Button("Load demo")) corona_js_load_demo();
  ImGui::TextDisabled("or drop a NIfTI / PNG / JPEG on the page");
  if (g_state.volume) {
    ImGui::Separator();
    ImGui::Text("Image: %s (%d x %d x %d)", g_state.image_name.c_str(), g_state.volume->nx,
                g_state.volume->ny, g_state.volume->nz);
    if (g_state.slice_count() > 1 &&
        ImGui::SliderInt("Slice", &g_state.slice_index, 0, g_state.slice_count() - 1)) {
      g_texture_dirty = true;
    }
    if (g_state.volume_is_hu) {
      if (ImGui::Button("Lung window")) { g_state.window = corona::kLungWindow; g_texture_dirty = true; }
      ImGui::SameLine();
      if (ImGui::Button("Mediastinum")) { g_state.window = corona::kMediastinumWindow; g_texture_dirty = true; }
      g_texture_dirty |= ImGui::DragFloat("Level (HU)", &g_state.window.center, 5.0f, -1200.0f, 1200.0f);
      g_texture_dirty |= ImGui::DragFloat("Width (HU)", &g_state.window.width, 5.0f, 1.0f, 4000.0f);
    }
    if (g_state.labels) {
      ImGui::Text("Labels: %s", g_state.labels_name.c_str());
      g_texture_dirty |= ImGui::SliderFloat("Opacity", &g_state.opacity, 0.0f, 1.0f);
      static const char* kNames[] = {"background", "ground-glass opacity", "consolidation", "pleural effusion"};
      for (std::size_t c = 1; c < g_state.styles.size() && c < 4; ++c) {
        g_texture_dirty |= ImGui::Checkbox(kNames[c], &g_state.styles[c].visible);
      }
    }
  }
  ImGui::Separator();
  if (g_state.status_is_error) {
    ImGui::PushStyleColor(ImGuiCol_Text, ImVec4(1.0f, 0.45f, 0.4f, 1.0f));
    ImGui::TextWrapped("%s", g_state.status.c_str());
    ImGui::PopStyleColor();
  } else {
    ImGui::TextWrapped("%s", g_state.status.c_str());
  }
  ImGui::End();
}

void draw_image() {
  if (!g_state.volume) return;
  if (g_texture_dirty) upload_texture();
  const ImGuiViewport* vp = ImGui::GetMainViewport();
  ImGui::SetNextWindowPos(ImVec2(350, 8), ImGuiCond_FirstUseEver);
  ImGui::SetNextWindowSize(ImVec2(vp->Size.x - 358, vp->Size.y - 16), ImGuiCond_FirstUseEver);
  ImGui::Begin("Slice");
  const ImVec2 avail = ImGui::GetContentRegionAvail();
  const float scale = std::min(avail.x / g_tex_w, avail.y / g_tex_h);
  ImGui::Image(reinterpret_cast<ImTextureID>(static_cast<std::intptr_t>(g_texture)),
               ImVec2(g_tex_w * scale, g_tex_h * scale));
  ImGui::End();
}

void frame() {
  double css_w = 0, css_h = 0;
  emscripten_get_element_css_size("#canvas", &css_w, &css_h);
  int w = 0, h = 0;
  glfwGetWindowSize(g_window, &w, &h);
  if (static_cast<int>(css_w) != w || static_cast<int>(css_h) != h) {
    glfwSetWindowSize(g_window, static_cast<int>(css_w), static_cast<int>(css_h));
  }
  glfwPollEvents();
  ImGui_ImplOpenGL3_NewFrame();
  ImGui_ImplGlfw_NewFrame();
  ImGui::NewFrame();
  draw_controls();
  draw_image();
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
  ImGui_ImplGlfw_InitForOpenGL(g_window, true);
  ImGui_ImplOpenGL3_Init("#version 300 es");
  emscripten_set_main_loop(frame, 0, false);
  return 0;
}
