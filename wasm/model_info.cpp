#include "model_info.h"

#include <cmath>
#include <limits>
#include <sstream>

#include <nlohmann/json.hpp>

namespace corona::viewer {
namespace {

using nlohmann::json;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double number_at(const json& j, std::initializer_list<const char*> path) {
  const json* p = &j;
  for (const char* key : path) {
    if (!p->is_object() || !p->contains(key)) return kNaN;
    p = &(*p)[key];
  }
  return p->is_number() ? p->get<double>() : kNaN;
}

Expected<bool> parse_plans(const json& p, ModelInfo& m) {
  if (p.value("format", "") != "corona-net-plans" || p.value("format_version", 0) != 1)
    return make_error("plans.json: not a corona-net-plans format_version 1 file");
  m.name = p.value("name", "model");
  m.version = p.value("version", "?");
  m.task = p.value("task", "multiclass");
  const json& in = p.at("input");
  const json& size = in.at("size");
  if (!size.is_array() || size.size() != 2 || size[0] != size[1])
    return make_error("plans.json: input.size must be [n, n]");
  m.input_size = size[0].get<int>();
  const json& norm = in.at("normalisation");
  m.mean = norm.at("mean").get<float>();
  m.std = norm.at("std").get<float>();
  m.input_max = norm.value("max", 255.0f);
  m.hu_window = IntensityWindow{in.at("hu_window").at("center").get<float>(), in.at("hu_window").at("width").get<float>()};
  m.num_classes = p.at("model").at("num_classes").get<int>();
  m.classification_head = p.at("model").value("classification_head", false);
  if (m.input_size <= 0 || m.input_size > 2048 || m.num_classes < 2 || m.num_classes > 16 || !(m.std > 0))
    return make_error("plans.json: input size, class count or std out of range");
  m.labels.assign(static_cast<std::size_t>(m.num_classes), LabelInfo{});
  for (const json& l : p.at("labels")) {
    const int v = l.at("value").get<int>();
    if (v < 0 || v >= m.num_classes) return make_error("plans.json: label value " + std::to_string(v) + " out of range");
    LabelInfo& li = m.labels[static_cast<std::size_t>(v)];
    li.value = v;
    li.name = l.value("name", "class" + std::to_string(v));
    li.display_name = l.value("display_name", li.name);
    const json& c = l.at("colour");
    li.colour = Rgba{c.at(0).get<std::uint8_t>(), c.at(1).get<std::uint8_t>(), c.at(2).get<std::uint8_t>(), 255};
  }
  const double best_epoch = number_at(p, {"training", "best_epoch"});
  m.best_epoch = best_epoch > 0 ? static_cast<int>(best_epoch) : 0;
  return true;
}

void parse_metrics(const json& j, ModelInfo& m) {
  struct Row { const char* name; const char* section; const char* key; double target; };
  const Row rows[] = {
      {"Lesion Dice", "mean", "dice", 0.78},
      {"Inf-Net mean Dice", "infnet", "mean_dice", 0.74},
      {"GGO Dice", "mean", "ggo_dice", 0.65},
      {"Consolidation Dice", "mean", "consolidation_dice", 0.50},
      {"Effusion Dice", "mean", "effusion_dice", kNaN},
      {"COVID F1 (UCSD)", "classification", "f1", 0.85},
      {"COVID AUC (UCSD)", "classification", "auc", 0.92},
  };
  for (const Row& r : rows) {
    m.card.push_back(CardMetric{r.name, number_at(j, {"val", r.section, r.key}),
                                number_at(j, {"test", r.section, r.key}), r.target});
  }
}

void parse_training_log(const std::string& text, ModelInfo& m) {
  const char* names[] = {"train_loss", "val_dice_lesion", "val_dice_mean_fg", "val_cls_auc"};
  m.curves.clear();
  for (const char* n : names) m.curves.push_back(Curve{n, {}});
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    const json row = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!row.is_object()) continue;  // a torn last line of a running log: skip it
    for (Curve& c : m.curves) {
      const double v = number_at(row, {c.name.c_str()});
      c.values.push_back(std::isfinite(v) ? static_cast<float>(v) : 0.0f);
    }
  }
}

}  // namespace

std::vector<LabelStyle> ModelInfo::styles() const {
  std::vector<LabelStyle> s;
  for (const LabelInfo& l : labels) s.push_back(LabelStyle{l.colour, l.value != 0});
  return s;
}

std::string ModelInfo::label_name(int value) const {
  return value >= 0 && value < static_cast<int>(labels.size()) ? labels[static_cast<std::size_t>(value)].name
                                                               : "class" + std::to_string(value);
}

Expected<ModelInfo> parse_model_info(const std::string& plans_json, const std::string& metrics_json,
                                     const std::string& training_log_jsonl) {
  ModelInfo m;
  try {
    const json plans = json::parse(plans_json);
    if (auto r = parse_plans(plans, m); !r) return r.error();
  } catch (const std::exception& e) {
    return make_error(std::string("plans.json: ") + e.what());
  }
  if (!metrics_json.empty()) {
    const json metrics = json::parse(metrics_json, nullptr, false);
    if (metrics.is_object()) parse_metrics(metrics, m);
  }
  parse_training_log(training_log_jsonl, m);
  return m;
}

}  // namespace corona::viewer
