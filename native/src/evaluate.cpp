// Evaluation of a model on a split: the Predictor's outputs scored by the core's accumulators
// (segmentation per case, Inf-Net's per-threshold protocol, classification), then the summary.
#include "corona_native/evaluate.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <utility>

#include "corona/metrics.h"
#include "corona/postprocess.h"
#include "corona/plans.h"
#include "corona/report.h"  // finite_or_null
#include "corona_native/dataset.h"

namespace corona::native {
namespace {

constexpr const char* kProtocol =
    "per MedSeg slice; binary: lesion probability 1 - P(background) >= 0.5 vs reference classes 1-3 "
    "(255 ignored); per-class from the argmax labels; means skip undefined (null) values, "
    "'cases_counted' says how many cases each mean has";
constexpr const char* kInfNetProtocol =
    "Inf-Net main.m: per threshold mean over slices, then mean/max over 256 thresholds";

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// One figure of metric_per_case: its value for each case, in case order.
struct Column {
  std::string name;
  std::vector<double> per_case;
};

// The MedSeg slices' scores: lesion vs background (the lesion probability binarised at 0.5, as
// binary_dice does), Inf-Net's curves of the same probability, and for 4-class models the
// argmax labels per class.
class SliceScores {
 public:
  explicit SliceScores(bool four_class) : four_class_(four_class) {}

  Expected<bool> add(const SlicePrediction& p, const SegCase& c) {
    const LabelMap lesion_ref = lesion_labels(c.labels);
    if (auto a = infnet_.add(p.lesion_probability, lesion_ref); !a) return a.error();
    if (auto a = lesion_.add(threshold(p.lesion_probability, 0.5f, 1), lesion_ref); !a) return a.error();
    if (four_class_) {
      if (auto a = classes_.add(p.labels, c.labels); !a) return a.error();
    }
    infected_.push_back(static_cast<double>(p.infected_probability));
    return true;
  }

  std::vector<Column> columns() const {
    std::vector<Column> cols;
    const auto& lesion = lesion_.cases();
    cols.push_back(column("dice", lesion, [](const SegmentationMetrics& m) { return m.per_class[0].values.dice; }));
    Column infnet{"infnet_mean_dice", {}};
    for (const InfNetResult& r : infnet_.cases()) infnet.per_case.push_back(r.mean_dice);
    cols.push_back(std::move(infnet));
    cols.push_back(column("iou", lesion, [](const SegmentationMetrics& m) { return m.per_class[0].values.iou; }));
    cols.push_back(column("sensitivity", lesion,
                          [](const SegmentationMetrics& m) { return m.per_class[0].values.sensitivity; }));
    cols.push_back(column("specificity", lesion,
                          [](const SegmentationMetrics& m) { return m.per_class[0].values.specificity; }));
    cols.push_back(column("rand_error", lesion, [](const SegmentationMetrics& m) { return m.rand_error; }));
    if (four_class_) {
      const auto& multi = classes_.cases();
      const std::vector<LabelInfo> labels = default_labels("multiclass");  // the masks' classes
      for (std::size_t k = 0; k < 3; ++k) {
        const std::string& name = labels[k + 1].name;
        cols.push_back(column(name + "_dice", multi, [k](const SegmentationMetrics& m) { return m.per_class[k].values.dice; }));
        cols.push_back(column(name + "_iou", multi, [k](const SegmentationMetrics& m) { return m.per_class[k].values.iou; }));
        cols.push_back(column(name + "_sensitivity", multi,
                              [k](const SegmentationMetrics& m) { return m.per_class[k].values.sensitivity; }));
        cols.push_back(column(name + "_specificity", multi,
                              [k](const SegmentationMetrics& m) { return m.per_class[k].values.specificity; }));
      }
      cols.push_back(column("rand_error_multiclass", multi, [](const SegmentationMetrics& m) { return m.rand_error; }));
    }
    cols.push_back(Column{"infected_probability", infected_});
    return cols;
  }

  InfNetResult infnet() const { return infnet_.aggregate(); }

 private:
  template <class F>
  static Column column(std::string name, const std::vector<SegmentationMetrics>& cases, F value) {
    Column c{std::move(name), {}};
    for (const SegmentationMetrics& m : cases) c.per_case.push_back(value(m));
    return c;
  }

  bool four_class_;
  InfNetAccumulator infnet_;
  SegmentationAccumulator lesion_{SegmentationOptions{{1}, EmptyPolicy::kNaN}};
  SegmentationAccumulator classes_{SegmentationOptions{{1, 2, 3}, EmptyPolicy::kNaN}};
  std::vector<double> infected_;
};

// metric_per_case, mean and cases_counted of the summary. An undefined value (NaN) counts in
// neither the mean nor cases_counted, so it is neither a 0 nor a 1.
void add_case_tables(nlohmann::json& summary, const std::vector<SegCase>& cases, const std::vector<Column>& cols) {
  nlohmann::json per_case = nlohmann::json::array();
  for (std::size_t i = 0; i < cases.size(); ++i) {
    nlohmann::json j;
    j["index"] = cases[i].index;
    for (const Column& col : cols) j[col.name] = finite_or_null(col.per_case[i]);
    per_case.push_back(j);
  }
  nlohmann::json mean = nlohmann::json::object();
  nlohmann::json counted = nlohmann::json::object();
  if (!cases.empty()) {
    for (const Column& col : cols) {
      mean[col.name] = finite_or_null(nan_mean(col.per_case));
      counted[col.name] = static_cast<std::size_t>(
          std::count_if(col.per_case.begin(), col.per_case.end(), [](double x) { return std::isfinite(x); }));
    }
  }
  summary["metric_per_case"] = per_case;
  summary["mean"] = mean;
  summary["cases_counted"] = counted;
}

nlohmann::json infnet_json(const InfNetResult& r) {
  return {{"mean_dice", finite_or_null(r.mean_dice)},
          {"max_dice", finite_or_null(r.max_dice)},
          {"mean_sensitivity", finite_or_null(r.mean_sensitivity)},
          {"mean_specificity", finite_or_null(r.mean_specificity)},
          {"protocol", kInfNetProtocol}};
}

// The MedSeg slices of the split without the excluded ones; a note when some excluded index is
// not in the split.
Expected<std::vector<SegCase>> split_cases(const EvaluateOptions& o, std::vector<std::string>& notes) {
  auto cases = load_medseg_split(o.data_dir, o.split);
  if (!cases) return cases.error();
  const std::size_t listed = cases->size();
  cases->erase(std::remove_if(cases->begin(), cases->end(),
                              [&](const SegCase& c) { return o.excluded.count(c.index) > 0; }),
               cases->end());
  const std::size_t left_out = listed - cases->size();
  if (left_out != o.excluded.size())
    notes.push_back(std::to_string(o.excluded.size() - left_out) + " of the " + std::to_string(o.excluded.size()) +
                    " excluded slices are not in split " + o.split);
  return cases;
}

// The classification head on the UCSD split: per image and at the 0.5 threshold.
Expected<nlohmann::json> classification_summary(Predictor& pred, const EvaluateOptions& o) {
  if (!pred.has_classification_head()) return make_error("UCSD classification: the model has no classification head");
  auto images = load_ucsd_split(o.data_dir, o.split);
  if (!images) return images.error();
  ClassificationAccumulator acc;
  nlohmann::json per_image = nlohmann::json::array();
  const InputSpec& spec = pred.plans().input;
  for (const ClsCase& c : *images) {
    // Only the infected probability is needed: run at the network's size (no resize back).
    auto p = pred.predict_inputs({model_input_from_u8(c.image, spec)}, spec.size, spec.size, 1);
    if (!p) return make_error(c.name + ": " + p.error().message);
    const float prob = p->front().infected_probability;
    (void)acc.add(prob, static_cast<std::uint8_t>(c.label));  // labels are 0/1 by construction
    per_image.push_back({{"name", c.name}, {"label", c.label}, {"infected_probability", finite_or_null(prob)}});
  }
  const ClassificationMetrics m = acc.aggregate(0.5);
  return nlohmann::json{{"split", o.split},
                        {"num_images", images->size()},
                        {"threshold", 0.5},
                        {"accuracy", finite_or_null(m.accuracy)},
                        {"precision", finite_or_null(m.precision)},
                        {"recall", finite_or_null(m.recall)},
                        {"specificity", finite_or_null(m.specificity)},
                        {"f1", finite_or_null(m.f1)},
                        {"auc", finite_or_null(m.roc_auc)},
                        {"confusion_matrix", {{m.confusion.tn, m.confusion.fp}, {m.confusion.fn, m.confusion.tp}}},
                        {"confusion_matrix_layout", "[[tn, fp], [fn, tp]], label 1 = COVID"},
                        {"per_image", per_image}};
}

// What the summary says about the run and the model, before any figure.
nlohmann::json run_header(const EvaluateOptions& o, const Predictor& pred, std::size_t num_cases) {
  nlohmann::json s;
  s["checkpoint"] = o.model_path;
  s["model_name"] = pred.plans().name;
  s["model_version"] = pred.plans().version;
  s["data"] = o.data_dir;
  s["split"] = o.split;
  s["num_cases"] = num_cases;
  s["excluded_slices"] = o.excluded;
  s["time_utc"] = utc_now();
  s["model"] = pred.meta().model.to_json();
  s["task"] = pred.meta().task;
  s["input_size"] = pred.plans().input.size;
  s["epoch"] = pred.meta().epoch;
  s["device"] = pred.device_name();
  s["threads"] = pred.threads();
  s["protocol"] = kProtocol;
  if (o.split == "test") s["note"] = "test split: for reporting only, never for choosing a model";
  return s;
}

}  // namespace

Expected<Evaluation> evaluate_model(const EvaluateOptions& options) {
  if (options.split != "val" && options.split != "test" && options.split != "train")
    return make_error("evaluate: split must be val, test or train, got \"" + options.split + "\"");
  const auto t0 = std::chrono::steady_clock::now();
  auto predictor = Predictor::load(options.model_path, options.predictor);
  if (!predictor) return predictor.error();
  Predictor& pred = *predictor;

  Evaluation result;
  auto cases = split_cases(options, result.notes);
  if (!cases) return cases.error();
  SliceScores scores(pred.num_classes() == 4);
  for (const SegCase& c : *cases) {
    auto p = pred.predict_slice(c.image);
    if (!p) return make_error("slice " + std::to_string(c.index) + ": " + p.error().message);
    if (auto a = scores.add(*p, c); !a) return make_error("slice " + std::to_string(c.index) + ": " + a.error().message);
  }

  nlohmann::json& summary = result.summary;
  summary = run_header(options, pred, cases->size());
  add_case_tables(summary, *cases, scores.columns());
  summary["infnet"] = infnet_json(scores.infnet());
  if (options.ucsd) {
    auto cls = classification_summary(pred, options);
    if (!cls) return cls.error();
    summary["classification"] = std::move(*cls);
  }
  summary["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return result;
}

}  // namespace corona::native
