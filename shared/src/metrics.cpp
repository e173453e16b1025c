// Metrics: confusion counts, overlap ratios, Rand index, Inf-Net's meanDice, classification.
// Everything is summed in integers or in double in a fixed order so the native and the wasm
// builds give bit-identical results (no long double: 80-bit on x86, 128-bit in wasm).
#include "corona/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <utility>

namespace corona {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr std::size_t kLabels = 256;

double to_double(std::uint64_t v) { return static_cast<double>(v); }

// num/den, or the EmptyPolicy's answer when den == 0 ("both empty" = no fp and no fn).
double ratio(std::uint64_t num, std::uint64_t den, const ConfusionCounts& c, EmptyPolicy empty) {
  if (den != 0) return to_double(num) / to_double(den);
  if (empty == EmptyPolicy::kNaN) return kNaN;
  return (c.fp == 0 && c.fn == 0) ? 1.0 : 0.0;
}

std::string size_text(std::uint64_t n) { return std::to_string(n); }

// Shared input validation for the pointer APIs: null buffers with data are an error, not a crash.
bool bad_buffers(const void* a, const void* b, std::uint64_t n) { return n > 0 && (a == nullptr || b == nullptr); }

Expected<std::uint64_t> same_size(const LabelMap& pred, const LabelMap& ref, const char* what) {
  if (pred.width != ref.width || pred.height != ref.height || pred.size() != ref.size()) {
    return make_error(std::string(what) + ": prediction is " + std::to_string(pred.width) + "x" +
                      std::to_string(pred.height) + " but reference is " + std::to_string(ref.width) + "x" +
                      std::to_string(ref.height));
  }
  return static_cast<std::uint64_t>(pred.size());
}

Expected<std::uint64_t> same_size(const ImageF& prob, const LabelMap& ref, const char* what) {
  if (prob.width != ref.width || prob.height != ref.height || prob.size() != ref.size()) {
    return make_error(std::string(what) + ": probability map is " + std::to_string(prob.width) + "x" +
                      std::to_string(prob.height) + " but reference is " + std::to_string(ref.width) + "x" +
                      std::to_string(ref.height));
  }
  return static_cast<std::uint64_t>(prob.size());
}

// n choose 2 without forming n*(n-1), which overflows 64 bits long before the result does.
std::uint64_t choose2(std::uint64_t n) { return (n % 2 == 0) ? (n / 2) * (n - 1) : n * ((n - 1) / 2); }

// Counts of class `cls` read off a 256x256 contingency table (rows pred, columns ref).
ConfusionCounts counts_from_table(const ContingencyTable& t, std::uint8_t cls) {
  std::uint64_t pred_c = 0;
  std::uint64_t ref_c = 0;
  for (std::size_t k = 0; k < kLabels; ++k) {
    pred_c += t.counts[cls * kLabels + k];
    ref_c += t.counts[k * kLabels + cls];
  }
  ConfusionCounts c;
  c.tp = t.counts[static_cast<std::size_t>(cls) * kLabels + cls];
  c.fp = pred_c - c.tp;
  c.fn = ref_c - c.tp;
  c.tn = t.total - c.tp - c.fp - c.fn;
  return c;
}

// Classification labels: 0 / 1 counted, 255 skipped, anything else is a caller bug.
Expected<bool> check_sample(float p, std::uint8_t label, std::uint64_t index) {
  if (std::isnan(p)) return make_error("classification: probability " + size_text(index) + " is NaN");
  if (label != 0 && label != 1 && label != kIgnoreLabel) {
    return make_error("classification: label " + size_text(index) + " is " + std::to_string(label) +
                      " (expected 0, 1 or 255 = unknown)");
  }
  return label != kIgnoreLabel;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

ConfusionCounts& ConfusionCounts::operator+=(const ConfusionCounts& other) {
  tp += other.tp;
  fp += other.fp;
  tn += other.tn;
  fn += other.fn;
  return *this;
}

bool operator==(const ConfusionCounts& a, const ConfusionCounts& b) {
  return a.tp == b.tp && a.fp == b.fp && a.tn == b.tn && a.fn == b.fn;
}

double dice(const ConfusionCounts& c, EmptyPolicy empty) { return ratio(2 * c.tp, 2 * c.tp + c.fp + c.fn, c, empty); }
double iou(const ConfusionCounts& c, EmptyPolicy empty) { return ratio(c.tp, c.tp + c.fp + c.fn, c, empty); }
double sensitivity(const ConfusionCounts& c, EmptyPolicy empty) { return ratio(c.tp, c.tp + c.fn, c, empty); }
double specificity(const ConfusionCounts& c, EmptyPolicy empty) { return ratio(c.tn, c.tn + c.fp, c, empty); }
double precision(const ConfusionCounts& c, EmptyPolicy empty) { return ratio(c.tp, c.tp + c.fp, c, empty); }
double accuracy(const ConfusionCounts& c, EmptyPolicy empty) { return ratio(c.tp + c.tn, c.total(), c, empty); }

MetricValues metric_values(const ConfusionCounts& c, EmptyPolicy empty) {
  return MetricValues{dice(c, empty), iou(c, empty), sensitivity(c, empty), specificity(c, empty),
                      precision(c, empty)};
}

double nan_mean(const std::vector<double>& values) {
  double sum = 0.0;
  std::uint64_t n = 0;
  for (double v : values) {
    if (std::isnan(v)) continue;
    sum += v;
    ++n;
  }
  return n == 0 ? kNaN : sum / to_double(n);
}

MetricValues nan_mean(const std::vector<MetricValues>& values) {
  // One field at a time so every field is summed in the same (given) order.
  auto field = [&values](double MetricValues::*member) {
    std::vector<double> column;
    column.reserve(values.size());
    for (const MetricValues& v : values) column.push_back(v.*member);
    return nan_mean(column);
  };
  return MetricValues{field(&MetricValues::dice), field(&MetricValues::iou), field(&MetricValues::sensitivity),
                      field(&MetricValues::specificity), field(&MetricValues::precision)};
}

// ---------------------------------------------------------------------------------------------

Expected<ConfusionCounts> confusion_counts(const std::uint8_t* pred, const std::uint8_t* ref, std::uint64_t n,
                                           std::uint8_t cls) {
  if (bad_buffers(pred, ref, n)) return make_error("confusion_counts: null buffer for " + size_text(n) + " pixels");
  ConfusionCounts c;
  for (std::uint64_t i = 0; i < n; ++i) {
    if (ref[i] == kIgnoreLabel) continue;
    const bool p = pred[i] == cls;  // pred 255 is never == cls (cls 255 would match only ignored refs)
    const bool r = ref[i] == cls;
    if (p && r) ++c.tp;
    else if (p) ++c.fp;
    else if (r) ++c.fn;
    else ++c.tn;
  }
  return c;
}

Expected<ConfusionCounts> confusion_counts(const LabelMap& pred, const LabelMap& ref, std::uint8_t cls) {
  auto n = same_size(pred, ref, "confusion_counts");
  if (!n) return n.error();
  return confusion_counts(pred.pixels.data(), ref.pixels.data(), *n, cls);
}

Expected<ConfusionCounts> binary_confusion_counts(const float* prob, const std::uint8_t* ref, std::uint64_t n,
                                                  double threshold, std::uint8_t positive_label) {
  if (bad_buffers(prob, ref, n)) return make_error("binary_confusion_counts: null buffer for " + size_text(n) + " pixels");
  ConfusionCounts c;
  for (std::uint64_t i = 0; i < n; ++i) {
    if (ref[i] == kIgnoreLabel) continue;
    if (std::isnan(prob[i])) return make_error("binary_confusion_counts: probability " + size_text(i) + " is NaN");
    const bool p = static_cast<double>(prob[i]) >= threshold;
    const bool r = ref[i] == positive_label;
    if (p && r) ++c.tp;
    else if (p) ++c.fp;
    else if (r) ++c.fn;
    else ++c.tn;
  }
  return c;
}

Expected<double> binary_dice(const ImageF& prob, const LabelMap& ref, double threshold, EmptyPolicy empty,
                             std::uint8_t positive_label) {
  auto n = same_size(prob, ref, "binary_dice");
  if (!n) return n.error();
  auto c = binary_confusion_counts(prob.pixels.data(), ref.pixels.data(), *n, threshold, positive_label);
  if (!c) return c.error();
  return dice(*c, empty);
}

// ---------------------------------------------------------------------------------------------

Expected<ContingencyTable> contingency_table(const std::uint8_t* pred, const std::uint8_t* ref, std::uint64_t n) {
  if (bad_buffers(pred, ref, n)) return make_error("contingency_table: null buffer for " + size_text(n) + " pixels");
  ContingencyTable t;
  for (std::uint64_t i = 0; i < n; ++i) {
    if (ref[i] == kIgnoreLabel) continue;
    ++t.counts[static_cast<std::size_t>(pred[i]) * kLabels + ref[i]];
    ++t.total;
  }
  return t;
}

Expected<ContingencyTable> contingency_table(const LabelMap& pred, const LabelMap& ref) {
  auto n = same_size(pred, ref, "contingency_table");
  if (!n) return n.error();
  return contingency_table(pred.pixels.data(), ref.pixels.data(), *n);
}

RandPairs rand_pairs(const ContingencyTable& t) {
  // Pairs together in both = sum C(n_ij, 2); together in pred = sum C(a_i, 2); in ref = sum C(b_j, 2).
  // Disagreeing = (together in pred only) + (together in ref only); each term <= C(n, 2): no overflow.
  std::uint64_t same_both = 0;
  std::uint64_t same_pred = 0;
  std::uint64_t same_ref = 0;
  for (std::size_t i = 0; i < kLabels; ++i) {
    std::uint64_t row = 0;
    std::uint64_t col = 0;
    for (std::size_t j = 0; j < kLabels; ++j) {
      same_both += choose2(t.counts[i * kLabels + j]);
      row += t.counts[i * kLabels + j];
      col += t.counts[j * kLabels + i];
    }
    same_pred += choose2(row);
    same_ref += choose2(col);
  }
  return RandPairs{choose2(t.total), (same_pred - same_both) + (same_ref - same_both)};
}

double rand_index(const ContingencyTable& table, EmptyPolicy empty) {
  const RandPairs p = rand_pairs(table);
  if (p.pairs == 0) return empty == EmptyPolicy::kNaN ? kNaN : 1.0;
  return to_double(p.pairs - p.disagreeing) / to_double(p.pairs);
}

double rand_error(const ContingencyTable& table, EmptyPolicy empty) {
  const RandPairs p = rand_pairs(table);
  if (p.pairs == 0) return empty == EmptyPolicy::kNaN ? kNaN : 0.0;
  return to_double(p.disagreeing) / to_double(p.pairs);
}

Expected<double> rand_index(const LabelMap& pred, const LabelMap& ref, EmptyPolicy empty) {
  auto t = contingency_table(pred, ref);
  if (!t) return t.error();
  return rand_index(*t, empty);
}

// ---------------------------------------------------------------------------------------------

Expected<SegmentationMetrics> segmentation_metrics(const std::uint8_t* pred, const std::uint8_t* ref,
                                                   std::uint64_t n, const SegmentationOptions& options) {
  auto table = contingency_table(pred, ref, n);
  if (!table) return Error{"segmentation_metrics: " + table.error().message};
  SegmentationMetrics m;
  std::vector<MetricValues> values;
  for (std::uint8_t cls : options.classes) {
    const ConfusionCounts c = counts_from_table(*table, cls);
    m.per_class.push_back(ClassMetrics{cls, c, metric_values(c, options.empty)});
    values.push_back(m.per_class.back().values);
  }
  m.mean = nan_mean(values);
  m.rand_index = rand_index(*table, options.empty);
  m.rand_error = rand_error(*table, options.empty);
  return m;
}

Expected<SegmentationMetrics> segmentation_metrics(const LabelMap& pred, const LabelMap& ref,
                                                   const SegmentationOptions& options) {
  auto n = same_size(pred, ref, "segmentation_metrics");
  if (!n) return n.error();
  return segmentation_metrics(pred.pixels.data(), ref.pixels.data(), *n, options);
}

SegmentationAccumulator::SegmentationAccumulator(SegmentationOptions options) : options_(std::move(options)) {}

Expected<std::uint64_t> SegmentationAccumulator::add(const std::uint8_t* pred, const std::uint8_t* ref,
                                                     std::uint64_t n) {
  auto m = segmentation_metrics(pred, ref, n, options_);
  if (!m) return m.error();
  cases_.push_back(std::move(*m));
  return static_cast<std::uint64_t>(cases_.size());
}

Expected<std::uint64_t> SegmentationAccumulator::add(const LabelMap& pred, const LabelMap& ref) {
  auto n = same_size(pred, ref, "SegmentationAccumulator::add");
  if (!n) return n.error();
  return add(pred.pixels.data(), ref.pixels.data(), *n);
}

SegmentationSummary SegmentationAccumulator::aggregate() const {
  SegmentationSummary s;
  s.num_cases = static_cast<std::uint64_t>(cases_.size());
  ConfusionCounts all;
  std::vector<MetricValues> class_means;
  for (std::size_t k = 0; k < options_.classes.size(); ++k) {
    ClassSummary cs;
    cs.label = options_.classes[k];
    std::vector<MetricValues> per_case;
    for (const SegmentationMetrics& m : cases_) {
      const ClassMetrics& cm = m.per_class[k];
      per_case.push_back(cm.values);
      cs.pooled_counts += cm.counts;
      if (!std::isnan(cm.values.dice)) ++cs.cases_with_dice;
    }
    cs.mean = nan_mean(per_case);
    cs.pooled = metric_values(cs.pooled_counts, options_.empty);
    all += cs.pooled_counts;
    class_means.push_back(cs.mean);
    s.per_class.push_back(cs);
  }
  s.mean = nan_mean(class_means);
  s.micro = metric_values(all, options_.empty);
  std::vector<double> ri, re;
  for (const SegmentationMetrics& m : cases_) {
    ri.push_back(m.rand_index);
    re.push_back(m.rand_error);
  }
  s.mean_rand_index = nan_mean(ri);
  // Averaged from each case's own rand_error, not 1 - mean_rand_index: exact for near-1 indices.
  s.mean_rand_error = nan_mean(re);
  return s;
}

// ---------------------------------------------------------------------------------------------
// Inf-Net. Source: github.com/DengPingFan/Inf-Net, EvaluationTool/main.m and Fmeasure_calu.m;
// the maps come from MyTest_LungInf.py ((p - min) / (max - min + 1e-8), saved as 8-bit PNG).
// ---------------------------------------------------------------------------------------------

const InfNetCurve& infnet_thresholds() {
  // MATLAB builds base:inc:limit symmetrically (MathWorks' colonop): the first half as
  // base + k*inc, the second half as limit - k*inc. With 256 points (n = 255 intervals, odd) there
  // is no middle point. Separate statements keep clang from fusing the multiply-add.
  static const InfNetCurve table = [] {
    InfNetCurve t{};
    const double inc = -1.0 / 255.0;
    for (int k = 0; k <= 127; ++k) {
      const double step = static_cast<double>(k) * inc;
      t[static_cast<std::size_t>(k)] = 1.0 + step;
      t[static_cast<std::size_t>(255 - k)] = 0.0 - step;
    }
    return t;
  }();
  return table;
}

namespace {

// First threshold index j with t[j] <= v: the pixel is positive at j and every later (lower) one.
std::size_t first_threshold_passed(double v) {
  const InfNetCurve& t = infnet_thresholds();
  // t is decreasing; find the first element <= v.
  const auto it = std::lower_bound(t.begin(), t.end(), v, [](double th, double x) { return th > x; });
  return it == t.end() ? t.size() : static_cast<std::size_t>(it - t.begin());
}

// Value main.m thresholds for one pixel: min-max normalised (0 everywhere when max == min, as the
// test script's +1e-8 makes it), optionally through the 8-bit PNG (round half up, as scipy's
// bytescale, then im2double's level/255; mapminmax of a 0..255 map is the identity).
double infnet_value(float p, float lo, float hi, bool quantize) {
  const double range = static_cast<double>(hi) - static_cast<double>(lo);
  const double v = range > 0.0 ? (static_cast<double>(p) - static_cast<double>(lo)) / range : 0.0;
  if (!quantize) return v;
  const double level = std::floor(v * 255.0 + 0.5);
  return level / 255.0;
}

// Fmeasure_calu.m for one threshold: all zero when nothing positive is hit (NumAnd == 0).
void infnet_point(std::uint64_t tp, std::uint64_t pred_pos, std::uint64_t pos, std::uint64_t neg, double* d,
                  double* sen, double* spe) {
  if (tp == 0) {
    *d = *sen = *spe = 0.0;
    return;
  }
  const std::uint64_t fp = pred_pos - tp;
  *d = 2.0 * to_double(tp) / to_double(pos + pred_pos);
  *sen = to_double(tp) / to_double(pos);
  *spe = neg == 0 ? kNaN : to_double(neg - fp) / to_double(neg);  // no negatives: 0/0, NaN in MATLAB too
}

void infnet_summarise(InfNetResult* r) {
  double sd = 0.0, ss = 0.0, sp = 0.0;
  double best = -std::numeric_limits<double>::infinity();
  for (std::size_t j = 0; j < r->dice.size(); ++j) {
    sd += r->dice[j];
    ss += r->sensitivity[j];
    sp += r->specificity[j];
    best = std::max(best, r->dice[j]);
  }
  const double n = static_cast<double>(kInfNetThresholdCount);
  r->mean_dice = sd / n;
  r->max_dice = std::isnan(sd) ? kNaN : best;
  r->mean_sensitivity = ss / n;
  r->mean_specificity = sp / n;
}

}  // namespace

Expected<InfNetResult> infnet_evaluate(const float* prob, const std::uint8_t* ref, std::uint64_t n,
                                       const InfNetOptions& options) {
  if (bad_buffers(prob, ref, n)) return make_error("infnet_evaluate: null buffer for " + size_text(n) + " pixels");
  float lo = std::numeric_limits<float>::infinity();
  float hi = -std::numeric_limits<float>::infinity();
  for (std::uint64_t i = 0; i < n; ++i) {
    if (!std::isfinite(prob[i])) return make_error("infnet_evaluate: probability " + size_text(i) + " is not finite");
    lo = std::min(lo, prob[i]);  // over ALL pixels, ignored ones too: the PNG is normalised whole
    hi = std::max(hi, prob[i]);
  }
  // Histogram by first threshold passed, split by reference: O(N log 256 + 256).
  std::array<std::uint64_t, kInfNetThresholdCount + 1> hist_pos{};
  std::array<std::uint64_t, kInfNetThresholdCount + 1> hist_neg{};
  for (std::uint64_t i = 0; i < n; ++i) {
    if (ref[i] == kIgnoreLabel) continue;
    const std::size_t j = first_threshold_passed(infnet_value(prob[i], lo, hi, options.quantize_u8));
    ++(ref[i] == options.positive_label ? hist_pos : hist_neg)[j];
  }
  std::uint64_t pos = 0, neg = 0;
  for (std::size_t j = 0; j <= kInfNetThresholdCount; ++j) {
    pos += hist_pos[j];
    neg += hist_neg[j];
  }
  InfNetResult r;
  std::uint64_t tp = 0, pred_pos = 0;
  for (std::size_t j = 0; j < kInfNetThresholdCount; ++j) {
    tp += hist_pos[j];
    pred_pos += hist_pos[j] + hist_neg[j];
    infnet_point(tp, pred_pos, pos, neg, &r.dice[j], &r.sensitivity[j], &r.specificity[j]);
  }
  infnet_summarise(&r);
  return r;
}

Expected<InfNetResult> infnet_evaluate(const ImageF& prob, const LabelMap& ref, const InfNetOptions& options) {
  auto n = same_size(prob, ref, "infnet_evaluate");
  if (!n) return n.error();
  return infnet_evaluate(prob.pixels.data(), ref.pixels.data(), *n, options);
}

Expected<std::uint64_t> InfNetAccumulator::add(const float* prob, const std::uint8_t* ref, std::uint64_t n) {
  auto r = infnet_evaluate(prob, ref, n, options_);
  if (!r) return r.error();
  cases_.push_back(*r);
  return static_cast<std::uint64_t>(cases_.size());
}

Expected<std::uint64_t> InfNetAccumulator::add(const ImageF& prob, const LabelMap& ref) {
  auto n = same_size(prob, ref, "InfNetAccumulator::add");
  if (!n) return n.error();
  return add(prob.pixels.data(), ref.pixels.data(), *n);
}

InfNetResult InfNetAccumulator::aggregate() const {
  // main.m: column_Dic = mean(threshold_Dice, 1) (over images), meanDic = mean(column_Dic).
  InfNetResult r;
  r.num_cases = static_cast<std::uint64_t>(cases_.size());
  const double count = to_double(r.num_cases);
  for (std::size_t j = 0; j < kInfNetThresholdCount; ++j) {
    double d = 0.0, s = 0.0, p = 0.0;
    for (const InfNetResult& c : cases_) {
      d += c.dice[j];
      s += c.sensitivity[j];
      p += c.specificity[j];
    }
    r.dice[j] = cases_.empty() ? kNaN : d / count;
    r.sensitivity[j] = cases_.empty() ? kNaN : s / count;
    r.specificity[j] = cases_.empty() ? kNaN : p / count;
  }
  infnet_summarise(&r);
  return r;
}

// ---------------------------------------------------------------------------------------------
// Classification.
// ---------------------------------------------------------------------------------------------

Expected<ConfusionCounts> classification_confusion(const float* prob, const std::uint8_t* labels, std::uint64_t n,
                                                   double threshold) {
  if (bad_buffers(prob, labels, n)) return make_error("classification: null buffer for " + size_text(n) + " samples");
  ConfusionCounts c;
  for (std::uint64_t i = 0; i < n; ++i) {
    auto counted = check_sample(prob[i], labels[i], i);
    if (!counted) return counted.error();
    if (!*counted) continue;
    const bool p = static_cast<double>(prob[i]) >= threshold;
    const bool r = labels[i] == 1;
    if (p && r) ++c.tp;
    else if (p) ++c.fp;
    else if (r) ++c.fn;
    else ++c.tn;
  }
  return c;
}

Expected<double> roc_auc(const float* prob, const std::uint8_t* labels, std::uint64_t n) {
  if (bad_buffers(prob, labels, n)) return make_error("roc_auc: null buffer for " + size_text(n) + " samples");
  std::vector<std::pair<float, std::uint8_t>> s;
  for (std::uint64_t i = 0; i < n; ++i) {
    auto counted = check_sample(prob[i], labels[i], i);
    if (!counted) return counted.error();
    if (*counted) s.emplace_back(prob[i], labels[i]);
  }
  // Only the composition of each tie group matters, so the sort's order within ties is irrelevant.
  std::sort(s.begin(), s.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  // Twice the rank sum of positives, in integers: a tie group at 0-based [i, j) has average rank
  // (i + 1 + j) / 2, so doubled it is the integer i + 1 + j.
  std::uint64_t pos = 0, twice_rank_sum = 0;
  for (std::size_t i = 0; i < s.size();) {
    std::size_t j = i;
    std::uint64_t group_pos = 0;
    while (j < s.size() && s[j].first == s[i].first) group_pos += s[j++].second;
    twice_rank_sum += group_pos * (static_cast<std::uint64_t>(i) + 1 + static_cast<std::uint64_t>(j));
    pos += group_pos;
    i = j;
  }
  const std::uint64_t neg = static_cast<std::uint64_t>(s.size()) - pos;
  if (pos == 0 || neg == 0) return kNaN;  // ROC AUC is undefined with one class (sklearn raises)
  // U = R_pos - pos(pos+1)/2, AUC = U / (pos * neg); both doubled to stay in integers.
  const std::uint64_t twice_u = twice_rank_sum - pos * (pos + 1);
  return to_double(twice_u) / (2.0 * to_double(pos) * to_double(neg));
}

Expected<double> roc_auc(const std::vector<float>& prob, const std::vector<std::uint8_t>& labels) {
  if (prob.size() != labels.size()) {
    return make_error("roc_auc: " + std::to_string(prob.size()) + " probabilities but " +
                      std::to_string(labels.size()) + " labels");
  }
  return roc_auc(prob.data(), labels.data(), static_cast<std::uint64_t>(prob.size()));
}

Expected<ClassificationMetrics> classification_metrics(const float* prob, const std::uint8_t* labels,
                                                       std::uint64_t n, double threshold, EmptyPolicy empty) {
  auto c = classification_confusion(prob, labels, n, threshold);
  if (!c) return c.error();
  auto auc = roc_auc(prob, labels, n);
  if (!auc) return auc.error();
  ClassificationMetrics m;
  m.confusion = *c;
  m.threshold = threshold;
  m.accuracy = accuracy(*c, empty);
  m.precision = precision(*c, empty);
  m.recall = sensitivity(*c, empty);
  m.specificity = specificity(*c, empty);
  m.f1 = f1(*c, empty);
  m.roc_auc = *auc;
  return m;
}

Expected<std::uint64_t> ClassificationAccumulator::add(float probability, std::uint8_t label) {
  auto counted = check_sample(probability, label, static_cast<std::uint64_t>(labels_.size()));
  if (!counted) return counted.error();
  if (*counted) {
    prob_.push_back(probability);
    labels_.push_back(label);
  }
  return size();
}

ClassificationMetrics ClassificationAccumulator::aggregate(double threshold) const {
  // Every held sample passed check_sample, so this cannot fail.
  auto m = classification_metrics(prob_.data(), labels_.data(), size(), threshold, empty_);
  return m ? *m : ClassificationMetrics{};
}

void ClassificationAccumulator::reset() {
  prob_.clear();
  labels_.clear();
}

}  // namespace corona
