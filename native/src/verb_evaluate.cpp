// `coronanet evaluate`: a checkpoint on one split of the data folder -> OUT/summary.json
// (metric_per_case, mean; classification with --ucsd), every figure from the core's metrics.
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "corona/file_io.h"
#include "corona/metrics.h"
#include "corona/postprocess.h"
#include "corona/preprocess.h"
#include "corona_native/cli_util.h"
#include "corona_native/dataset.h"
#include "corona_native/inference.h"
#include "corona_native/verbs.h"

namespace corona::native {
namespace {

namespace fs = std::filesystem;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

constexpr const char* kEvaluateUsage =
    "usage: coronanet evaluate --model DIR|CKPT --data DIR --split val|test [options]\n"
    "  --model DIR|CKPT        a model folder (models/corona-net) or a checkpoint written by coronanet\n"
    "                          train (best.pt / checkpoint.pt); --checkpoint is an alias\n"
    "  --data DIR              data folder with medseg100/ (and ucsd_covid_ct_cropped/ for --ucsd)\n"
    "  --split val|test        COVID-SemiSeg split of the MedSeg slices (and UCSD split with --ucsd)\n"
    "  --out DIR               output folder for summary.json (default for a checkpoint file: its\n"
    "                          folder/evaluate_SPLIT; required for a model folder)\n"
    "  --ucsd                  also evaluate the classification head on UCSD COVID-CT (same split name)\n"
    "  --exclude I,J,...       leave these MedSeg slice indices out (0-based). Inf-Net's released test\n"
    "                          set is the split file's test list without 22 and 48: --exclude 22,48\n"
    "  --threads N             CPU threads (default 0 = all cores)\n"
    "  --device auto|cpu|cuda  (default auto: CUDA when available)\n"
    "Per slice: binary Dice at 0.5 of lesion probability (1 - P(background)) vs lesion, Inf-Net\n"
    "meanDice (256 thresholds), IoU, sensitivity, specificity, Rand error; GGO / consolidation /\n"
    "effusion Dice, IoU, sensitivity, specificity for 4-class models. Label 255 is ignored.\n"
    "Test splits are for reporting only: never choose a model, an epoch or a threshold on them\n"
    "(use val).\n";

int usage_error(const std::string& message) { return native::usage_error("evaluate", message, kEvaluateUsage); }


std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// Per-case figures in a fixed key order (the order of "mean" too).
struct CaseRow {
  int index = 0;
  std::vector<std::pair<std::string, double>> values;
};

}  // namespace

int run_evaluate(int argc, char** argv) {
  std::string checkpoint, data, split, out_dir;
  bool ucsd = false;
  std::set<int> excluded;  // MedSeg slice indices left out (--exclude)
  PredictorOptions popt;
  for (int i = 0; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      std::fputs(kEvaluateUsage, stdout);
      return 0;
    }
    if (a == "--ucsd") { ucsd = true; continue; }
    if (a == "--exclude" && i + 1 < argc) {
      std::stringstream list(argv[++i]);
      for (std::string item; std::getline(list, item, ',');) {
        int index = 0;
        if (!parse_int(item, 0, 9999, index)) return usage_error("--exclude takes slice indices such as 22,48, got '" + item + "'");
        excluded.insert(index);
      }
      continue;
    }
    if (a.rfind("--", 0) != 0) return usage_error("unexpected argument '" + a + "'");
    if (i + 1 >= argc) return usage_error(a + " needs a value");
    const std::string v = argv[++i];
    if (a == "--model" || a == "--checkpoint") checkpoint = v;
    else if (a == "--data") data = v;
    else if (a == "--split") {
      if (v != "val" && v != "test" && v != "train") return usage_error("--split must be val or test (or train, to check fitting), got '" + v + "'");
      split = v;
    } else if (a == "--out") out_dir = v;
    else if (std::string err; parse_predictor_flag(a, v, popt, err)) {
      if (!err.empty()) return usage_error(err);
    } else {
      return usage_error("unknown option '" + a + "'");
    }
  }
  if (checkpoint.empty()) return usage_error("--model DIR|CKPT is required");
  if (data.empty()) return usage_error("--data DIR is required");
  if (split.empty()) return usage_error("--split val|test is required");
  if (out_dir.empty()) {
    std::error_code ec;
    if (fs::is_directory(checkpoint, ec)) return usage_error("--out DIR is required with a model folder (nothing is written into models/)");
    out_dir = (fs::path(checkpoint).parent_path() / ("evaluate_" + split)).string();
  }
  if (split == "test")
    std::fprintf(stderr, "coronanet evaluate: note: the test split is for reporting only, never for choosing\n");

  const auto t0 = std::chrono::steady_clock::now();
  auto predictor = Predictor::load(checkpoint, popt);
  if (!predictor) {
    std::fprintf(stderr, "coronanet evaluate: %s\n", predictor.error().message.c_str());
    return 1;
  }
  Predictor& pred = *predictor;
  const int num_classes = pred.num_classes();
  const bool four_class = num_classes == 4;

  auto cases = load_medseg_split(data, split);
  if (!cases) {
    std::fprintf(stderr, "coronanet evaluate: %s\n", cases.error().message.c_str());
    return 1;
  }
  const std::size_t listed = cases->size();
  cases->erase(std::remove_if(cases->begin(), cases->end(),
                              [&](const SegCase& c) { return excluded.count(c.index) > 0; }),
               cases->end());
  if (listed - cases->size() != excluded.size())
    std::fprintf(stderr, "coronanet evaluate: note: %zu of the %zu excluded slices are not in split %s\n",
                 excluded.size() - (listed - cases->size()), excluded.size(), split.c_str());

  InfNetAccumulator infnet_acc;
  std::vector<CaseRow> rows;
  nlohmann::json per_case = nlohmann::json::array();
  for (const SegCase& c : *cases) {
    auto p = pred.predict_slice(c.image);
    if (!p) {
      std::fprintf(stderr, "coronanet evaluate: slice %d: %s\n", c.index, p.error().message.c_str());
      return 1;
    }
    const LabelMap lesion_ref = lesion_labels(c.labels);
    CaseRow row;
    row.index = c.index;
    auto& v = row.values;
    // Binary lesion vs background: the lesion probability binarised at 0.5.
    auto bd = binary_dice(p->lesion_probability, lesion_ref, 0.5);
    auto counts = binary_confusion_counts(p->lesion_probability.pixels.data(), lesion_ref.pixels.data(),
                                          lesion_ref.pixels.size(), 0.5, 1);
    auto infnet = infnet_acc.add(p->lesion_probability, lesion_ref);
    const LabelMap lesion_pred = threshold(p->lesion_probability, 0.5f, 1);
    auto table = contingency_table(lesion_pred, lesion_ref);
    if (!bd || !counts || !infnet || !table) {
      std::fprintf(stderr, "coronanet evaluate: slice %d: metrics failed\n", c.index);
      return 1;
    }
    const MetricValues m = metric_values(*counts);
    v.emplace_back("dice", *bd);
    v.emplace_back("infnet_mean_dice", infnet_acc.cases().back().mean_dice);
    v.emplace_back("iou", m.iou);
    v.emplace_back("sensitivity", m.sensitivity);
    v.emplace_back("specificity", m.specificity);
    v.emplace_back("rand_error", rand_error(*table));
    if (four_class) {
      auto sm = segmentation_metrics(p->labels, c.labels, SegmentationOptions{{1, 2, 3}, EmptyPolicy::kNaN});
      if (!sm) {
        std::fprintf(stderr, "coronanet evaluate: slice %d: %s\n", c.index, sm.error().message.c_str());
        return 1;
      }
      for (int k = 0; k < 3; ++k) {
        const std::string name = class_name(4, k + 1);
        const MetricValues& cm = sm->per_class[static_cast<std::size_t>(k)].values;
        v.emplace_back(name + "_dice", cm.dice);
        v.emplace_back(name + "_iou", cm.iou);
        v.emplace_back(name + "_sensitivity", cm.sensitivity);
        v.emplace_back(name + "_specificity", cm.specificity);
      }
      v.emplace_back("rand_error_multiclass", sm->rand_error);
    }
    v.emplace_back("infected_probability", static_cast<double>(p->infected_probability));
    nlohmann::json j;
    j["index"] = c.index;
    for (const auto& [k, x] : v) j[k] = finite_or_null(x);
    per_case.push_back(j);
    rows.push_back(std::move(row));
  }

  // Means over cases, NaN skipped (an undefined case counts neither as 0 nor as 1), with counts.
  nlohmann::json mean = nlohmann::json::object();
  nlohmann::json counted = nlohmann::json::object();
  if (!rows.empty()) {
    for (std::size_t q = 0; q < rows.front().values.size(); ++q) {
      std::vector<double> xs;
      std::size_t n = 0;
      for (const CaseRow& r : rows) {
        xs.push_back(r.values[q].second);
        if (std::isfinite(r.values[q].second)) ++n;
      }
      mean[rows.front().values[q].first] = finite_or_null(nan_mean(xs));
      counted[rows.front().values[q].first] = n;
    }
  }
  const InfNetResult infnet_all = infnet_acc.aggregate();

  nlohmann::json summary;
  summary["checkpoint"] = checkpoint;
  summary["model_name"] = pred.plans().name;
  summary["model_version"] = pred.plans().version;
  summary["data"] = data;
  summary["split"] = split;
  summary["num_cases"] = rows.size();
  summary["excluded_slices"] = excluded;
  summary["time_utc"] = utc_now();
  summary["model"] = pred.meta().model.to_json();
  summary["task"] = pred.meta().task;
  summary["input_size"] = pred.meta().input_size;
  summary["epoch"] = pred.meta().epoch;
  summary["device"] = pred.device_name();
  summary["threads"] = pred.threads();
  summary["protocol"] =
      "per MedSeg slice; binary: lesion probability 1 - P(background) >= 0.5 vs reference classes 1-3 "
      "(255 ignored); per-class from the argmax labels; means skip undefined (null) values, "
      "'cases_counted' says how many cases each mean has";
  if (split == "test") summary["note"] = "test split: for reporting only, never for choosing a model";
  summary["metric_per_case"] = per_case;
  summary["mean"] = mean;
  summary["cases_counted"] = counted;
  summary["infnet"] = {{"mean_dice", finite_or_null(infnet_all.mean_dice)},
                       {"max_dice", finite_or_null(infnet_all.max_dice)},
                       {"mean_sensitivity", finite_or_null(infnet_all.mean_sensitivity)},
                       {"mean_specificity", finite_or_null(infnet_all.mean_specificity)},
                       {"protocol", "Inf-Net main.m: per threshold mean over slices, then mean/max over 256 thresholds"}};

  ClassificationMetrics cls{};
  std::size_t cls_n = 0;
  if (ucsd) {
    if (!pred.has_classification_head()) {
      std::fprintf(stderr, "coronanet evaluate: --ucsd: the model has no classification head\n");
      return 1;
    }
    auto images = load_ucsd_split(data, split);
    if (!images) {
      std::fprintf(stderr, "coronanet evaluate: %s\n", images.error().message.c_str());
      return 1;
    }
    ClassificationAccumulator acc;
    nlohmann::json per_image = nlohmann::json::array();
    const int s = pred.meta().input_size;
    for (const ClsCase& c : *images) {
      // Only the infected probability is needed: run at the network's size (no resize back).
      auto p = pred.predict_inputs({model_input_from_u8(c.image, s, pred.meta().input_mean, pred.meta().input_std)},
                                   s, s, 1);
      if (!p) {
        std::fprintf(stderr, "coronanet evaluate: %s: %s\n", c.name.c_str(), p.error().message.c_str());
        return 1;
      }
      const float prob = p->front().infected_probability;
      (void)acc.add(prob, static_cast<std::uint8_t>(c.label));
      per_image.push_back({{"name", c.name}, {"label", c.label}, {"infected_probability", finite_or_null(prob)}});
    }
    cls = acc.aggregate(0.5);
    cls_n = images->size();
    summary["classification"] = {
        {"split", split},
        {"num_images", cls_n},
        {"threshold", 0.5},
        {"accuracy", finite_or_null(cls.accuracy)},
        {"precision", finite_or_null(cls.precision)},
        {"recall", finite_or_null(cls.recall)},
        {"specificity", finite_or_null(cls.specificity)},
        {"f1", finite_or_null(cls.f1)},
        {"auc", finite_or_null(cls.roc_auc)},
        {"confusion_matrix", {{cls.confusion.tn, cls.confusion.fp}, {cls.confusion.fn, cls.confusion.tp}}},
        {"confusion_matrix_layout", "[[tn, fp], [fn, tp]], label 1 = COVID"},
        {"per_image", per_image}};
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  summary["seconds"] = seconds;

  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec) {
    std::fprintf(stderr, "coronanet evaluate: cannot create %s: %s\n", out_dir.c_str(), ec.message().c_str());
    return 1;
  }
  const std::string text = summary.dump(2) + "\n";
  const std::string path = (fs::path(out_dir) / "summary.json").string();
  auto w = write_file_bytes(path, std::vector<std::uint8_t>(text.begin(), text.end()));
  if (!w) {
    std::fprintf(stderr, "coronanet evaluate: %s\n", w.error().message.c_str());
    return 1;
  }

  auto show = [&](const char* key) {
    const auto it = mean.find(key);
    return it == mean.end() || it->is_null() ? std::string("n/a") : std::to_string(it->get<double>());
  };
  std::printf("coronanet evaluate: %s split, %zu slices, %.1f s on %s\n", split.c_str(), rows.size(), seconds,
              pred.device_name().c_str());
  std::printf("  lesion: Dice %s  Inf-Net meanDice %s  IoU %s  sens %s  spec %s  Rand error %s\n", show("dice").c_str(),
              show("infnet_mean_dice").c_str(), show("iou").c_str(), show("sensitivity").c_str(),
              show("specificity").c_str(), show("rand_error").c_str());
  if (four_class)
    std::printf("  Dice: GGO %s  consolidation %s  effusion %s\n", show("ggo_dice").c_str(),
                show("consolidation_dice").c_str(), show("effusion_dice").c_str());
  if (ucsd)
    std::printf("  UCSD %s (%zu images): accuracy %.4f  F1 %.4f  AUC %.4f\n", split.c_str(), cls_n, cls.accuracy,
                cls.f1, cls.roc_auc);
  std::printf("  written: %s\n", path.c_str());
  return 0;
}

}  // namespace corona::native
