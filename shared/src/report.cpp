// report.cpp: the prediction report (report.h).
#include "corona/report.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <utility>

#include "json_read.h"

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

// ---- reading a report back (read_report) ----------------------------------------------------

Error field_error(const std::string& field, const std::string& what) {
  return make_error("report: " + field + " " + what);
}

Expected<std::uint64_t> count_at(const json& j, const char* key, const std::string& where) {
  const json* v = json_field(j, key);
  if (v == nullptr || !v->is_number_unsigned()) return field_error(where + "." + key, "must be a pixel count");
  return v->get<std::uint64_t>();
}

Expected<LungInvolvement> lung_at(const json& lungs, const char* side) {
  const std::string where = std::string("lungs.") + side;
  const json* l = json_field(lungs, side);
  if (l == nullptr || !l->is_object()) return field_error(where, "is missing");
  LungInvolvement out;
  auto lung_px = count_at(*l, "lung_px", where);
  auto lesion_px = count_at(*l, "lesion_px", where);
  auto outside = count_at(*l, "outside_lesion_px", where);
  for (const auto* r : {&lung_px, &lesion_px, &outside})
    if (!*r) return r->error();
  out.lung_px = *lung_px;
  out.lesion_px = *lesion_px;
  out.outside_lesion_px = *outside;
  const json* found = json_field(*l, "lung_found");
  if (found == nullptr || !found->is_boolean()) return field_error(where + ".lung_found", "must be true or false");
  out.lung_found = found->get<bool>();
  const json* percent = json_field(*l, "percent_involved");
  const json* band = json_field(*l, "severity_band");
  if (!out.lung_found) {  // a lung the mask did not find: nothing graded
    if (percent == nullptr || !percent->is_null() || band == nullptr || !band->is_null())
      return field_error(where, "has no lung but a percentage or band");
    out.percent = std::numeric_limits<double>::quiet_NaN();
    out.severity_band = kNoSeverityBand;
    return out;
  }
  if (percent == nullptr || !percent->is_number()) return field_error(where + ".percent_involved", "must be a number");
  if (band == nullptr || !band->is_number_integer()) return field_error(where + ".severity_band", "must be 0..4");
  out.percent = percent->get<double>();
  out.severity_band = band->get<int>();
  return out;
}

Expected<std::vector<ClassArea>> classes_at(const json& r, int num_classes) {
  const json* classes = json_field(r, "classes");
  if (classes == nullptr || !classes->is_array() || classes->size() != static_cast<std::size_t>(num_classes))
    return field_error("classes", "must list the model's " + std::to_string(num_classes) + " classes");
  std::vector<ClassArea> out;
  for (std::size_t c = 0; c < classes->size(); ++c) {
    const std::string where = "classes[" + std::to_string(c) + "]";
    const json& entry = (*classes)[c];
    const json* name = json_field(entry, "name");
    if (name == nullptr || !name->is_string()) return field_error(where + ".name", "must be a string");
    auto px = count_at(entry, "px", where);
    if (!px) return px.error();
    const json* mm2 = json_field(entry, "mm2");
    if (mm2 == nullptr || !(mm2->is_number() || mm2->is_null()))
      return field_error(where + ".mm2", "must be a number or null");
    ClassArea a;
    a.px = *px;
    a.mm2_known = mm2->is_number();
    a.mm2 = a.mm2_known ? mm2->get<double>() : 0.0;
    out.push_back(a);
  }
  return out;
}

float probability(const json& v) {
  return v.is_number() ? v.get<float>() : std::numeric_limits<float>::quiet_NaN();
}

Expected<std::vector<float>> infected_at(const json& r, bool is_volume, int slices) {
  const char* key = is_volume ? "infected_probability_per_slice" : "infected_probability";
  const json* v = json_field(r, key);
  std::vector<float> out;
  if (!is_volume) {
    if (v == nullptr || !(v->is_number() || v->is_null())) return field_error(key, "must be a number or null");
    out.push_back(probability(*v));
    return out;
  }
  if (v == nullptr || !v->is_array() || v->size() != static_cast<std::size_t>(slices))
    return field_error(key, "must list the volume's " + std::to_string(slices) + " slices");
  for (const json& p : *v) {
    if (!(p.is_number() || p.is_null())) return field_error(key, "must hold numbers or null");
    out.push_back(probability(p));
  }
  return out;
}

Expected<std::vector<std::uint64_t>> lesion_px_at(const json& r, int slices) {
  const json* v = json_field(r, "lesion_px_per_slice");
  if (v == nullptr || !v->is_array() || v->size() != static_cast<std::size_t>(slices))
    return field_error("lesion_px_per_slice", "must list the volume's " + std::to_string(slices) + " slices");
  std::vector<std::uint64_t> out;
  for (const json& p : *v) {
    if (!p.is_number_unsigned()) return field_error("lesion_px_per_slice", "must hold pixel counts");
    out.push_back(p.get<std::uint64_t>());
  }
  return out;
}

Expected<SeverityReport> severity_at(const json& r, int num_classes) {
  SeverityReport s;
  auto classes = classes_at(r, num_classes);
  if (!classes) return classes.error();
  s.classes = std::move(classes).value();
  const json* lungs = json_field(r, "lungs");
  if (lungs == nullptr || !lungs->is_object()) return field_error("lungs", "is missing");
  auto right = lung_at(*lungs, "right");
  auto left = lung_at(*lungs, "left");
  auto total = lung_at(*lungs, "total");
  for (const auto* l : {&right, &left, &total})
    if (!*l) return l->error();
  s.right = *right;
  s.left = *left;
  s.total = *total;
  auto without_lung = count_at(*lungs, "lesion_px_without_lung", "lungs");
  if (!without_lung) return without_lung.error();
  s.lesion_px_without_lung = *without_lung;
  return s;
}

}  // namespace

Expected<ReportInput> read_report(const json& r, bool is_volume, int slices, int num_classes) {
  if (!r.is_object()) return make_error("report: not a JSON object");
  const json* kind = json_field(r, "kind");
  const char* expected_kind = is_volume ? "volume" : "slice";
  if (kind == nullptr || !kind->is_string() || kind->get<std::string>() != expected_kind)
    return field_error("kind", std::string("must be \"") + expected_kind + "\" for the open image");
  ReportInput in;
  in.is_volume = is_volume;
  in.nz = is_volume ? slices : 1;
  auto severity = severity_at(r, num_classes);
  if (!severity) return severity.error();
  in.severity = std::move(severity).value();
  auto infected = infected_at(r, is_volume, slices);
  if (!infected) return infected.error();
  in.infected_probability = std::move(infected).value();
  if (is_volume) {
    auto lesion = lesion_px_at(r, slices);
    if (!lesion) return lesion.error();
    in.lesion_px = std::move(lesion).value();
  }
  return in;
}

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
