// wasm/viewer_state.h: what the viewer shows and computes, independent of GL and the browser: the
// opened slice or volume, reference and predicted label maps, display settings, the model run's
// progress, and the report/exports. Everything numeric is the shared core's; no Emscripten here,
// so the native build runs its unit suite (tests/viewer).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "corona/image.h"
#include "corona/image_io.h"
#include "corona/orientation.h"
#include "corona/overlay.h"
#include "corona/preprocess.h"
#include "corona/report.h"
#include "corona/severity.h"
#include "model_info.h"

namespace corona::viewer {

// What an opened file is to the viewer. The page names it: "image", "reference", "prediction".
enum class FileRole { kImage, kReference, kPrediction };
// What the page can save: "mask_nifti", "mask_png", "report_json", "report_csv".
enum class ExportKind { kMaskNifti, kMaskPng, kReportJson, kReportCsv };
enum class RunPhase { kIdle, kRunning, kDone, kFailed, kCancelled };

// Names across the bridge (both directions); nullopt for a name that is none of them.
std::optional<FileRole> file_role_from_name(const std::string& name);
const char* file_role_name(FileRole role);
std::optional<ExportKind> export_kind_from_name(const std::string& name);
const char* export_kind_name(ExportKind kind);
std::string file_role_names();    // "image, reference, prediction": for messages
std::string export_kind_names();  // "mask_nifti, mask_png, report_json, report_csv"
const char* run_phase_name(RunPhase phase);  // "idle", "running", "done", "failed", "cancelled"

// The prediction for the opened image, filled slice by slice as the runtime answers.
struct Prediction {
  // Display orientation (slice k is image slice k as shown, display_width x display_height): the
  // network's labels come out that way and the overlay and severity use them that way; voxel
  // order is made only for the NIfTI export and mask().
  LabelVolume labels;
  std::vector<float> infected;        // per slice: P(infected) (NaN without head / not run)
  std::vector<ImageF> cam;            // per slice, display orientation (empty without head)
  std::vector<std::uint8_t> done;     // per slice: 1 once predicted
  // Per-slice severity (classic lung mask, class areas, involvement: ~20-40 ms a slice in wasm),
  // computed once when the run ends or on first use, then cached (the UI shows it every frame).
  mutable std::vector<std::optional<SeverityReport>> severity;
  mutable std::optional<SeverityReport> whole;  // sum over the slices, or the server's numbers
  nlohmann::json server_report;       // the server's result as it came; null for in-browser runs
  std::string backend;                // "webgpu", "wasm" or "server"
  double ms_per_slice = 0.0;
  double session_ms = 0.0;            // model load time (0 when the session was already open)
  double report_ms = 0.0;             // lung masks, areas and involvement of all slices, after the run
  int threads = 0;
};

struct RunStatus {
  RunPhase phase = RunPhase::kIdle;
  int done = 0;
  int total = 0;
  std::string backend;
  std::string message;
};

struct ViewerState {
  // The image: a volume (NIfTI, HU) or a single 8-bit slice (PNG/JPEG) kept as a one-slice volume.
  std::optional<VolumeF> volume;
  bool volume_is_hu = false;
  FileKind file_kind = FileKind::kUnknown;
  int nifti_ndim = 3;
  DisplayOrientation orientation;  // voxel order -> radiological display
  std::optional<LabelVolume> reference;  // display orientation, like Prediction::labels
  std::optional<Prediction> prediction;
  std::string image_name, reference_name;
  int slice_index = 0;
  IntensityWindow window = kLungWindow;
  ModelInfo model;
  bool model_loaded = false;

  // Display settings.
  float opacity = 0.45f;
  bool show_prediction = true;
  bool show_reference = false;
  bool show_cam = false;
  std::vector<LabelStyle> styles = default_lesion_styles();

  RunStatus run;
  std::string status = "Open a CT slice (PNG/JPEG) or volume (NIfTI), or load the demo.";
  bool status_is_error = false;

  // Bytes as the image, the reference labels, or a predicted mask from the server. On failure the
  // previous data stays and the status line says what was wrong. Returns true on success.
  bool open(FileRole role, const std::string& name, const std::uint8_t* data, std::size_t size);
  bool set_model(const std::string& plans, const std::string& metrics, const std::string& log);
  // The server's report for the run in progress (after its mask was opened as the prediction):
  // kept as it came, shown and exported with the viewer's extras. False (status says why) when it
  // does not describe the open image.
  bool set_server_report(const std::string& json_text);
  // A refusal found outside the state (by the page): shown as an error in the status line.
  void report_error(const std::string& message);

  int slice_count() const { return volume ? volume->nz : 0; }
  int display_width() const;
  int display_height() const;

  // The current slice in display orientation: grey levels (windowed for HU) and label maps.
  ImageU8 display_slice(int k) const;
  std::optional<LabelMap> predicted_slice(int k) const;
  std::optional<LabelMap> reference_slice(int k) const;
  RgbaImage render() const;

  // --- a model run, driven by the page: begin, then per slice input -> output, then finish ---
  // Returns the slice count, or 0 (status says why: no image, no model, already running).
  int begin_run(const std::string& backend);
  // Slice k's network input (plans' input spec), display orientation.
  ImageF model_input(int k) const;
  // The runtime's outputs for slice k: logits [C, s, s]; cls logit (NaN: none); evidence map
  // [cam_h, cam_w] (nullptr: none).
  bool accept_output(int k, const float* logits, int classes, int size, float cls_logit, const float* evidence,
                     int cam_w, int cam_h);
  // Ends the run; computes (and times, as report_ms) the report's per-slice work once.
  void finish_run(double ms_per_slice, double session_ms, int threads);
  void fail_run(RunPhase phase, const std::string& message);  // kFailed or kCancelled

  // Severity of slice k (empty before its prediction) and of the whole image (the slices summed
  // by the core's sum_severity, or the server's numbers); both cached.
  const SeverityReport& slice_severity(int k) const;
  const SeverityReport& volume_severity() const;
  // The core's report (corona/report.h: the fields of `coronanet predict`'s), or the server's as it
  // came, plus how this viewer ran it: backend, ms_per_slice, session_ms, report_ms, threads, slices.
  nlohmann::json report() const;
  std::string report_csv() const;
  // The prediction in voxel (NIfTI) order, the image's geometry.
  LabelVolume voxel_labels() const;
  Expected<std::vector<std::uint8_t>> export_bytes(ExportKind kind) const;
  nlohmann::json state_json() const;

 private:
  bool fail(const std::string& message);
  bool open_image(const std::string& name, FileKind kind, const std::uint8_t* data, std::size_t size);
  Expected<LabelVolume> read_labels(const std::string& name, FileKind kind, const std::uint8_t* data,
                                    std::size_t size) const;
  Prediction empty_prediction(std::uint8_t done) const;
  LabelMap lung_mask(int k) const;
  ReportInput report_input() const;
};

}  // namespace corona::viewer
