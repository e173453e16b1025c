// Tests for corona/report.h: the report's fields for a slice and a volume from hand-made numbers,
// NaN as null, areas in mL only when spacing is known.
#include "corona/report.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace corona {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

ModelPlans plans() {
  ModelPlans p;
  p.version = "9.9.9";
  p.labels = default_labels("multiclass");
  p.files = {{"libtorch", "model.pt"}};
  return p;
}

SeverityReport severity(bool mm2_known) {
  SeverityReport s;
  s.classes = {ClassArea{90, mm2_known ? 45.0 : 0.0, mm2_known}, ClassArea{6, mm2_known ? 3.0 : 0.0, mm2_known},
               ClassArea{4, mm2_known ? 2.0 : 0.0, mm2_known}, ClassArea{}};
  s.right = LungInvolvement{20, 10, 2, 50.0, 2, true};
  s.left = LungInvolvement{40, 0, 0, 0.0, 0, true};
  s.total = LungInvolvement{60, 10, 2, 100.0 / 6.0, 1, true};
  return s;
}

TEST(Report, SliceFields) {
  ReportInput in;
  in.file_kind = "png";
  in.nx = 10;
  in.ny = 10;
  in.infected_probability = {0.75f};
  in.severity = severity(false);
  const nlohmann::json r = build_report(in, plans());
  EXPECT_EQ(r["file_kind"], "png");
  EXPECT_EQ(r["kind"], "slice");
  EXPECT_EQ(r["width"], 10);
  EXPECT_EQ(r["height"], 10);
  EXPECT_EQ(r["spacing_known"], false);
  EXPECT_DOUBLE_EQ(r["infected_probability"].get<double>(), 0.75);
  EXPECT_FALSE(r.contains("dims"));
  EXPECT_FALSE(r.contains("infected_probability_per_slice"));
  ASSERT_EQ(r["classes"].size(), 4u);
  EXPECT_EQ(r["classes"][1]["name"], "ggo");
  EXPECT_EQ(r["classes"][1]["px"], 6);
  EXPECT_TRUE(r["classes"][1]["mm2"].is_null());
  EXPECT_FALSE(r["classes"][1].contains("ml"));
  EXPECT_EQ(r["lungs"]["right"]["lesion_px"], 10);
  EXPECT_EQ(r["lungs"]["right"]["outside_lesion_px"], 2);
  EXPECT_DOUBLE_EQ(r["lungs"]["right"]["percent_involved"].get<double>(), 50.0);
  EXPECT_EQ(r["lungs"]["right"]["severity_band"], 2);
  EXPECT_EQ(r["severity_band"], 1);  // the total's band
  EXPECT_EQ(r["lungs"]["left"]["lung_found"], true);
  EXPECT_EQ(r["lungs"]["lesion_px_without_lung"], 0);
  EXPECT_FALSE(r.contains("severity_note"));
  EXPECT_EQ(r["model"]["name"], "corona-net");
  EXPECT_EQ(r["model"]["version"], "9.9.9");
  EXPECT_EQ(r["model"]["input_size"], 256);
  EXPECT_DOUBLE_EQ(r["model"]["hu_window"]["center"].get<double>(), -600.0);
  EXPECT_EQ(r["model"]["config"]["base_channels"], 16);
  EXPECT_NE(r["note"].get<std::string>().find("not a diagnostic device"), std::string::npos);
}

TEST(Report, VolumeFieldsAndTheMaximumOverSlices) {
  ReportInput in;
  in.file_kind = "gzip";
  in.is_volume = true;
  in.ndim = 3;
  in.nx = 4;
  in.ny = 5;
  in.nz = 3;
  in.spacing_mm = {0.5, 0.5, 2.0};
  in.display_orientation = "as stored";
  in.infected_probability = {0.2f, kNaN, 0.9f};
  in.lesion_px = {0, 7, 3};
  in.severity = severity(true);
  const nlohmann::json r = build_report(in, plans());
  EXPECT_EQ(r["kind"], "volume");
  EXPECT_EQ(r["dims"], nlohmann::json({4, 5, 3}));
  EXPECT_EQ(r["spacing_mm"], nlohmann::json({0.5, 0.5, 2.0}));
  EXPECT_EQ(r["spacing_known"], true);
  EXPECT_EQ(r["display_orientation"], "as stored");
  EXPECT_NEAR(r["infected_probability"].get<double>(), 0.9, 1e-7);
  EXPECT_EQ(r["infected_probability_rule"], "maximum over slices");
  ASSERT_EQ(r["infected_probability_per_slice"].size(), 3u);
  EXPECT_TRUE(r["infected_probability_per_slice"][1].is_null());
  EXPECT_EQ(r["lesion_px_per_slice"], nlohmann::json({0, 7, 3}));
  EXPECT_DOUBLE_EQ(r["classes"][1]["mm2"].get<double>(), 3.0);
  EXPECT_DOUBLE_EQ(r["classes"][1]["ml"].get<double>(), 3.0 * 2.0 / 1000.0);  // mm² x slice depth
  EXPECT_TRUE(r.contains("lungs_rule"));
  EXPECT_FALSE(r.contains("width"));

  in.ndim = 2;  // a 2D NIfTI reports its two dimensions
  in.infected_probability = {kNaN, kNaN, kNaN};
  const nlohmann::json r2 = build_report(in, plans());
  EXPECT_EQ(r2["dims"], nlohmann::json({4, 5}));
  EXPECT_TRUE(r2["infected_probability"].is_null());
}

TEST(Report, FiniteOrNull) {
  EXPECT_TRUE(finite_or_null(std::numeric_limits<double>::infinity()).is_null());
  EXPECT_TRUE(finite_or_null(kNaN).is_null());
  EXPECT_DOUBLE_EQ(finite_or_null(1.5).get<double>(), 1.5);
}

TEST(Report, SliceOutcomesFillThePerSliceFields) {
  // Two 4 x 1 display slices: lungs right | right | left | left.
  LabelMap lungs(4, 1);
  lungs.pixels = {1, 1, 2, 2};
  LabelMap a(4, 1), b(4, 1);
  a.pixels = {1, 0, 0, 0};  // one GGO pixel in the right lung
  b.pixels = {0, 0, 2, 3};  // the left lung fully involved
  const SliceOutcome oa = slice_outcome(a, lungs, 0.25f, 4);
  const SliceOutcome ob = slice_outcome(b, lungs, kNaN, 4);
  EXPECT_EQ(oa.lesion_px, 1u);
  EXPECT_EQ(ob.lesion_px, 2u);
  EXPECT_DOUBLE_EQ(oa.severity.right.percent, 50.0);
  EXPECT_DOUBLE_EQ(ob.severity.left.percent, 100.0);
  ReportInput in;
  set_slice_outcomes(in, {oa, ob}, 4);
  EXPECT_EQ(in.lesion_px, (std::vector<std::uint64_t>{1, 2}));
  ASSERT_EQ(in.infected_probability.size(), 2u);
  EXPECT_FLOAT_EQ(in.infected_probability[0], 0.25f);
  EXPECT_EQ(in.severity.right.lung_px, 4u);
  EXPECT_DOUBLE_EQ(in.severity.right.percent, 25.0);
  EXPECT_DOUBLE_EQ(in.severity.left.percent, 50.0);
  EXPECT_DOUBLE_EQ(in.severity.total.percent, 100.0 * 3.0 / 8.0);
  EXPECT_EQ(in.severity.classes[2].px, 1u);
  EXPECT_EQ(in.severity.classes[0].px, 5u);
}

TEST(Report, NoLungMeansNoPercentageNoBandAndANote) {
  // A slice whose lung mask is empty (below the lungs): lesions found, but no lung to grade.
  LabelMap lesions(4, 1), no_lungs(4, 1, 0);
  lesions.pixels = {0, 1, 2, 2};
  ReportInput in;
  in.file_kind = "png";
  in.nx = 4;
  in.ny = 1;
  set_slice_outcomes(in, {slice_outcome(lesions, no_lungs, 0.6f, 4)}, 4);
  const nlohmann::json r = build_report(in, plans());
  EXPECT_TRUE(r["severity_band"].is_null());
  EXPECT_EQ(r["severity_note"], "no lung in this slice: no involvement, no severity band");
  for (const char* side : {"right", "left", "total"}) {
    EXPECT_EQ(r["lungs"][side]["lung_found"], false) << side;
    EXPECT_TRUE(r["lungs"][side]["percent_involved"].is_null()) << side;
    EXPECT_TRUE(r["lungs"][side]["severity_band"].is_null()) << side;
  }
  EXPECT_EQ(r["lungs"]["lesion_px_without_lung"], 3);
  EXPECT_EQ(r["classes"][2]["px"], 2);  // the lesions are still reported by class

  // The same slice inside a volume with a chest slice: the volume is graded, the note is gone.
  LabelMap lungs(4, 1), chest(4, 1, 0);
  lungs.pixels = {1, 1, 2, 2};
  chest.pixels = {1, 0, 0, 0};
  in.is_volume = true;
  in.ndim = 3;
  in.nz = 2;
  set_slice_outcomes(in, {slice_outcome(chest, lungs, 0.1f, 4), slice_outcome(lesions, no_lungs, 0.6f, 4)}, 4);
  const nlohmann::json v = build_report(in, plans());
  EXPECT_EQ(v["severity_band"], 1);
  EXPECT_DOUBLE_EQ(v["lungs"]["total"]["percent_involved"].get<double>(), 25.0);
  EXPECT_EQ(v["lungs"]["lesion_px_without_lung"], 3);
  EXPECT_FALSE(v.contains("severity_note"));
}

TEST(Report, ReadReportGivesBackWhatBuildReportWrote) {
  // A volume with one lung-free slice: every number read back equals the one written.
  LabelMap lungs(4, 1), no_lungs(4, 1, 0), chest(4, 1, 0), belly(4, 1, 0);
  lungs.pixels = {1, 1, 2, 2};
  chest.pixels = {1, 3, 0, 2};
  belly.pixels = {2, 0, 0, 1};
  chest.spacing_known = belly.spacing_known = true;
  ReportInput in;
  in.file_kind = "gzip";
  in.is_volume = true;
  in.ndim = 3;
  in.nx = 4;
  in.ny = 1;
  in.nz = 2;
  in.spacing_mm = {0.5, 0.5, 2.0};
  set_slice_outcomes(in, {slice_outcome(chest, lungs, 0.75f, 4), slice_outcome(belly, no_lungs, kNaN, 4)}, 4);
  const nlohmann::json written = build_report(in, plans());
  auto back = read_report(written, true, 2, 4);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->lesion_px, in.lesion_px);
  ASSERT_EQ(back->infected_probability.size(), 2u);
  EXPECT_FLOAT_EQ(back->infected_probability[0], 0.75f);
  EXPECT_TRUE(std::isnan(back->infected_probability[1]));
  EXPECT_EQ(back->severity.lesion_px_without_lung, 2u);
  for (std::size_t c = 0; c < 4; ++c) {
    EXPECT_EQ(back->severity.classes[c].px, in.severity.classes[c].px) << c;
    EXPECT_EQ(back->severity.classes[c].mm2_known, in.severity.classes[c].mm2_known) << c;
    EXPECT_DOUBLE_EQ(back->severity.classes[c].mm2, in.severity.classes[c].mm2) << c;
  }
  const LungInvolvement* sides[][2] = {{&back->severity.right, &in.severity.right},
                                       {&back->severity.left, &in.severity.left},
                                       {&back->severity.total, &in.severity.total}};
  for (const auto& [got, want] : sides) {
    EXPECT_EQ(got->lung_px, want->lung_px);
    EXPECT_EQ(got->lesion_px, want->lesion_px);
    EXPECT_EQ(got->lung_found, want->lung_found);
    EXPECT_DOUBLE_EQ(got->percent, want->percent);
    EXPECT_EQ(got->severity_band, want->severity_band);
  }
  // What the caller has open decides what the report must describe.
  EXPECT_FALSE(read_report(written, false, 1, 4).ok());
  EXPECT_FALSE(read_report(written, true, 3, 4).ok());
  EXPECT_FALSE(read_report(written, true, 2, 2).ok());
}

TEST(Report, ReadReportRefusesMistypedFieldsWithoutThrowing) {
  ReportInput in;
  in.file_kind = "png";
  in.nx = in.ny = 4;
  LabelMap lungs(4, 1, 1), lesions(4, 1, 0);
  set_slice_outcomes(in, {slice_outcome(lesions, lungs, 0.5f, 4)}, 4);
  const nlohmann::json good = build_report(in, plans());
  ASSERT_TRUE(read_report(good, false, 1, 4).ok());
  const struct {
    const char* what;
    void (*edit)(nlohmann::json&);
    const char* message;
  } cases[] = {
      {"array", [](nlohmann::json& j) { j = nlohmann::json::array(); }, "report: not a JSON object"},
      {"kind", [](nlohmann::json& j) { j["kind"] = 3; }, "report: kind must be \"slice\""},
      {"classes", [](nlohmann::json& j) { j["classes"] = "x"; }, "report: classes must list"},
      {"class px", [](nlohmann::json& j) { j["classes"][1]["px"] = "7"; }, "report: classes[1].px"},
      {"lungs", [](nlohmann::json& j) { j["lungs"] = 1; }, "report: lungs is missing"},
      {"found", [](nlohmann::json& j) { j["lungs"]["right"]["lung_found"] = "yes"; }, "lungs.right.lung_found"},
      {"percent", [](nlohmann::json& j) { j["lungs"]["total"]["percent_involved"] = nullptr; },
       "lungs.total.percent_involved"},
      {"without lung", [](nlohmann::json& j) { j["lungs"].erase("lesion_px_without_lung"); },
       "lungs.lesion_px_without_lung"},
      {"probability", [](nlohmann::json& j) { j["infected_probability"] = "high"; }, "infected_probability"},
  };
  for (const auto& c : cases) {
    nlohmann::json j = good;
    c.edit(j);
    auto r = read_report(j, false, 1, 4);
    ASSERT_FALSE(r.ok()) << c.what;
    EXPECT_NE(r.error().message.find(c.message), std::string::npos) << c.what << ": " << r.error().message;
  }
}

}  // namespace
}  // namespace corona
