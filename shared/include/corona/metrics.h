// corona/metrics.h: segmentation and classification metrics as MONAI has them (pure functions on
// {tp, fp, tn, fn} plus add/aggregate/reset accumulators), the Rand index and Inf-Net's meanDice.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "corona/image.h"

namespace corona {

// ---------------------------------------------------------------------------------------------
// Confusion counts and the metrics derived from them (docs/metrics.md defines each one).
// ---------------------------------------------------------------------------------------------

// Pixel (or sample) counts for one class. 64-bit everywhere: size_t is 32-bit in wasm32.
struct ConfusionCounts {
  std::uint64_t tp = 0;
  std::uint64_t fp = 0;
  std::uint64_t tn = 0;
  std::uint64_t fn = 0;

  ConfusionCounts& operator+=(const ConfusionCounts& other);
  std::uint64_t total() const { return tp + fp + tn + fn; }
};
bool operator==(const ConfusionCounts& a, const ConfusionCounts& b);
inline bool operator!=(const ConfusionCounts& a, const ConfusionCounts& b) { return !(a == b); }

// What a ratio returns when its denominator is zero (e.g. Dice with an empty reference and an
// empty prediction). Never a silent 0/0.
enum class EmptyPolicy {
  kNaN,             // undefined: NaN, and means over classes/cases skip it (MONAI's ignore_empty)
  kOneIfBothEmpty,  // 1 if prediction and reference agree on every counted pixel (fp == fn == 0), else 0
};

// Each returns NaN / 1 / 0 per `empty` only when its own denominator is zero.
double dice(const ConfusionCounts& c, EmptyPolicy empty = EmptyPolicy::kNaN);         // 2tp/(2tp+fp+fn), = F1
double iou(const ConfusionCounts& c, EmptyPolicy empty = EmptyPolicy::kNaN);          // tp/(tp+fp+fn), Jaccard
double sensitivity(const ConfusionCounts& c, EmptyPolicy empty = EmptyPolicy::kNaN);  // tp/(tp+fn), recall
double specificity(const ConfusionCounts& c, EmptyPolicy empty = EmptyPolicy::kNaN);  // tn/(tn+fp)
double precision(const ConfusionCounts& c, EmptyPolicy empty = EmptyPolicy::kNaN);    // tp/(tp+fp)
double accuracy(const ConfusionCounts& c, EmptyPolicy empty = EmptyPolicy::kNaN);     // (tp+tn)/total
inline double f1(const ConfusionCounts& c, EmptyPolicy empty = EmptyPolicy::kNaN) { return dice(c, empty); }

// The five segmentation figures of one class; NaN where undefined under kNaN.
struct MetricValues {
  double dice = 0.0;
  double iou = 0.0;
  double sensitivity = 0.0;
  double specificity = 0.0;
  double precision = 0.0;
};
MetricValues metric_values(const ConfusionCounts& c, EmptyPolicy empty = EmptyPolicy::kNaN);

// Field-wise mean that SKIPS NaN (an undefined class or case does not count as 0 or 1); a field
// that is NaN everywhere stays NaN. Summed in the given order, in double.
MetricValues nan_mean(const std::vector<MetricValues>& values);
double nan_mean(const std::vector<double>& values);

// ---------------------------------------------------------------------------------------------
// Segmentation: label map vs reference.
// ---------------------------------------------------------------------------------------------

// Counts of (pred == cls) vs (ref == cls). Pixels where ref == kIgnoreLabel are skipped. A
// prediction of kIgnoreLabel is not a class: it never matches, so it is an fn where ref == cls
// and a tn elsewhere. Sizes must match (width and height for maps; null with n > 0 is an error).
Expected<ConfusionCounts> confusion_counts(const LabelMap& pred, const LabelMap& ref, std::uint8_t cls);
Expected<ConfusionCounts> confusion_counts(const std::uint8_t* pred, const std::uint8_t* ref,
                                           std::uint64_t n, std::uint8_t cls);

// Counts of a probability map binarised at `threshold` (p >= threshold is positive, as MONAI's
// AsDiscrete) vs (ref == positive_label); ref == kIgnoreLabel skipped; NaN probability is an error.
Expected<ConfusionCounts> binary_confusion_counts(const float* prob, const std::uint8_t* ref, std::uint64_t n,
                                                  double threshold, std::uint8_t positive_label = 1);
// The plain binary Dice at 0.5 (or another threshold).
Expected<double> binary_dice(const ImageF& prob, const LabelMap& ref, double threshold = 0.5,
                             EmptyPolicy empty = EmptyPolicy::kNaN, std::uint8_t positive_label = 1);

struct ClassMetrics {
  std::uint8_t label = 0;
  ConfusionCounts counts;
  MetricValues values;
};

// Everything about one image: per class (in the caller's order), their NaN-skipping mean, and
// the Rand index of the whole label maps.
struct SegmentationMetrics {
  std::vector<ClassMetrics> per_class;
  MetricValues mean;  // over classes, NaN skipped
  double rand_index = 0.0;
  double rand_error = 0.0;  // 1 - rand_index, computed from disagreeing pairs (no cancellation)
};

struct SegmentationOptions {
  std::vector<std::uint8_t> classes{1};  // e.g. {1} binary, {1, 2, 3} GGO / consolidation / effusion
  EmptyPolicy empty = EmptyPolicy::kNaN;
};

Expected<SegmentationMetrics> segmentation_metrics(const LabelMap& pred, const LabelMap& ref,
                                                   const SegmentationOptions& options = {});
Expected<SegmentationMetrics> segmentation_metrics(const std::uint8_t* pred, const std::uint8_t* ref,
                                                   std::uint64_t n, const SegmentationOptions& options = {});

// ---------------------------------------------------------------------------------------------
// Rand index, from the contingency table: O(N + K^2), exact integer pair counts.
// ---------------------------------------------------------------------------------------------

// counts[p * 256 + r] = number of pixels with pred == p and ref == r; ref == kIgnoreLabel skipped
// (pred == 255 is an ordinary cluster here).
struct ContingencyTable {
  std::vector<std::uint64_t> counts = std::vector<std::uint64_t>(256 * 256, 0);
  std::uint64_t total = 0;
};
Expected<ContingencyTable> contingency_table(const std::uint8_t* pred, const std::uint8_t* ref, std::uint64_t n);
Expected<ContingencyTable> contingency_table(const LabelMap& pred, const LabelMap& ref);

// Pairs of counted pixels: all, and those the two maps disagree on (together in one, apart in the
// other). Exact while n(n-1)/2 fits in 64 bits (n < 6e9).
struct RandPairs {
  std::uint64_t pairs = 0;
  std::uint64_t disagreeing = 0;
};
RandPairs rand_pairs(const ContingencyTable& table);
// With fewer than 2 counted pixels there are no pairs: NaN under kNaN, 1 under kOneIfBothEmpty
// (scikit-learn's rand_score returns 1 there).
double rand_index(const ContingencyTable& table, EmptyPolicy empty = EmptyPolicy::kNaN);
double rand_error(const ContingencyTable& table, EmptyPolicy empty = EmptyPolicy::kNaN);
Expected<double> rand_index(const LabelMap& pred, const LabelMap& ref, EmptyPolicy empty = EmptyPolicy::kNaN);

// ---------------------------------------------------------------------------------------------
// Segmentation accumulator: one add() per image, per-case metrics kept for metric_per_case.
// ---------------------------------------------------------------------------------------------

struct ClassSummary {
  std::uint8_t label = 0;
  MetricValues mean;              // mean over cases, NaN skipped (nnU-Net's per-class "mean")
  std::uint64_t cases_with_dice = 0;  // cases whose Dice was defined (counted in mean.dice)
  ConfusionCounts pooled_counts;  // summed over cases
  MetricValues pooled;            // from pooled_counts
};

struct SegmentationSummary {
  std::uint64_t num_cases = 0;
  std::vector<ClassSummary> per_class;
  MetricValues mean;          // over classes of per_class[i].mean, NaN skipped (macro)
  MetricValues micro;         // from counts summed over cases AND classes
  double mean_rand_index = 0.0;  // over cases, NaN skipped
  double mean_rand_error = 0.0;  // over cases of each case's rand_error, NaN skipped
};

class SegmentationAccumulator {
 public:
  explicit SegmentationAccumulator(SegmentationOptions options = {});
  // Returns the number of cases held after this one (its index + 1), or why it was rejected.
  Expected<std::uint64_t> add(const LabelMap& pred, const LabelMap& ref);
  Expected<std::uint64_t> add(const std::uint8_t* pred, const std::uint8_t* ref, std::uint64_t n);
  SegmentationSummary aggregate() const;
  const std::vector<SegmentationMetrics>& cases() const { return cases_; }
  void reset() { cases_.clear(); }

 private:
  SegmentationOptions options_;
  std::vector<SegmentationMetrics> cases_;
};

// ---------------------------------------------------------------------------------------------
// Inf-Net's evaluation protocol (EvaluationTool/main.m + Fmeasure_calu.m, DengPingFan/Inf-Net).
// ---------------------------------------------------------------------------------------------

constexpr int kInfNetThresholdCount = 256;
using InfNetCurve = std::array<double, kInfNetThresholdCount>;

struct InfNetOptions {
  // Emulate the 8-bit PNG MyTest_LungInf.py writes between the network and the MATLAB tool
  // (levels round(255 * normalised)); false thresholds the normalised floats directly.
  bool quantize_u8 = true;
  std::uint8_t positive_label = 1;  // reference pixels == this are infection; 255 skipped
};

// `Thresholds = 1:-1/255:0` exactly as MATLAB's colon operator builds it (doubles; index 0 = 1.0).
const InfNetCurve& infnet_thresholds();

// Per threshold t (index j): pixels with normalised value >= t are positive; Dice, sensitivity and
// specificity as Fmeasure_calu.m has them (all three 0 when tp == 0, even if both are empty).
struct InfNetResult {
  InfNetCurve dice{};
  InfNetCurve sensitivity{};
  InfNetCurve specificity{};
  double mean_dice = 0.0;  // meanDic: mean over the 256 thresholds
  double max_dice = 0.0;   // maxDic
  double mean_sensitivity = 0.0;
  double mean_specificity = 0.0;
  std::uint64_t num_cases = 1;
};

Expected<InfNetResult> infnet_evaluate(const ImageF& prob, const LabelMap& ref, const InfNetOptions& options = {});
Expected<InfNetResult> infnet_evaluate(const float* prob, const std::uint8_t* ref, std::uint64_t n,
                                       const InfNetOptions& options = {});

// Several images as main.m averages them: per threshold mean over images, then mean/max over thresholds.
class InfNetAccumulator {
 public:
  explicit InfNetAccumulator(InfNetOptions options = {}) : options_(options) {}
  Expected<std::uint64_t> add(const ImageF& prob, const LabelMap& ref);
  Expected<std::uint64_t> add(const float* prob, const std::uint8_t* ref, std::uint64_t n);
  InfNetResult aggregate() const;  // num_cases == 0: curves and means are NaN
  const std::vector<InfNetResult>& cases() const { return cases_; }
  void reset() { cases_.clear(); }

 private:
  InfNetOptions options_;
  std::vector<InfNetResult> cases_;
};

// ---------------------------------------------------------------------------------------------
// Slice classification: probability of "infected" vs label 0/1 (255 = unknown, skipped).
// ---------------------------------------------------------------------------------------------

// Area under the ROC curve by ranks (Mann-Whitney U, average ranks for ties), equal to
// scikit-learn's roc_auc_score. NaN when either class is absent (undefined). Error on a NaN
// probability or a label other than 0, 1, 255, or a null buffer.
Expected<double> roc_auc(const float* prob, const std::uint8_t* labels, std::uint64_t n);
Expected<double> roc_auc(const std::vector<float>& prob, const std::vector<std::uint8_t>& labels);

// The 2x2 confusion matrix at `threshold` (p >= threshold predicts 1); same input rules.
Expected<ConfusionCounts> classification_confusion(const float* prob, const std::uint8_t* labels,
                                                   std::uint64_t n, double threshold);

struct ClassificationMetrics {
  ConfusionCounts confusion;  // sklearn's confusion_matrix is [[tn, fp], [fn, tp]]
  double threshold = 0.5;
  double accuracy = 0.0;
  double precision = 0.0;
  double recall = 0.0;  // sensitivity
  double specificity = 0.0;
  double f1 = 0.0;
  double roc_auc = 0.0;  // threshold-free; NaN when one class is absent
};

Expected<ClassificationMetrics> classification_metrics(const float* prob, const std::uint8_t* labels,
                                                       std::uint64_t n, double threshold = 0.5,
                                                       EmptyPolicy empty = EmptyPolicy::kNaN);

class ClassificationAccumulator {
 public:
  explicit ClassificationAccumulator(EmptyPolicy empty = EmptyPolicy::kNaN) : empty_(empty) {}
  // Returns the number of samples held (label 255 is accepted and skipped, not held).
  Expected<std::uint64_t> add(float probability, std::uint8_t label);
  ClassificationMetrics aggregate(double threshold = 0.5) const;
  std::uint64_t size() const { return static_cast<std::uint64_t>(labels_.size()); }
  void reset();

 private:
  EmptyPolicy empty_;
  std::vector<float> prob_;
  std::vector<std::uint8_t> labels_;
};

}  // namespace corona
