// wasm/viewer_ui.h: the viewer's Dear ImGui panels: controls (open, view, overlay, model run,
// results), the slice with zoom and pan, and the model card. Each draw records the rectangles of
// the widgets it drew (App::widgets), so tests can click them.
#pragma once

#include "viewer_app.h"

namespace corona::viewer {

// One frame's windows, between ImGui::NewFrame() and ImGui::Render().
void draw_ui(App& a);

}  // namespace corona::viewer
