#include "model_info.h"

#include <cmath>
#include <limits>
#include <sstream>

#include <nlohmann/json.hpp>

namespace corona::viewer {
namespace {

using nlohmann::json;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The number at a key path, or NaN: card files are optional and may be partial.
double number_at(const json& j, std::initializer_list<const char*> path) {
  const json* p = &j;
  for (const char* key : path) {
    if (!p->is_object() || !p->contains(key)) return kNaN;
    p = &(*p)[key];
  }
  return p->is_number() ? p->get<double>() : kNaN;
}

std::vector<CardMetric> card_from_metrics(const json& j) {
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
  std::vector<CardMetric> card;
  for (const Row& r : rows) {
    card.push_back(CardMetric{r.name, number_at(j, {"val", r.section, r.key}),
                              number_at(j, {"test", r.section, r.key}), r.target});
  }
  return card;
}

std::vector<Curve> curves_from_log(const std::string& text) {
  std::vector<Curve> curves;
  for (const char* n : {"train_loss", "val_dice_lesion", "val_dice_mean_fg", "val_cls_auc"}) curves.push_back(Curve{n, {}});
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    const json row = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!row.is_object()) continue;  // a torn last line of a running log: skip it
    for (Curve& c : curves) {
      const double v = number_at(row, {c.name.c_str()});
      c.values.push_back(std::isfinite(v) ? static_cast<float>(v) : 0.0f);
    }
  }
  return curves;
}

}  // namespace

std::string ModelInfo::display_name(int value) const {
  if (value >= 0 && value < static_cast<int>(plans.labels.size()))
    return plans.labels[static_cast<std::size_t>(value)].display_name;
  return "class " + std::to_string(value);
}

Expected<ModelInfo> parse_model_info(const std::string& plans_json, const std::string& metrics_json,
                                     const std::string& training_log_jsonl) {
  auto plans = ModelPlans::from_text(plans_json);
  if (!plans) return make_error("plans.json: " + plans.error().message);
  ModelInfo m;
  m.plans = std::move(plans).value();
  const double best_epoch = number_at(m.plans.training, {"best_epoch"});
  m.best_epoch = best_epoch > 0 ? static_cast<int>(best_epoch) : 0;
  if (!metrics_json.empty()) {
    const json metrics = json::parse(metrics_json, nullptr, /*allow_exceptions=*/false);
    if (metrics.is_object()) m.card = card_from_metrics(metrics);
  }
  m.curves = curves_from_log(training_log_jsonl);
  return m;
}

}  // namespace corona::viewer
