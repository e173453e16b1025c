// corona_native/evaluate.h: a model's figures on one split of the data folder, as the summary that
// `coronanet evaluate` writes (summary.json: metric_per_case, mean, Inf-Net's protocol, and the
// classification head on UCSD COVID-CT), every figure from the core's metric accumulators.
#pragma once

#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "corona/image.h"
#include "corona_native/inference.h"

namespace corona::native {

struct EvaluateOptions {
  std::string model_path;  // a model folder or a checkpoint (Predictor::load)
  std::string data_dir;    // with medseg100/ (and ucsd_covid_ct_cropped/ when ucsd)
  std::string split;       // "val" or "test" (reporting only); "train" to check fitting
  bool ucsd = false;       // also the classification head on the UCSD split of the same name
  std::set<int> excluded;  // MedSeg slice indices (0-based) left out
  PredictorOptions predictor;
};

struct Evaluation {
  // Per MedSeg slice (metric_per_case): binary lesion Dice, IoU, sensitivity, specificity, Rand
  // error at 0.5 of the lesion probability, Inf-Net's meanDice; per class for 4-class models; the
  // infected probability. "mean" over cases skips undefined (null) values, "cases_counted" says
  // how many each has. Also the model, device, threads, "seconds" and, with ucsd, "classification".
  nlohmann::json summary;
  std::vector<std::string> notes;  // for whoever runs it (e.g. excluded slices not in the split)
};

// Loads the model, predicts every slice of the split and scores it. Errors name the slice or image.
Expected<Evaluation> evaluate_model(const EvaluateOptions& options);

}  // namespace corona::native
