// wasm/viewer_bridge.h: the viewer's calls into the page (web/coronanet-page.js, window.coronanet).
// The other direction, the page's calls into C++ (corona_*), is the C ABI in viewer_bridge.cpp.
#pragma once

#include <string>

#include "viewer_state.h"

namespace corona::viewer::page {

void open_picker();
void load_demo(const std::string& which);  // "volume", "slice22", "slice32", "slice48"
void run(const std::string& backend);      // "webgpu", "wasm" or "server"
void cancel();
void save(ExportKind kind);                // by name: export_kind_name(kind)

}  // namespace corona::viewer::page
