// wasm/viewer_state.h: what the viewer shows and computes, independent of GL and the browser: the
// opened slice or volume, reference and predicted label maps, display settings, the model run's
// progress, and the report/exports. Everything numeric is the shared core's.
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
#include "corona/severity.h"
#include "model_info.h"

namespace corona::viewer {

enum class FileRole : int { kImage = 0, kReference = 1, kPrediction = 2 };
enum class RunPhase : int { kIdle = 0, kRunning = 1, kDone = 2, kFailed = 3, kCancelled = 4 };
enum class ExportKind : int { kMaskNifti = 0, kMaskPng = 1, kReportJson = 2, kReportCsv = 3 };

// Per-slice or whole-volume summary shown in the UI and written in the report.
struct Summary {
  std::vector<ClassArea> classes;
  LungInvolvement right, left, total;
};

// The prediction for the opened image, filled slice by slice as the runtime answers.
struct Prediction {
  LabelVolume labels;                 // voxel order, the image's geometry
  std::vector<float> infected;        // per slice: P(infected) (NaN without head / not run)
  std::vector<ImageF> cam;            // per slice, display orientation (empty without head)
  std::vector<std::uint8_t> done;     // per slice: 1 once predicted
  // Per-slice summaries, computed once (the lung mask takes ~20-40 ms a slice in wasm) when the
  // run ends or on first use, then cached (the UI shows them every frame).
  mutable std::vector<std::optional<Summary>> summaries;
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
  std::optional<LabelVolume> reference;
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
  // Slice k's network input (model.input_size², normalised as plans.json says), display orientation.
  ImageF model_input(int k) const;
  // The runtime's outputs for slice k: logits [C, s, s]; cls logit (NaN: none); evidence map
  // [cam_h, cam_w] (nullptr: none).
  bool accept_output(int k, const float* logits, int classes, int size, float cls_logit, const float* evidence,
                     int cam_w, int cam_h);
  void finish_run(double ms_per_slice, double session_ms, int threads);
  void fail_run(RunPhase phase, const std::string& message);  // kFailed or kCancelled

  // Report (same fields as `coronanet predict`, plus backend and timing) and exports.
  Summary summarise_slice(int k) const;
  Summary summarise_all() const;
  nlohmann::json report() const;
  std::string report_csv() const;
  Expected<std::vector<std::uint8_t>> export_bytes(ExportKind kind) const;
  nlohmann::json state_json() const;

 private:
  bool fail(const std::string& message);
  LabelMap lung_mask(int k) const;
};

}  // namespace corona::viewer
