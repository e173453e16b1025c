// plans.cpp: the model contract (plans.h): ModelConfig, InputSpec and plans.json, parsed and
// validated in one place for every build.
#include "corona/plans.h"

#include <cmath>
#include <utility>

#include "corona/segmentation.h"
#include "json_read.h"

namespace corona {

// ---- ModelConfig ------------------------------------------------------------------------------

nlohmann::json ModelConfig::to_json() const {
  return nlohmann::json{{"architecture", architecture},   {"in_channels", in_channels},
                        {"base_channels", base_channels}, {"depth", depth},
                        {"num_classes", num_classes},     {"classification_head", classification_head}};
}

std::string ModelConfig::validate() const {
  if (architecture != "unet" && architecture != "resunet") {
    return "model.architecture: unknown \"" + architecture + "\" (expected \"unet\" or \"resunet\")";
  }
  if (in_channels < 1) return "model.in_channels: must be >= 1, got " + std::to_string(in_channels);
  if (base_channels < 1 || base_channels > 256) {
    return "model.base_channels: must be in 1..256, got " + std::to_string(base_channels);
  }
  if (depth < 1 || depth > 6) return "model.depth: must be in 1..6, got " + std::to_string(depth);
  if (num_classes < 2) {
    return "model.num_classes: must be >= 2 (background + at least one class), got " +
           std::to_string(num_classes);
  }
  return {};
}

bool ModelConfig::operator==(const ModelConfig& o) const {
  return architecture == o.architecture && in_channels == o.in_channels && base_channels == o.base_channels &&
         depth == o.depth && num_classes == o.num_classes && classification_head == o.classification_head;
}

namespace {

// Reads an integer field if present; an error names the field when it is not an integer that
// fits an int (1.5, "4", true and 1e12 are all rejected rather than silently converted).
std::string read_int(const nlohmann::json& j, const char* key, int& out) {
  auto it = j.find(key);
  if (it == j.end()) return {};
  if (!it->is_number_integer()) {
    return std::string("model.") + key + ": must be an integer, got " + it->dump();
  }
  const auto v = it->get<std::int64_t>();
  if (v < -(1LL << 30) || v > (1LL << 30)) {
    return std::string("model.") + key + ": out of range, got " + it->dump();
  }
  out = static_cast<int>(v);
  return {};
}

}  // namespace

Expected<ModelConfig> ModelConfig::from_json(const nlohmann::json& j) {
  if (!j.is_object()) return make_error("model: expected a JSON object, got " + std::string(j.type_name()));
  static const char* const kKnown[] = {"architecture", "in_channels", "base_channels",
                                       "depth",        "num_classes", "classification_head"};
  for (auto it = j.begin(); it != j.end(); ++it) {
    bool known = false;
    for (const char* k : kKnown) known = known || it.key() == k;
    // A typo ("base_channel") would otherwise silently train the default model.
    if (!known) return make_error("model." + it.key() + ": unknown field");
  }
  ModelConfig c;
  if (auto it = j.find("architecture"); it != j.end()) {
    if (!it->is_string()) return make_error("model.architecture: must be a string, got " + it->dump());
    c.architecture = it->get<std::string>();
  }
  for (auto [key, field] : {std::pair<const char*, int*>{"in_channels", &c.in_channels},
                            {"base_channels", &c.base_channels},
                            {"depth", &c.depth},
                            {"num_classes", &c.num_classes}}) {
    if (std::string e = read_int(j, key, *field); !e.empty()) return make_error(std::move(e));
  }
  if (auto it = j.find("classification_head"); it != j.end()) {
    if (!it->is_boolean()) {
      return make_error("model.classification_head: must be true or false, got " + it->dump());
    }
    c.classification_head = it->get<bool>();
  }
  if (std::string e = c.validate(); !e.empty()) return make_error(std::move(e));
  return c;
}

// ---- InputSpec --------------------------------------------------------------------------------

std::string InputSpec::validate(int depth) const {
  const int div = 1 << (depth > 0 && depth < 16 ? depth : 0);
  if (size <= 0 || size > kMaxInputSize || size % div != 0)
    return "input.size must be a positive multiple of 2^depth (at most " + std::to_string(kMaxInputSize) + ")";
  if (!std::isfinite(mean) || !std::isfinite(std) || !(std > 0.0f))
    return "input normalisation needs a finite mean and a positive std";
  if (!(max > 0.0f) || !std::isfinite(max)) return "input.max must be positive";
  if (!std::isfinite(hu_window.center) || !(hu_window.width > 0.0f) || !std::isfinite(hu_window.width))
    return "input.hu_window needs a finite center and a positive width";
  return "";
}

bool InputSpec::operator==(const InputSpec& o) const {
  return size == o.size && mean == o.mean && std == o.std && max == o.max &&
         hu_window.center == o.hu_window.center && hu_window.width == o.hu_window.width;
}

ImageF model_input_from_u8(const ImageU8& img, const InputSpec& spec) {
  return model_input_from_u8(img, spec.size, spec.mean, spec.std);
}

ImageF model_input_from_hu(const ImageF& hu, const InputSpec& spec) {
  return model_input_from_hu(hu, spec.hu_window, spec.size, spec.mean, spec.std);
}

// ---- labels -----------------------------------------------------------------------------------

namespace {

const char* display_name_of(const std::string& name) {
  if (name == "background") return "Background";
  if (name == "ggo") return "Ground-glass opacity";
  if (name == "consolidation") return "Consolidation";
  if (name == "effusion") return "Pleural effusion";
  if (name == "lesion") return "Lesion (any infection)";
  return "";
}

nlohmann::json label_json(const LabelInfo& l) {
  return {{"value", l.value}, {"name", l.name}, {"display_name", l.display_name},
          {"colour", {l.colour[0], l.colour[1], l.colour[2]}}};
}

// plans.json is read without exceptions (json_read.h): every field's presence and type is checked
// here and named in the error.

std::string mistyped(const std::string& path, const char* what) {
  return "missing or mistyped field " + path + " (expected " + what + ")";
}

std::string read_string(const nlohmann::json& j, const char* key, const std::string& path, std::string& out) {
  const nlohmann::json* f = json_field(j, key);
  if (f == nullptr || !f->is_string()) return mistyped(path + key, "a string");
  out = f->get<std::string>();
  return "";
}

std::string read_int(const nlohmann::json& j, const char* key, const std::string& path, int& out) {
  const nlohmann::json* f = json_field(j, key);
  if (f == nullptr || !f->is_number_integer()) return mistyped(path + key, "an integer");
  const auto v = f->get<std::int64_t>();
  if (v < -(1LL << 30) || v > (1LL << 30)) return path + key + " is out of range";
  out = static_cast<int>(v);
  return "";
}

std::string read_float(const nlohmann::json& j, const char* key, const std::string& path, float& out) {
  const nlohmann::json* f = json_field(j, key);
  if (f == nullptr || !f->is_number()) return mistyped(path + key, "a number");
  out = f->get<float>();
  return "";
}

std::string read_label(const nlohmann::json& j, const std::string& path, LabelInfo& l) {
  if (std::string e = read_int(j, "value", path, l.value); !e.empty()) return e;
  if (std::string e = read_string(j, "name", path, l.name); !e.empty()) return e;
  l.display_name = display_name_of(l.name);
  if (json_field(j, "display_name") != nullptr)
    if (std::string e = read_string(j, "display_name", path, l.display_name); !e.empty()) return e;
  const nlohmann::json* c = json_field(j, "colour");
  if (c == nullptr || !c->is_array() || c->size() != 3) return mistyped(path + "colour", "[r, g, b]");
  for (std::size_t i = 0; i < 3; ++i) {
    const nlohmann::json& v = (*c)[i];
    if (!v.is_number_integer() || v.get<std::int64_t>() < 0 || v.get<std::int64_t>() > 255)
      return path + "colour components must be integers 0..255";
    l.colour[i] = static_cast<std::uint8_t>(v.get<std::int64_t>());
  }
  return "";
}

std::string read_input(const nlohmann::json& j, InputSpec& in) {
  const nlohmann::json* input = json_field(j, "input");
  if (input == nullptr || !input->is_object()) return mistyped("input", "an object");
  const nlohmann::json* size = json_field(*input, "size");
  if (size == nullptr || !size->is_array() || size->size() != 2 || !(*size)[0].is_number_integer() ||
      (*size)[0] != (*size)[1])
    return "input.size must be [s, s]";
  const std::int64_t side = (*size)[0].get<std::int64_t>();
  in.size = side < 0 || side > kMaxInputSize ? -1 : static_cast<int>(side);  // validate() names it
  const nlohmann::json* norm = json_field(*input, "normalisation");
  if (norm == nullptr || !norm->is_object()) return mistyped("input.normalisation", "an object");
  for (auto [key, out] : {std::pair<const char*, float*>{"max", &in.max}, {"mean", &in.mean}, {"std", &in.std}})
    if (std::string e = read_float(*norm, key, "input.normalisation.", *out); !e.empty()) return e;
  const nlohmann::json* window = json_field(*input, "hu_window");
  if (window == nullptr || !window->is_object()) return mistyped("input.hu_window", "an object");
  if (std::string e = read_float(*window, "center", "input.hu_window.", in.hu_window.center); !e.empty()) return e;
  return read_float(*window, "width", "input.hu_window.", in.hu_window.width);
}

std::string read_plans(const nlohmann::json& j, ModelPlans& p) {
  const nlohmann::json* format = json_field(j, "format");
  if (format == nullptr || *format != "corona-net-plans") return "not a corona-net plans file";
  int fv = 0;
  if (std::string e = read_int(j, "format_version", "", fv); !e.empty()) return e;
  if (fv != ModelPlans::kFormatVersion)
    return "format_version " + std::to_string(fv) + " is not supported (this build reads " +
           std::to_string(ModelPlans::kFormatVersion) + ")";
  for (auto [key, out] : {std::pair<const char*, std::string*>{"name", &p.name}, {"version", &p.version},
                          {"task", &p.task}})
    if (std::string e = read_string(j, key, "", *out); !e.empty()) return e;
  const nlohmann::json* model = json_field(j, "model");
  if (model == nullptr) return mistyped("model", "an object");
  auto config = ModelConfig::from_json(*model);
  if (!config) return config.error().message;
  p.model = *config;
  if (std::string e = read_input(j, p.input); !e.empty()) return e;
  const nlohmann::json* labels = json_field(j, "labels");
  if (labels == nullptr || !labels->is_array()) return mistyped("labels", "an array");
  for (std::size_t i = 0; i < labels->size(); ++i) {
    LabelInfo l;
    if (std::string e = read_label((*labels)[i], "labels[" + std::to_string(i) + "].", l); !e.empty()) return e;
    p.labels.push_back(std::move(l));
  }
  const nlohmann::json* files = json_field(j, "files");
  if (files == nullptr || !files->is_object()) return mistyped("files", "an object");
  p.files = *files;
  for (auto [key, out] : {std::pair<const char*, nlohmann::json*>{"training", &p.training}, {"onnx", &p.onnx}}) {
    const nlohmann::json* f = json_field(j, key);
    if (f == nullptr) continue;  // optional
    if (!f->is_object()) return mistyped(key, "an object");
    *out = *f;
  }
  return p.validate();
}

}  // namespace

int task_num_classes(const std::string& task) {
  if (task == "multiclass") return 4;
  if (task == "binary") return 2;
  return 0;
}

std::vector<LabelInfo> default_labels(const std::string& task) {
  const std::vector<LabelStyle> styles = default_lesion_styles();  // index = label value
  auto colour_of = [&](std::size_t v) {
    if (v >= styles.size()) return std::array<std::uint8_t, 3>{255, 255, 0};
    return std::array<std::uint8_t, 3>{styles[v].colour.r, styles[v].colour.g, styles[v].colour.b};
  };
  std::vector<std::string> names;
  if (task == "binary") names = {"background", "lesion"};
  if (task == "multiclass") names = {"background", "ggo", "consolidation", "effusion"};
  std::vector<LabelInfo> out;
  for (std::size_t v = 0; v < names.size(); ++v) {
    // Binary lesion maps draw in the GGO colour (the most common lesion).
    out.push_back({static_cast<int>(v), names[v], display_name_of(names[v]),
                   v == 0 ? std::array<std::uint8_t, 3>{0, 0, 0} : colour_of(v)});
  }
  return out;
}

// ---- ModelPlans -------------------------------------------------------------------------------

std::string ModelPlans::validate() const {
  if (name.empty()) return "name is empty";
  if (task_num_classes(task) == 0) return "task must be multiclass or binary";
  if (const std::string m = model.validate(); !m.empty()) return "model: " + m;
  if (model.num_classes != task_num_classes(task)) return "model.num_classes does not match the task";
  if (const std::string m = input.validate(model.depth); !m.empty()) return m;
  if (static_cast<int>(labels.size()) != model.num_classes) return "labels must list every class";
  for (std::size_t i = 0; i < labels.size(); ++i)
    if (labels[i].value != static_cast<int>(i)) return "labels must be listed in value order 0, 1, ...";
  if (!files.is_object()) return "files must be an object (role -> file name)";
  for (const auto& [role, file] : files.items()) {
    // A plans file names files beside it, never elsewhere.
    if (!file.is_string()) return "files." + role + " must be a file name";
    const std::string f = file.get<std::string>();
    if (f.empty() || f.find('/') != std::string::npos || f.find('\\') != std::string::npos || f == "." || f == "..")
      return "files." + role + " must be a plain file name in the model folder";
  }
  return "";
}

nlohmann::json ModelPlans::to_json() const {
  nlohmann::json labels_json = nlohmann::json::array();
  for (const LabelInfo& l : labels) labels_json.push_back(label_json(l));
  return {{"format", "corona-net-plans"},
          {"format_version", kFormatVersion},
          {"name", name},
          {"version", version},
          {"task", task},
          {"model", model.to_json()},
          {"input",
           {{"size", {input.size, input.size}},
            {"channels", model.in_channels},
            {"layout", "NCHW"},
            {"dtype", "float32"},
            {"resize", "bilinear, half-pixel centres (corona::resize_bilinear)"},
            {"normalisation", {{"max", input.max}, {"mean", input.mean}, {"std", input.std},
                               {"formula", "x = (v / max - mean) / std"}}},
            {"hu_window", {{"center", input.hu_window.center}, {"width", input.hu_window.width},
                           {"lower", input.hu_window.lower()}, {"upper", input.hu_window.upper()}}},
            {"orientation", "radiological display: image left = patient right, anterior up"}}},
          {"outputs",
           {{"seg_logits", "float32 [N, num_classes, H, W]: softmax over classes, resize back, argmax"},
            {"cls_logit", "float32 [N, 1]: sigmoid = P(infected)"},
            {"cam", "float32 [N, 1, H/2^depth, W/2^depth]: ReLU, bilinear upsample, min-max = CAM"}}},
          {"labels", labels_json},
          {"files", files},
          {"onnx", onnx},
          {"training", training}};
}

Expected<ModelPlans> ModelPlans::from_json(const nlohmann::json& j) {
  ModelPlans p;
  if (const std::string e = read_plans(j, p); !e.empty()) return make_error("plans: " + e);
  return p;
}

Expected<ModelPlans> ModelPlans::from_text(const std::string& text) {
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return make_error("plans: not valid JSON");
  return from_json(j);
}

std::string ModelPlans::label_name(int value) const {
  return value >= 0 && value < static_cast<int>(labels.size()) ? labels[static_cast<std::size_t>(value)].name
                                                               : "class" + std::to_string(value);
}

std::vector<LabelStyle> ModelPlans::styles() const {
  std::vector<LabelStyle> s;
  for (const LabelInfo& l : labels) s.push_back(LabelStyle{Rgba{l.colour[0], l.colour[1], l.colour[2], 255}, l.value != 0});
  return s;
}

}  // namespace corona
