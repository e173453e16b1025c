// wasm/model_info.h: what the viewer knows about the model it runs: the folder's plans.json, read
// by the core (corona/plans.h, the one model contract), plus the viewer's own extras: the card's
// metrics (metrics.json) and the training curves (training_log.jsonl). The page only fetches them.
#pragma once

#include <string>
#include <vector>

#include "corona/image.h"
#include "corona/plans.h"

namespace corona::viewer {

// One row of the card: a metric on the validation and test splits (NaN where absent).
struct CardMetric {
  std::string name;
  double val = 0.0;
  double test = 0.0;
  double target = 0.0;  // the project's goal for it (NaN: none)
};

struct Curve {
  std::string name;
  std::vector<float> values;  // one per epoch, in file order
};

struct ModelInfo {
  ModelPlans plans;                // input spec, labels, network config: the core's
  std::vector<CardMetric> card;    // empty without metrics.json
  std::vector<Curve> curves;       // empty without training_log.jsonl
  int best_epoch = 0;              // plans' training.best_epoch (0: not recorded)

  // The label's name for people ("Ground-glass opacity"), or "class N" beyond the plans' table.
  std::string display_name(int value) const;
};

// plans.json is required and validated by ModelPlans::from_text (errors name plans.json and the
// field); metrics and log may be empty strings, and unreadable ones leave the card or curves empty.
Expected<ModelInfo> parse_model_info(const std::string& plans_json, const std::string& metrics_json,
                                     const std::string& training_log_jsonl);

}  // namespace corona::viewer
