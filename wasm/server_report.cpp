#include "server_report.h"

#include <cmath>
#include <limits>

namespace corona::viewer {
namespace {

using nlohmann::json;

Error field_error(const std::string& field, const std::string& what) {
  return make_error("server report: " + field + " " + what);
}

// j[key] when j is an object that has it, else nullptr (no exceptions: wasm builds abort on them).
const json* member(const json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  const auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

Expected<std::uint64_t> count_at(const json& j, const char* key, const std::string& where) {
  const json* v = member(j, key);
  if (v == nullptr || !v->is_number_unsigned()) return field_error(where + "." + key, "must be a pixel count");
  return v->get<std::uint64_t>();
}

Expected<LungInvolvement> lung_at(const json& lungs, const char* side) {
  const std::string where = std::string("lungs.") + side;
  const json* l = member(lungs, side);
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
  const json* found = member(*l, "lung_found");
  if (found == nullptr || !found->is_boolean()) return field_error(where + ".lung_found", "must be true or false");
  out.lung_found = found->get<bool>();
  const json* percent = member(*l, "percent_involved");
  const json* band = member(*l, "severity_band");
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
  const json* classes = member(r, "classes");
  if (classes == nullptr || !classes->is_array() || classes->size() != static_cast<std::size_t>(num_classes))
    return field_error("classes", "must list the model's " + std::to_string(num_classes) + " classes");
  std::vector<ClassArea> out;
  for (std::size_t c = 0; c < classes->size(); ++c) {
    const std::string where = "classes[" + std::to_string(c) + "]";
    const json& entry = (*classes)[c];
    const json* name = member(entry, "name");
    if (name == nullptr || !name->is_string()) return field_error(where + ".name", "must be a string");
    auto px = count_at(entry, "px", where);
    if (!px) return px.error();
    const json* mm2 = member(entry, "mm2");
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
  const json* v = member(r, key);
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

}  // namespace

Expected<ServerReport> read_server_report(const std::string& text, bool is_volume, int slices, int num_classes) {
  ServerReport out;
  out.json = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!out.json.is_object()) return make_error("server report: not a JSON object");
  const json* kind = member(out.json, "kind");
  const char* expected_kind = is_volume ? "volume" : "slice";
  if (kind == nullptr || !kind->is_string() || kind->get<std::string>() != expected_kind)
    return field_error("kind", std::string("must be \"") + expected_kind + "\" for the open image");
  auto classes = classes_at(out.json, num_classes);
  if (!classes) return classes.error();
  out.severity.classes = std::move(classes).value();
  const json* lungs = member(out.json, "lungs");
  if (lungs == nullptr) return field_error("lungs", "is missing");
  auto right = lung_at(*lungs, "right");
  auto left = lung_at(*lungs, "left");
  auto total = lung_at(*lungs, "total");
  for (const auto* r : {&right, &left, &total})
    if (!*r) return r->error();
  out.severity.right = *right;
  out.severity.left = *left;
  out.severity.total = *total;
  auto infected = infected_at(out.json, is_volume, slices);
  if (!infected) return infected.error();
  out.infected = std::move(infected).value();
  return out;
}

}  // namespace corona::viewer
