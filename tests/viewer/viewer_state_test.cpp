// Tests for wasm/viewer_state.h, natively: opening the fixtures, bad input keeping what was open, a
// model run fed hand-made logits (labels, display orientation, the report's fields), export kinds
// by name, and the server's report kept as it came.
#include "viewer_state.h"

#include <gtest/gtest.h>

#include <cmath>

#include "corona/lung_mask.h"
#include "corona/nifti.h"
#include "corona/report.h"
#include "viewer_test_util.h"

namespace corona::viewer {
namespace {

using nlohmann::json;
using test::fixture;
using test::open_file;
using test::read_bytes;
using test::split_logits;

constexpr const char* kSlicePng = "medseg/tr_im_0032.png";
const std::vector<std::string> kExtras = {"backend", "ms_per_slice", "session_ms", "report_ms", "threads", "slices"};

json without_extras(json r) {
  for (const std::string& k : kExtras) r.erase(k);
  return r;
}

// The viewer with the shipped model and one file open.
ViewerState opened(const std::string& name, std::vector<std::uint8_t> bytes) {
  ViewerState s;
  EXPECT_TRUE(test::load_shipped_model(s)) << s.status;
  EXPECT_TRUE(open_file(s, FileRole::kImage, name, bytes)) << s.status;
  return s;
}

ViewerState opened_slice() { return opened("slice 32", read_bytes(fixture(kSlicePng))); }
ViewerState opened_demo_volume() { return opened("demo", test::gunzip(read_bytes(fixture("medseg/demo_hu.nii.gz")))); }

// Runs every slice with logits choosing `left` on the display's left half and background on the
// right, and classifier logits cls[k].
void run_split(ViewerState& s, int left, const std::vector<float>& cls) {
  ASSERT_EQ(s.begin_run("wasm"), s.slice_count()) << s.status;
  const int c = s.model.plans.num_classes(), size = s.model.plans.input.size;
  const std::vector<float> logits = split_logits(c, size, left, 0);
  for (int k = 0; k < s.slice_count(); ++k) {
    ASSERT_EQ(s.model_input(k).width, size);
    ASSERT_TRUE(s.accept_output(k, logits.data(), c, size, cls[static_cast<std::size_t>(k)], nullptr, 0, 0)) << s.status;
  }
  s.finish_run(12.5, 300.0, 2);
}

// The labels run_split gives a display slice w x h: `left` where x < w / 2.
LabelMap split_labels(int w, int h, int left) {
  LabelMap m(w, h);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w / 2; ++x) m.at(x, y) = static_cast<std::uint8_t>(left);
  return m;
}

// ---- names across the bridge -----------------------------------------------------------------

TEST(ViewerNames, RolesAndExportKindsRoundTrip) {
  for (FileRole r : {FileRole::kImage, FileRole::kReference, FileRole::kPrediction})
    EXPECT_EQ(file_role_from_name(file_role_name(r)), r);
  for (ExportKind k : {ExportKind::kMaskNifti, ExportKind::kMaskPng, ExportKind::kReportJson, ExportKind::kReportCsv})
    EXPECT_EQ(export_kind_from_name(export_kind_name(k)), k);
  EXPECT_STREQ(file_role_name(FileRole::kReference), "reference");
  EXPECT_STREQ(export_kind_name(ExportKind::kMaskNifti), "mask_nifti");
  EXPECT_STREQ(export_kind_name(ExportKind::kReportCsv), "report_csv");
  EXPECT_EQ(file_role_names(), "image, reference, prediction");
  EXPECT_EQ(export_kind_names(), "mask_nifti, mask_png, report_json, report_csv");
  for (const char* bad : {"", "labels", "0", "Image"}) EXPECT_FALSE(file_role_from_name(bad)) << bad;
  for (const char* bad : {"", "mask.png", "2", "report"}) EXPECT_FALSE(export_kind_from_name(bad)) << bad;
}

// ---- opening files ---------------------------------------------------------------------------

TEST(ViewerOpen, PngSliceIsAOneSliceVolumeWithoutGeometry) {
  ViewerState s = opened_slice();
  EXPECT_FALSE(s.status_is_error);
  EXPECT_EQ(s.status, "Opened slice 32");
  EXPECT_EQ(s.slice_count(), 1);
  EXPECT_EQ(s.display_width(), 512);
  EXPECT_EQ(s.display_height(), 512);
  EXPECT_FALSE(s.volume_is_hu);
  EXPECT_EQ(s.file_kind, FileKind::kPng);
  // An 8-bit slice is shown as stored.
  const std::vector<std::uint8_t> bytes = read_bytes(fixture(kSlicePng));
  const auto png = load_image_from_buffer(bytes.data(), bytes.size());
  ASSERT_TRUE(png);
  EXPECT_EQ(s.display_slice(0).pixels, png->pixels);
  const json st = s.state_json();
  EXPECT_EQ(st["slices"], 1);
  EXPECT_EQ(st["is_volume"], false);
  EXPECT_EQ(st["has_prediction"], false);
}

TEST(ViewerOpen, NiftiDemoIsAnHuVolumeWithItsReference) {
  ViewerState s = opened_demo_volume();
  EXPECT_TRUE(s.volume_is_hu);
  EXPECT_EQ(s.slice_count(), 3);
  EXPECT_EQ(s.slice_index, 1);  // the middle slice first
  EXPECT_NEAR(s.volume->spacing[2], 5.0, 1e-6);
  const auto labels = test::gunzip(read_bytes(fixture("medseg/demo_labels.nii.gz")));
  ASSERT_TRUE(open_file(s, FileRole::kReference, "radiologist labels", labels)) << s.status;
  ASSERT_TRUE(s.reference_slice(1));
  EXPECT_EQ(s.reference_slice(1)->width, 512);
  EXPECT_TRUE(s.state_json()["has_labels"]);
}

TEST(ViewerOpen, BadInputSaysWhyAndKeepsWhatWasOpen) {
  ViewerState s = opened_slice();
  const std::vector<float> before = s.volume->voxels;
  struct Case {
    const char* name;
    std::vector<std::uint8_t> bytes;
    const char* message;
  };
  const Case cases[] = {
      {"empty.png", {}, "empty.png: the file is empty"},
      {"broken.png", {0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13}, "broken.png: "},
      {"notes.txt", {'h', 'e', 'l', 'l', 'o'}, "notes.txt: not a NIfTI (.nii/.nii.gz), PNG or JPEG file"},
      {"twice.nii.gz", read_bytes(fixture("medseg/demo_hu.nii.gz")), "twice.nii.gz: still gzip-compressed"},
  };
  for (const Case& c : cases) {
    s.status_is_error = false;
    EXPECT_FALSE(open_file(s, FileRole::kImage, c.name, c.bytes)) << c.name;
    EXPECT_TRUE(s.status_is_error);
    EXPECT_EQ(s.status.rfind(c.message, 0), 0u) << s.status;
    EXPECT_EQ(s.image_name, "slice 32");
    EXPECT_EQ(s.volume->voxels, before);
  }
}

TEST(ViewerOpen, ALabelMapOfAnotherShapeIsRefused) {
  ViewerState s = opened_demo_volume();
  EXPECT_FALSE(open_file(s, FileRole::kReference, "slice mask", read_bytes(fixture("medseg/tr_mask_4class_0032.png"))));
  EXPECT_EQ(s.status, "slice mask: label map is 512x512x1 but the image is 512x512x3");
  EXPECT_FALSE(s.reference);
  ViewerState empty;
  EXPECT_FALSE(open_file(empty, FileRole::kReference, "labels", read_bytes(fixture("medseg/tr_mask_4class_0032.png"))));
  EXPECT_EQ(empty.status, "Open an image before a label map.");
}

// ---- a model run -----------------------------------------------------------------------------

TEST(ViewerRun, RefusalsSayWhatIsMissing) {
  ViewerState none;
  EXPECT_EQ(none.begin_run("wasm"), 0);
  EXPECT_EQ(none.status, "Open an image (or the demo) before running the model.");
  ViewerState no_model;
  ASSERT_TRUE(open_file(no_model, FileRole::kImage, "slice", read_bytes(fixture(kSlicePng))));
  EXPECT_EQ(no_model.begin_run("wasm"), 0);
  EXPECT_EQ(no_model.status, "The model is not loaded yet.");

  ViewerState s = opened_slice();
  const std::vector<float> logits = split_logits(4, 256, 1, 0);
  EXPECT_FALSE(s.accept_output(0, logits.data(), 4, 256, 0.0f, nullptr, 0, 0));
  EXPECT_EQ(s.status, "Model output for slice 0 arrived outside a run.");
  ASSERT_EQ(s.begin_run("wasm"), 1);
  EXPECT_EQ(s.begin_run("wasm"), 0);
  EXPECT_EQ(s.status, "A model run is already in progress.");
  EXPECT_FALSE(s.accept_output(0, logits.data(), 2, 256, 0.0f, nullptr, 0, 0));
  EXPECT_EQ(s.status, "Model output has 2 classes at 256² but plans.json says 4 at 256²");
  EXPECT_FALSE(open_file(s, FileRole::kImage, "other", read_bytes(fixture(kSlicePng))));
  EXPECT_EQ(s.status, "A model run is in progress: cancel it before opening another file.");
  EXPECT_FALSE(s.export_bytes(ExportKind::kMaskPng));
}

TEST(ViewerRun, SliceLabelsAndReportFromHandMadeLogits) {
  ViewerState s = opened_slice();
  run_split(s, /*left=*/1, {0.0f});
  EXPECT_EQ(s.run.phase, RunPhase::kDone);
  EXPECT_EQ(s.status, "Predicted 1 slice on wasm: 12 ms per slice.");
  const LabelMap want = split_labels(512, 512, 1);
  ASSERT_TRUE(s.predicted_slice(0));
  EXPECT_EQ(s.predicted_slice(0)->pixels, want.pixels);
  EXPECT_EQ(s.voxel_labels().voxels, want.pixels);  // a PNG's voxel order is its display

  const json r = s.report();
  EXPECT_EQ(r["kind"], "slice");
  EXPECT_EQ(r["file_kind"], "PNG");
  EXPECT_EQ(r["width"], 512);
  EXPECT_EQ(r["spacing_known"], false);
  EXPECT_DOUBLE_EQ(r["infected_probability"].get<double>(), 0.5);  // sigmoid(0)
  EXPECT_EQ(r["classes"][0]["px"], 256 * 512);
  EXPECT_EQ(r["classes"][1]["name"], "ggo");
  EXPECT_EQ(r["classes"][1]["px"], 256 * 512);
  EXPECT_TRUE(r["classes"][1]["mm2"].is_null());  // no geometry: pixels only
  EXPECT_EQ(r["classes"][2]["px"], 0);
  EXPECT_EQ(r["lungs"]["total"]["lesion_px"], 256 * 512);  // every lesion pixel counts for a lung
  EXPECT_GT(r["lungs"]["right"]["lesion_px"], r["lungs"]["left"]["lesion_px"]);  // image left = patient right
  EXPECT_EQ(r["model"]["config"]["num_classes"], 4);
  EXPECT_EQ(r["backend"], "wasm");
  EXPECT_DOUBLE_EQ(r["ms_per_slice"].get<double>(), 12.5);
  EXPECT_DOUBLE_EQ(r["session_ms"].get<double>(), 300.0);
  EXPECT_GE(r["report_ms"].get<double>(), 0.0);
  EXPECT_EQ(r["threads"], 2);
  EXPECT_EQ(r["slices"], 1);

  // The rest is the core's report of the same numbers: the classic lung mask of the shown slice.
  LabelMap labels = want;
  labels.spacing_known = false;
  ReportInput in;
  in.file_kind = "PNG";
  in.nx = in.ny = 512;
  in.infected_probability = {0.5f};
  in.lesion_px = {256 * 512};
  in.severity = assess_severity(labels, lung_mask_from_u8(s.display_slice(0)), 4);
  EXPECT_EQ(without_extras(r), build_report(in, s.model.plans));
}

TEST(ViewerRun, SeverityIsComputedOnceAndRecomputedForANewOutput) {
  ViewerState s = opened_slice();
  run_split(s, 1, {0.0f});
  const SeverityReport* first = &s.slice_severity(0);
  EXPECT_EQ(&s.slice_severity(0), first);  // the cache, not a new computation
  EXPECT_EQ(s.slice_severity(0).classes[1].px, 256u * 512u);
  EXPECT_EQ(s.volume_severity().total.lesion_px, first->total.lesion_px);
  // The runtime answering again for a slice (in a run) replaces its labels and its severity.
  ASSERT_EQ(s.begin_run("wasm"), 1);
  const std::vector<float> ggo = split_logits(4, 256, 1, 0), consolidation = split_logits(4, 256, 2, 0);
  ASSERT_TRUE(s.accept_output(0, ggo.data(), 4, 256, 0.0f, nullptr, 0, 0));
  EXPECT_EQ(s.slice_severity(0).classes[1].px, 256u * 512u);
  ASSERT_TRUE(s.accept_output(0, consolidation.data(), 4, 256, 0.0f, nullptr, 0, 0));
  EXPECT_EQ(s.slice_severity(0).classes[1].px, 0u);
  EXPECT_EQ(s.slice_severity(0).classes[2].px, 256u * 512u);
  EXPECT_EQ(s.volume_severity().classes[2].px, 256u * 512u);
  EXPECT_EQ(s.run.done, 1);  // one slice, answered twice
}

TEST(ViewerRun, VolumeReportSumsTheSlicesWithGeometry) {
  ViewerState s = opened_demo_volume();
  run_split(s, 2, {0.0f, 2.0f, -2.0f});
  const json r = s.report();
  const std::uint64_t half = 256 * 512;
  EXPECT_EQ(r["kind"], "volume");
  EXPECT_EQ(r["dims"], json({512, 512, 3}));
  EXPECT_EQ(r["spacing_known"], true);
  EXPECT_EQ(r["display_orientation"], s.orientation.describe());
  EXPECT_EQ(r["lesion_px_per_slice"], json({half, half, half}));
  EXPECT_NEAR(r["infected_probability"].get<double>(), 1.0 / (1.0 + std::exp(-2.0)), 1e-6);  // the maximum
  ASSERT_EQ(r["infected_probability_per_slice"].size(), 3u);
  EXPECT_NEAR(r["infected_probability_per_slice"][2].get<double>(), 1.0 / (1.0 + std::exp(2.0)), 1e-6);
  EXPECT_EQ(r["classes"][2]["px"], 3 * half);
  const double px_mm2 = s.volume->spacing[0] * s.volume->spacing[1];
  EXPECT_NEAR(r["classes"][2]["mm2"].get<double>(), 3.0 * half * px_mm2, 1e-6);
  EXPECT_NEAR(r["classes"][2]["ml"].get<double>(), 3.0 * half * px_mm2 * s.volume->spacing[2] / 1000.0, 1e-9);
  EXPECT_TRUE(r.contains("lungs_rule"));
  EXPECT_EQ(r["lungs"]["total"]["lesion_px"], 3 * half);
  EXPECT_EQ(r["slices"], 3);
  // The whole volume's involvement is the slices' pixel counts summed (not a mean of percentages).
  std::uint64_t lung = 0;
  for (int k = 0; k < 3; ++k) lung += s.slice_severity(k).total.lung_px;
  EXPECT_EQ(r["lungs"]["total"]["lung_px"], lung);
}

// A volume stored transposed and flipped: the network sees it in display orientation, the export
// and mask() are back in voxel order.
TEST(ViewerRun, DisplayOrientationInAndVoxelOrderOut) {
  VolumeF v(48, 64, 2, -800.0f);
  v.spacing = {0.6, 0.8, 2.5};
  v.affine.m = {0, 0.8, 0, 0, 0.6, 0, 0, 0, 0, 0, 2.5, 0, 0, 0, 0, 1};  // voxel j -> world x, i -> world y
  auto bytes = encode_nifti(v, NiftiWriteOptions{});
  ASSERT_TRUE(bytes) << bytes.error().message;
  ViewerState s = opened("transposed.nii", *bytes);
  ASSERT_TRUE(s.orientation.transpose);
  EXPECT_EQ(s.display_width(), 64);
  EXPECT_EQ(s.display_height(), 48);
  run_split(s, 1, {0.0f, 0.0f});
  EXPECT_EQ(s.predicted_slice(1)->pixels, split_labels(64, 48, 1).pixels);
  // Display (dx, dy) is voxel (i = 47 - dy, j = 63 - dx) here: the display's left half is j >= 32.
  const LabelVolume voxels = s.voxel_labels();
  for (int j = 0; j < 64; ++j)
    for (int i = 0; i < 48; ++i) ASSERT_EQ(voxels.at(i, j, 1), j >= 32 ? 1 : 0) << i << "," << j;
  auto nifti = s.export_bytes(ExportKind::kMaskNifti);
  ASSERT_TRUE(nifti) << nifti.error().message;
  auto back = load_nifti_from_buffer(nifti->data(), nifti->size());
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->volume.nx, 48);
  EXPECT_EQ(back->volume.ny, 64);
  for (std::size_t n = 0; n < voxels.voxels.size(); ++n)
    ASSERT_EQ(back->volume.voxels[n], static_cast<float>(voxels.voxels[n])) << n;
  EXPECT_NEAR(s.report()["classes"][1]["mm2"].get<double>(), 2 * 32 * 48 * 0.48, 1e-3);
}

TEST(ViewerRun, AFailedOrCancelledRunKeepsNoPartialMask) {
  ViewerState s = opened_demo_volume();
  ASSERT_EQ(s.begin_run("wasm"), 3);
  const std::vector<float> logits = split_logits(4, 256, 1, 0);
  ASSERT_TRUE(s.accept_output(0, logits.data(), 4, 256, 0.0f, nullptr, 0, 0));
  s.fail_run(RunPhase::kCancelled, "cancelled by the user");
  EXPECT_FALSE(s.prediction);
  EXPECT_EQ(s.status, "Cancelled: cancelled by the user");
  EXPECT_FALSE(s.status_is_error);
  EXPECT_EQ(s.state_json()["run"]["phase"], "cancelled");
  EXPECT_EQ(s.report(), json::object());
}

// ---- exports ---------------------------------------------------------------------------------

TEST(ViewerExport, EveryKindAfterARun) {
  ViewerState s = opened_slice();
  auto before = s.export_bytes(ExportKind::kReportJson);
  ASSERT_FALSE(before);
  EXPECT_EQ(before.error().message, "Run the model first: there is no mask to save.");
  run_split(s, 1, {0.0f});

  auto png = s.export_bytes(ExportKind::kMaskPng);
  ASSERT_TRUE(png);
  auto mask = load_label_png_from_buffer(png->data(), png->size());
  ASSERT_TRUE(mask);
  EXPECT_EQ(mask->pixels, split_labels(512, 512, 1).pixels);

  auto nifti = s.export_bytes(ExportKind::kMaskNifti);
  ASSERT_TRUE(nifti);
  auto nii = load_nifti_from_buffer(nifti->data(), nifti->size());
  ASSERT_TRUE(nii) << nii.error().message;
  EXPECT_EQ(nii->header.ndim, 2);  // a slice's mask is a 2D NIfTI

  auto report = s.export_bytes(ExportKind::kReportJson);
  ASSERT_TRUE(report);
  EXPECT_EQ(json::parse(report->begin(), report->end()), s.report());

  auto csv = s.export_bytes(ExportKind::kReportCsv);
  ASSERT_TRUE(csv);
  const std::string text(csv->begin(), csv->end());
  EXPECT_EQ(text.rfind("section,name,px,mm2,percent_involved,severity_band\n", 0), 0u);
  EXPECT_NE(text.find("\nclass,ggo,131072,,,\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nsummary,infected_probability,,,0.5,\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nsummary,backend wasm,,,,\n"), std::string::npos) << text;
}

// ---- the server's report ---------------------------------------------------------------------

// What `coronanet serve` would answer for the slice: the core's report plus the server's extras.
json server_result(const ViewerState& s, std::uint64_t ggo_px) {
  ReportInput in;
  in.file_kind = "PNG";
  in.nx = in.ny = 512;
  in.infected_probability = {0.25f};
  in.lesion_px = {ggo_px};
  in.severity.classes = {ClassArea{512 * 512 - ggo_px}, ClassArea{ggo_px}, ClassArea{}, ClassArea{}};
  in.severity.right = LungInvolvement{1000, ggo_px, 0, 100.0 * ggo_px / 1000.0, 4, true};
  in.severity.total = in.severity.right;
  json r = build_report(in, s.model.plans);
  r["seconds"] = 0.4;
  r["model"]["device"] = "cpu";
  return r;
}

TEST(ViewerServerReport, IsShownAndExportedAsItCame) {
  ViewerState s = opened_slice();
  ASSERT_EQ(s.begin_run("server"), 1);
  const LabelMap mask = split_labels(512, 512, 1);
  ASSERT_TRUE(open_file(s, FileRole::kPrediction, "server mask", encode_png_gray(mask))) << s.status;
  const json server = server_result(s, 500);
  ASSERT_TRUE(s.set_server_report(server.dump())) << s.status;
  s.finish_run(40.0, 0.0, 0);
  EXPECT_EQ(s.run.phase, RunPhase::kDone);
  const json r = s.report();
  EXPECT_EQ(without_extras(r), server);  // seconds and device included: as it came
  EXPECT_EQ(r["backend"], "server");
  EXPECT_DOUBLE_EQ(r["ms_per_slice"].get<double>(), 40.0);
  EXPECT_EQ(r["slices"], 1);
  // The UI's whole-image numbers and P(infected) are the server's; the shown mask is its mask.
  EXPECT_EQ(s.volume_severity().classes[1].px, 500u);
  EXPECT_EQ(s.volume_severity().total.severity_band, 4);
  EXPECT_FLOAT_EQ(s.prediction->infected[0], 0.25f);
  EXPECT_EQ(s.predicted_slice(0)->pixels, mask.pixels);
  auto csv = s.export_bytes(ExportKind::kReportCsv);
  ASSERT_TRUE(csv);
  EXPECT_NE(std::string(csv->begin(), csv->end()).find("\nclass,ggo,500,,,\n"), std::string::npos);
}

TEST(ViewerServerReport, OneThatDoesNotFitTheImageIsRefused) {
  ViewerState s = opened_slice();
  EXPECT_FALSE(s.set_server_report("{}"));
  EXPECT_EQ(s.status, "A server report arrived outside a server run.");
  ASSERT_EQ(s.begin_run("server"), 1);
  ASSERT_TRUE(open_file(s, FileRole::kPrediction, "server mask", encode_png_gray(split_labels(512, 512, 1))));
  const json good = server_result(s, 500);
  struct Case {
    const char* what;
    json report;
    const char* message;
  };
  json volume = good, few_classes = good, no_lungs = good, bad_px = good, bad_prob = good;
  volume["kind"] = "volume";
  few_classes["classes"].erase(3);
  no_lungs.erase("lungs");
  bad_px["lungs"]["left"]["lesion_px"] = -3;
  bad_prob["infected_probability"] = "high";
  const Case cases[] = {
      {"not JSON", json("[1, 2"), "server report: not a JSON object"},
      {"another kind", volume, "server report: kind must be \"slice\" for the open image"},
      {"class count", few_classes, "server report: classes must list the model's 4 classes"},
      {"no lungs", no_lungs, "server report: lungs is missing"},
      {"negative count", bad_px, "server report: lungs.left.lesion_px must be a pixel count"},
      {"probability", bad_prob, "server report: infected_probability must be a number or null"},
  };
  for (const Case& c : cases) {
    const std::string text = c.report.is_string() ? c.report.get<std::string>() : c.report.dump();
    EXPECT_FALSE(s.set_server_report(text)) << c.what;
    EXPECT_EQ(s.status, c.message) << c.what;
    EXPECT_TRUE(s.prediction->server_report.is_null()) << c.what;
  }
  EXPECT_TRUE(s.set_server_report(good.dump())) << s.status;
}

}  // namespace
}  // namespace corona::viewer
