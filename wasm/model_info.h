// wasm/model_info.h: what the viewer knows about the model it runs: the folder's plans.json
// (input size, normalisation, HU window, labels and colours), its card metrics (metrics.json) and
// training curves (training_log.jsonl). Parsed here once; the page only fetches the files.
#pragma once

#include <string>
#include <vector>

#include "corona/image.h"
#include "corona/overlay.h"
#include "corona/preprocess.h"

namespace corona::viewer {

struct LabelInfo {
  int value = 0;
  std::string name;          // "ggo"
  std::string display_name;  // "Ground-glass opacity"
  Rgba colour;
};

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
  std::string name;
  std::string version;
  std::string task;          // "multiclass" or "binary"
  int input_size = 0;
  float mean = 0.5f;
  float std = 0.25f;
  float input_max = 255.0f;
  IntensityWindow hu_window = kLungWindow;
  int num_classes = 0;
  bool classification_head = false;
  std::vector<LabelInfo> labels;       // index = label value
  std::vector<CardMetric> card;        // empty without metrics.json
  std::vector<Curve> curves;           // empty without training_log.jsonl
  int best_epoch = 0;

  std::vector<LabelStyle> styles() const;  // plans' colours, lesions visible
  std::string label_name(int value) const;
};

// plans.json is required (format corona-net-plans v1); metrics and log may be empty strings.
// Errors name the file and the field.
Expected<ModelInfo> parse_model_info(const std::string& plans_json, const std::string& metrics_json,
                                     const std::string& training_log_jsonl);

}  // namespace corona::viewer
