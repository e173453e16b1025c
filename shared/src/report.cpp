// report.cpp: the prediction report (report.h).
#include "corona/report.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace corona {

const char* const kReportNote =
    "research tool, not a diagnostic device; lung mask is a classic (model-free) estimate";

nlohmann::json finite_or_null(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

namespace {

using nlohmann::json;

// A band, or null for a lung the mask did not find.
json band_json(const LungInvolvement& l) {
  return l.lung_found ? json(l.severity_band) : json(nullptr);
}

json lung_json(const LungInvolvement& l) {
  return {{"lung_px", l.lung_px},
          {"lesion_px", l.lesion_px},
          {"outside_lesion_px", l.outside_lesion_px},
          {"lung_found", l.lung_found},
          {"percent_involved", l.lung_found ? finite_or_null(l.percent) : json(nullptr)},
          {"severity_band", band_json(l)}};
}

json classes_json(const ReportInput& in, const ModelPlans& plans) {
  json out = json::array();
  for (int c = 0; c < plans.num_classes(); ++c) {
    const ClassArea a = c < static_cast<int>(in.severity.classes.size())
                            ? in.severity.classes[static_cast<std::size_t>(c)]
                            : ClassArea{};
    json j = {{"label", c}, {"name", plans.label_name(c)}, {"px", a.px},
              {"mm2", a.mm2_known ? finite_or_null(a.mm2) : json(nullptr)}};
    if (in.is_volume) j["ml"] = a.mm2_known ? finite_or_null(a.mm2 * in.spacing_mm[2] / 1000.0) : json(nullptr);
    out.push_back(j);
  }
  return out;
}

json model_json(const ModelPlans& plans) {
  return {{"name", plans.name},
          {"version", plans.version},
          {"task", plans.task},
          {"input_size", plans.input.size},
          {"hu_window", {{"center", plans.input.hu_window.center}, {"width", plans.input.hu_window.width}}},
          {"config", plans.model.to_json()}};
}

// The largest finite value (NaN when there is none).
float max_finite(const std::vector<float>& values) {
  float m = std::numeric_limits<float>::quiet_NaN();
  for (float v : values)
    if (std::isfinite(v) && !(v <= m)) m = v;
  return m;
}

void add_volume_fields(const ReportInput& in, json& r) {
  r["kind"] = "volume";
  r["dims"] = in.ndim >= 3 ? json{in.nx, in.ny, in.nz} : json{in.nx, in.ny};
  r["spacing_mm"] = {in.spacing_mm[0], in.spacing_mm[1], in.spacing_mm[2]};
  r["spacing_known"] = true;
  r["display_orientation"] = in.display_orientation;
  json per_slice = json::array();
  for (float v : in.infected_probability) per_slice.push_back(finite_or_null(v));
  r["infected_probability"] = finite_or_null(max_finite(in.infected_probability));
  r["infected_probability_rule"] = "maximum over slices";
  r["infected_probability_per_slice"] = per_slice;
  r["lesion_px_per_slice"] = in.lesion_px;
  r["lungs_rule"] = "per slice classic lung mask (lung_mask_from_hu) and assess_severity, pixel counts summed";
}

void add_slice_fields(const ReportInput& in, json& r) {
  r["kind"] = "slice";
  r["width"] = in.nx;
  r["height"] = in.ny;
  r["spacing_known"] = false;
  r["infected_probability"] = finite_or_null(
      in.infected_probability.empty() ? std::numeric_limits<float>::quiet_NaN() : in.infected_probability[0]);
}

}  // namespace

SliceOutcome slice_outcome(const LabelMap& labels, const LabelMap& lungs, float infected_probability,
                           int num_classes) {
  SliceOutcome o;
  o.infected_probability = infected_probability;
  o.lesion_px = static_cast<std::uint64_t>(
      std::count_if(labels.pixels.begin(), labels.pixels.end(), [](std::uint8_t v) { return v != 0; }));
  o.severity = assess_severity(labels, lungs, num_classes);
  return o;
}

void set_slice_outcomes(ReportInput& in, const std::vector<SliceOutcome>& slices, int num_classes) {
  in.infected_probability.clear();
  in.lesion_px.clear();
  std::vector<SeverityReport> severities;
  for (const SliceOutcome& s : slices) {
    in.infected_probability.push_back(s.infected_probability);
    in.lesion_px.push_back(s.lesion_px);
    severities.push_back(s.severity);
  }
  in.severity = sum_severity(severities, num_classes);
}

json build_report(const ReportInput& in, const ModelPlans& plans) {
  json r;
  r["file_kind"] = in.file_kind;
  if (in.is_volume) add_volume_fields(in, r);
  else add_slice_fields(in, r);
  r["classes"] = classes_json(in, plans);
  r["lungs"] = {{"right", lung_json(in.severity.right)},
                {"left", lung_json(in.severity.left)},
                {"total", lung_json(in.severity.total)},
                {"lesion_px_without_lung", in.severity.lesion_px_without_lung}};
  r["severity_band"] = band_json(in.severity.total);
  if (!in.severity.total.lung_found)
    r["severity_note"] = in.is_volume && in.nz > 1 ? "no lung found in this volume: no involvement, no severity band"
                                                   : "no lung in this slice: no involvement, no severity band";
  r["model"] = model_json(plans);
  r["note"] = kReportNote;
  return r;
}

}  // namespace corona
