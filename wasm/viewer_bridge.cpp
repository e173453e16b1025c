// wasm/viewer_bridge.cpp: the page bridge. JS hands over file bytes, the model's plans and outputs
// and the server's results; C++ decodes, preprocesses, post-processes and reports with the shared
// core (ViewerState). C++ asks JS (EM_JS) to open the file picker, fetch the demo, run the model
// (ONNX Runtime Web in a worker, or the server) and save files. File roles and export kinds cross
// by name ("image", "mask_nifti", ...), as viewer_state.h spells them.
#include "viewer_bridge.h"

#include <emscripten.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "viewer_app.h"

using corona::viewer::App;
using corona::viewer::app;
using corona::viewer::RunPhase;

// ---- C++ -> JS (web/coronanet-page.js defines window.coronanet) --------------------------------
EM_JS(void, corona_js_open_picker, (), { window.coronanet && window.coronanet.openPicker(); });
EM_JS(void, corona_js_load_demo, (const char* which), {
  window.coronanet && window.coronanet.loadDemo(UTF8ToString(which)).catch((e) => console.error(e));
});
EM_JS(void, corona_js_run, (const char* backend), {
  window.coronanet && window.coronanet.run({ backend: UTF8ToString(backend) }).catch((e) => console.warn(String(e)));
});
EM_JS(void, corona_js_cancel, (), { window.coronanet && window.coronanet.cancel(); });
EM_JS(void, corona_js_save, (const char* kind), { window.coronanet && window.coronanet.save(UTF8ToString(kind)); });

namespace corona::viewer::page {
void open_picker() { corona_js_open_picker(); }
void load_demo(const std::string& which) { corona_js_load_demo(which.c_str()); }
void run(const std::string& backend) { corona_js_run(backend.c_str()); }
void cancel() { corona_js_cancel(); }
void save(ExportKind kind) { corona_js_save(export_kind_name(kind)); }
}  // namespace corona::viewer::page

namespace {

std::string text_or(const char* s, const char* fallback) { return s != nullptr ? s : fallback; }

// What the bridge last handed to JS: valid until the next call that returns the same kind.
struct Outbox {
  std::string json;
  std::vector<std::uint8_t> bytes;
  corona::ImageF model_input;
  corona::LabelVolume mask;
} g_out;

const char* hand_json(const nlohmann::json& j) {
  g_out.json = j.dump();
  return g_out.json.c_str();
}

}  // namespace

// ---- JS -> C++ ------------------------------------------------------------------------------
extern "C" {

// Bytes of a file (gzip already undone). role: "image", "reference" (labels to compare with) or
// "prediction" (the server's mask). Returns 1, or 0 with the status line saying why.
EMSCRIPTEN_KEEPALIVE int corona_open_file(const char* role, const char* name, const std::uint8_t* data, int size) {
  App& a = app();
  a.changed(/*texture=*/true);
  const auto r = corona::viewer::file_role_from_name(text_or(role, ""));
  if (!r) {
    a.state.report_error("unknown file role \"" + text_or(role, "") + "\" (one of " +
                         corona::viewer::file_role_names() + ")");
    return 0;
  }
  const bool ok = a.state.open(*r, text_or(name, "file"), data, size > 0 ? static_cast<std::size_t>(size) : 0);
  if (ok && *r == corona::viewer::FileRole::kImage) a.reset_view();
  return ok ? 1 : 0;
}

// A refusal found by the page before any bytes reached C++ (e.g. larger than wasm memory allows).
EMSCRIPTEN_KEEPALIVE void corona_report_error(const char* message) {
  app().changed();
  app().state.report_error(text_or(message, "error"));
}

EMSCRIPTEN_KEEPALIVE int corona_set_model(const char* plans, const char* metrics, const char* log) {
  app().changed(/*texture=*/true);  // the plans' label colours
  return app().state.set_model(text_or(plans, ""), text_or(metrics, ""), text_or(log, "")) ? 1 : 0;
}

EMSCRIPTEN_KEEPALIVE void corona_set_capabilities(int webgpu, int webgpu_hardware, int server, int isolated,
                                                  int threads) {
  app().changed();
  app().caps = corona::viewer::Capabilities{webgpu != 0, webgpu_hardware != 0, server != 0, isolated != 0,
                                            std::max(1, threads)};
}

EMSCRIPTEN_KEEPALIVE void corona_set_heavy_job_seconds(double seconds) {
  app().changed();
  if (seconds >= 0) app().heavy_job_seconds = seconds;
}

// The viewer's state for the page and for automation (window.coronanet.state()).
EMSCRIPTEN_KEEPALIVE const char* corona_state_json() { return hand_json(app().state_json()); }

EMSCRIPTEN_KEEPALIVE int corona_begin_run(const char* backend) {
  app().changed(/*texture=*/true);
  return app().state.begin_run(text_or(backend, "wasm"));
}

// Slice k's network input (input_size² floats) in wasm memory, valid until the next call.
EMSCRIPTEN_KEEPALIVE const float* corona_model_input(int k) {
  App& a = app();
  a.changed();
  if (!a.state.volume || k < 0 || k >= a.state.slice_count() || !a.state.model_loaded) return nullptr;
  g_out.model_input = a.state.model_input(k);
  return g_out.model_input.pixels.data();
}

EMSCRIPTEN_KEEPALIVE int corona_accept_output(int k, const float* logits, int classes, int size, float cls_logit,
                                             const float* evidence, int cam_w, int cam_h) {
  App& a = app();
  a.changed(/*texture=*/k == a.state.slice_index);
  return a.state.accept_output(k, logits, classes, size, cls_logit, evidence, cam_w, cam_h) ? 1 : 0;
}

// The server's report for the run in progress (GET /api/v1/jobs/{id}/result, as text), after its
// mask came in through corona_open_file("prediction"): shown and exported as it came. 1, or 0 with
// the status line saying what does not fit.
EMSCRIPTEN_KEEPALIVE int corona_set_server_report(const char* json) {
  app().changed();
  return app().state.set_server_report(text_or(json, "")) ? 1 : 0;
}

// Progress of a run the page drives without per-slice outputs (the server).
EMSCRIPTEN_KEEPALIVE void corona_set_run_progress(int done, int total) {
  App& a = app();
  a.changed();
  if (a.state.run.phase != RunPhase::kRunning) return;
  a.state.run.done = done;
  if (total > 0) a.state.run.total = total;
}

// Ends a run; returns the report as JSON (valid until the next call).
EMSCRIPTEN_KEEPALIVE const char* corona_finish_run(double ms_per_slice, double session_ms, int threads) {
  App& a = app();
  a.changed(/*texture=*/true);
  a.state.finish_run(ms_per_slice, session_ms, threads);
  if (a.state.prediction) a.ms_per_slice[a.state.prediction->backend] = ms_per_slice;
  return hand_json(a.state.report());
}

EMSCRIPTEN_KEEPALIVE void corona_fail_run(int cancelled, const char* message) {
  app().changed(/*texture=*/true);
  app().state.fail_run(cancelled ? RunPhase::kCancelled : RunPhase::kFailed, text_or(message, ""));
}

EMSCRIPTEN_KEEPALIVE const char* corona_report_json() { return hand_json(app().state.report()); }

// Export bytes; kind: "mask_nifti", "mask_png" (the shown slice), "report_json", "report_csv".
// *size = -1 and the status line says why on failure.
EMSCRIPTEN_KEEPALIVE const std::uint8_t* corona_export(const char* kind, int* size) {
  App& a = app();
  a.changed();
  *size = -1;
  const auto k = corona::viewer::export_kind_from_name(text_or(kind, ""));
  if (!k) {
    a.state.report_error("unknown export \"" + text_or(kind, "") + "\" (one of " +
                         corona::viewer::export_kind_names() + ")");
    return nullptr;
  }
  auto bytes = a.state.export_bytes(*k);
  if (!bytes) {
    a.state.report_error(bytes.error().message);
    return nullptr;
  }
  g_out.bytes = std::move(bytes).value();
  *size = static_cast<int>(g_out.bytes.size());
  return g_out.bytes.data();
}

// The predicted label volume in voxel (NIfTI) order; dims[0..2] = nx, ny, nz. nullptr: none.
EMSCRIPTEN_KEEPALIVE const std::uint8_t* corona_mask(int* dims) {
  const auto& s = app().state;
  if (!s.prediction || s.run.phase == RunPhase::kRunning) return nullptr;
  g_out.mask = s.voxel_labels();
  dims[0] = g_out.mask.nx;
  dims[1] = g_out.mask.ny;
  dims[2] = g_out.mask.nz;
  return g_out.mask.voxels.data();
}

EMSCRIPTEN_KEEPALIVE void corona_set_slice(int k) {
  App& a = app();
  a.changed();
  if (k >= 0 && k < a.state.slice_count()) {
    a.state.slice_index = k;
    a.texture_dirty = true;
  }
}

}  // extern "C"
