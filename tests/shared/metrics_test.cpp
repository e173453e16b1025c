// Tests for corona/metrics.h: every expectation below is computed by hand (the working is in the
// comments), except the Rand index brute-force check, which compares against an O(N^2) pair count.
#include "corona/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

namespace corona {
namespace {

constexpr double kTol = 1e-12;
const double kNaNv = std::nan("");

// NaN-aware comparison: an expected NaN must come back as NaN.
void expect_value(double expected, double actual, const char* what) {
  SCOPED_TRACE(what);
  if (std::isnan(expected)) {
    EXPECT_TRUE(std::isnan(actual)) << "got " << actual;
  } else {
    EXPECT_NEAR(expected, actual, kTol);
  }
}

void expect_values(const MetricValues& e, const MetricValues& a) {
  expect_value(e.dice, a.dice, "dice");
  expect_value(e.iou, a.iou, "iou");
  expect_value(e.sensitivity, a.sensitivity, "sensitivity");
  expect_value(e.specificity, a.specificity, "specificity");
  expect_value(e.precision, a.precision, "precision");
}

LabelMap make_map(int w, int h, std::vector<std::uint8_t> px) {
  LabelMap m(w, h);
  m.pixels = std::move(px);
  return m;
}

ImageF make_prob(int w, int h, std::vector<float> px) {
  ImageF m(w, h);
  m.pixels = std::move(px);
  return m;
}

// ---- metrics from counts ---------------------------------------------------------------------

struct CountsCase {
  const char* name;
  ConfusionCounts c;
  EmptyPolicy policy;
  MetricValues expected;
  double accuracy;
};

TEST(MetricsFromCounts, Table) {
  const double N = kNaNv;
  const CountsCase cases[] = {
      // 2tp/(2tp+fp+fn)=4/6, tp/(tp+fp+fn)=2/4, tp/(tp+fn)=2/3, tn/(tn+fp)=5/6, tp/(tp+fp)=2/3, 7/9
      {"typical", {2, 1, 5, 1}, EmptyPolicy::kNaN, {2.0 / 3, 0.5, 2.0 / 3, 5.0 / 6, 2.0 / 3}, 7.0 / 9},
      // Empty reference, empty prediction: every ratio with tp in it is 0/0.
      {"both empty, NaN", {0, 0, 9, 0}, EmptyPolicy::kNaN, {N, N, N, 1.0, N}, 1.0},
      {"both empty, one", {0, 0, 9, 0}, EmptyPolicy::kOneIfBothEmpty, {1, 1, 1, 1, 1}, 1.0},
      // Empty reference, 2 false positives: Dice = 0/2 is defined; recall is 0/0.
      {"ref empty, NaN", {0, 2, 7, 0}, EmptyPolicy::kNaN, {0, 0, N, 7.0 / 9, 0}, 7.0 / 9},
      {"ref empty, one", {0, 2, 7, 0}, EmptyPolicy::kOneIfBothEmpty, {0, 0, 0, 7.0 / 9, 0}, 7.0 / 9},
      // Empty prediction, 2 missed: precision is 0/0.
      {"pred empty, NaN", {0, 0, 7, 2}, EmptyPolicy::kNaN, {0, 0, 0, 1.0, N}, 7.0 / 9},
      {"pred empty, one", {0, 0, 7, 2}, EmptyPolicy::kOneIfBothEmpty, {0, 0, 0, 1.0, 0}, 7.0 / 9},
      // Everything positive and found: specificity is 0/0.
      {"all positive, NaN", {3, 0, 0, 0}, EmptyPolicy::kNaN, {1, 1, 1, N, 1}, 1.0},
      {"all positive, one", {3, 0, 0, 0}, EmptyPolicy::kOneIfBothEmpty, {1, 1, 1, 1, 1}, 1.0},
      {"nothing counted, NaN", {0, 0, 0, 0}, EmptyPolicy::kNaN, {N, N, N, N, N}, N},
      {"nothing counted, one", {0, 0, 0, 0}, EmptyPolicy::kOneIfBothEmpty, {1, 1, 1, 1, 1}, 1.0},
  };
  for (const CountsCase& t : cases) {
    SCOPED_TRACE(t.name);
    expect_values(t.expected, metric_values(t.c, t.policy));
    expect_value(t.accuracy, accuracy(t.c, t.policy), "accuracy");
    expect_value(t.expected.dice, f1(t.c, t.policy), "f1");
  }
}

TEST(MetricsFromCounts, PlusEqualsAndTotal) {
  ConfusionCounts a{1, 2, 3, 4};
  a += ConfusionCounts{10, 20, 30, 40};
  EXPECT_EQ(a, (ConfusionCounts{11, 22, 33, 44}));
  EXPECT_EQ(a.total(), 110u);
  EXPECT_NE(a, ConfusionCounts{});
}

TEST(MetricsFromCounts, NanMeanSkipsNaN) {
  EXPECT_DOUBLE_EQ(nan_mean(std::vector<double>{1.0, kNaNv, 0.5}), 0.75);
  EXPECT_TRUE(std::isnan(nan_mean(std::vector<double>{kNaNv, kNaNv})));
  EXPECT_TRUE(std::isnan(nan_mean(std::vector<double>{})));
}

// ---- label maps -----------------------------------------------------------------------------

// Case A, 3x3 binary:  pred 1 1 0   ref 1 0 0
//                           0 1 0       1 1 0
//                           0 0 0       0 0 0
// tp = (0,0),(1,1); fp = (1,0); fn = (0,1); tn = 5.
// Rand: table [[5,1],[1,2]] (pred rows 0/1); same_both = C(5,2)+C(2,2) = 11; pred sums 6,3 ->
// 15+3 = 18; ref sums 6,3 -> 18; disagreeing = 7+7 = 14 of C(9,2) = 36 -> RI = 22/36.
LabelMap case_a_pred() { return make_map(3, 3, {1, 1, 0, 0, 1, 0, 0, 0, 0}); }
LabelMap case_a_ref() { return make_map(3, 3, {1, 0, 0, 1, 1, 0, 0, 0, 0}); }

// Case B, 4x4, 4 classes, two ref pixels 255 (ignored) and one pred pixel 255:
//   pred  0 1 1 2     ref  0 1 1 1
//         0 1 2 2          0 1 2 255
//         3 3 0 0          3 0 0 0
//       255 1 0 0          0 1 0 255
// 14 counted pixels; (pred,ref) table: (0,0)5 (1,1)4 (2,1)1 (2,2)1 (3,3)1 (3,0)1 (255,0)1.
LabelMap case_b_pred() { return make_map(4, 4, {0, 1, 1, 2, 0, 1, 2, 2, 3, 3, 0, 0, 255, 1, 0, 0}); }
LabelMap case_b_ref() { return make_map(4, 4, {0, 1, 1, 1, 0, 1, 2, 255, 3, 0, 0, 0, 0, 1, 0, 255}); }

struct MaskCase {
  const char* name;
  LabelMap pred;
  LabelMap ref;
  std::uint8_t cls;
  ConfusionCounts counts;
  MetricValues values;  // under kNaN
};

TEST(MetricsSegmentation, CountsAndMetricsTable) {
  const double N = kNaNv;
  const MaskCase cases[] = {
      {"A class 1", case_a_pred(), case_a_ref(), 1, {2, 1, 5, 1}, {2.0 / 3, 0.5, 2.0 / 3, 5.0 / 6, 2.0 / 3}},
      {"A class 0", case_a_pred(), case_a_ref(), 0, {5, 1, 2, 1}, {10.0 / 12, 5.0 / 7, 5.0 / 6, 2.0 / 3, 5.0 / 6}},
      // B class 1: tp 4; pred==1: 4 -> fp 0; ref==1: 4+1 -> fn 1; tn 14-5 = 9.
      {"B class 1", case_b_pred(), case_b_ref(), 1, {4, 0, 9, 1}, {8.0 / 9, 0.8, 0.8, 1.0, 1.0}},
      // B class 2: tp 1; pred==2: (2,1),(2,2) -> fp 1; ref==2: 1 -> fn 0; tn 12.
      {"B class 2", case_b_pred(), case_b_ref(), 2, {1, 1, 12, 0}, {2.0 / 3, 0.5, 1.0, 12.0 / 13, 0.5}},
      // B class 3: tp 1; pred==3: (3,3),(3,0) -> fp 1; fn 0; tn 12.
      {"B class 3", case_b_pred(), case_b_ref(), 3, {1, 1, 12, 0}, {2.0 / 3, 0.5, 1.0, 12.0 / 13, 0.5}},
      // B class 4: absent from both: 0/0 everywhere except specificity.
      {"B class 4", case_b_pred(), case_b_ref(), 4, {0, 0, 14, 0}, {N, N, N, 1.0, N}},
      // Empty 3x3 reference and prediction.
      {"empty", make_map(3, 3, std::vector<std::uint8_t>(9, 0)), make_map(3, 3, std::vector<std::uint8_t>(9, 0)), 1,
       {0, 0, 9, 0}, {N, N, N, 1.0, N}},
      // pred 255 where ref == cls is a miss; ref 255 is skipped whatever pred says.
      {"pred 255", make_map(3, 1, {255, 1, 1}), make_map(3, 1, {1, 1, 255}), 1, {1, 0, 0, 1},
       {2.0 / 3, 0.5, 0.5, N, 1.0}},
      // All reference ignored: nothing counted.
      {"all ignored", make_map(2, 1, {1, 0}), make_map(2, 1, {255, 255}), 1, {0, 0, 0, 0}, {N, N, N, N, N}},
  };
  for (const MaskCase& t : cases) {
    SCOPED_TRACE(t.name);
    auto c = confusion_counts(t.pred, t.ref, t.cls);
    ASSERT_TRUE(c.ok()) << c.error().message;
    EXPECT_EQ(*c, t.counts);
    expect_values(t.values, metric_values(*c));
    // The span overload and the one-pass table agree with the direct count.
    auto c2 = confusion_counts(t.pred.pixels.data(), t.ref.pixels.data(), t.pred.size(), t.cls);
    ASSERT_TRUE(c2.ok());
    EXPECT_EQ(*c2, t.counts);
    SegmentationOptions opts;
    opts.classes = {t.cls};
    auto m = segmentation_metrics(t.pred, t.ref, opts);
    ASSERT_TRUE(m.ok());
    EXPECT_EQ(m->per_class[0].counts, t.counts);
  }
}

TEST(MetricsSegmentation, PerClassAndMeanSkipsNaN) {
  SegmentationOptions opts;
  opts.classes = {1, 2, 3};
  auto m = segmentation_metrics(case_b_pred(), case_b_ref(), opts);
  ASSERT_TRUE(m.ok());
  ASSERT_EQ(m->per_class.size(), 3u);
  EXPECT_EQ(m->per_class[1].label, 2);
  // Means of the table rows B1..B3: dice (8/9+2/3+2/3)/3 = 20/27, iou (0.8+0.5+0.5)/3 = 0.6,
  // sens (0.8+1+1)/3 = 14/15, spec (1+12/13+12/13)/3 = 37/39, prec (1+0.5+0.5)/3 = 2/3.
  expect_values({20.0 / 27, 0.6, 14.0 / 15, 37.0 / 39, 2.0 / 3}, m->mean);
  // Rand: n = 14, C(14,2) = 91; same_both = C(5,2)+C(4,2) = 16; pred sums 5,4,2,2,1 -> 18;
  // ref sums 7,5,1,1 -> 31; disagreeing = 2 + 15 = 17 -> RI = 74/91.
  EXPECT_NEAR(m->rand_index, 74.0 / 91, kTol);
  EXPECT_NEAR(m->rand_error, 17.0 / 91, kTol);

  // Class 4 is absent from both maps: its NaN Dice is skipped, not averaged in as 0 or 1.
  opts.classes = {1, 4};
  auto m2 = segmentation_metrics(case_b_pred(), case_b_ref(), opts);
  ASSERT_TRUE(m2.ok());
  EXPECT_NEAR(m2->mean.dice, 8.0 / 9, kTol);
  EXPECT_NEAR(m2->mean.specificity, 1.0, kTol);  // (1 + 1) / 2
  opts.empty = EmptyPolicy::kOneIfBothEmpty;
  auto m3 = segmentation_metrics(case_b_pred(), case_b_ref(), opts);
  ASSERT_TRUE(m3.ok());
  EXPECT_NEAR(m3->mean.dice, (8.0 / 9 + 1.0) / 2, kTol);
}

TEST(MetricsSegmentation, SizeMismatchIsAnError) {
  const LabelMap a(3, 3), b(3, 4), c(9, 1);
  EXPECT_FALSE(confusion_counts(a, b, 1).ok());
  EXPECT_FALSE(confusion_counts(a, c, 1).ok());  // same pixel count, different shape
  EXPECT_FALSE(segmentation_metrics(a, b).ok());
  EXPECT_FALSE(rand_index(a, b).ok());
  EXPECT_FALSE(contingency_table(a, b).ok());
  EXPECT_FALSE(binary_dice(ImageF(2, 2), LabelMap(2, 3)).ok());
  EXPECT_FALSE(confusion_counts(nullptr, a.pixels.data(), 9, 1).ok());
  EXPECT_TRUE(confusion_counts(nullptr, nullptr, 0, 1).ok());
  const std::string msg = confusion_counts(a, b, 1).error().message;
  EXPECT_NE(msg.find("3x4"), std::string::npos) << msg;
}

// ---- Rand index ------------------------------------------------------------------------------

struct RandCase {
  const char* name;
  LabelMap pred;
  LabelMap ref;
  std::uint64_t pairs;
  std::uint64_t disagreeing;
};

TEST(MetricsRand, Table) {
  const RandCase cases[] = {
      {"A", case_a_pred(), case_a_ref(), 36, 14},
      {"B", case_b_pred(), case_b_ref(), 91, 17},
      // Relabelling does not matter: {0,0,1,1} vs {5,5,7,7} agree on every pair.
      {"relabelled", make_map(4, 1, {0, 0, 1, 1}), make_map(4, 1, {5, 5, 7, 7}), 6, 0},
      // One cluster vs all different: every one of the C(3,2) pairs disagrees.
      {"split", make_map(3, 1, {0, 0, 0}), make_map(3, 1, {1, 2, 3}), 3, 3},
      // 255 in ref drops the pixel: 2 counted pixels, 1 pair, together in both.
      {"ignored", make_map(3, 1, {0, 1, 0}), make_map(3, 1, {4, 255, 4}), 1, 0},
  };
  for (const RandCase& t : cases) {
    SCOPED_TRACE(t.name);
    auto table = contingency_table(t.pred, t.ref);
    ASSERT_TRUE(table.ok());
    const RandPairs p = rand_pairs(*table);
    EXPECT_EQ(p.pairs, t.pairs);
    EXPECT_EQ(p.disagreeing, t.disagreeing);
    EXPECT_NEAR(rand_index(*table), double(t.pairs - t.disagreeing) / double(t.pairs), kTol);
    EXPECT_NEAR(rand_error(*table), double(t.disagreeing) / double(t.pairs), kTol);
  }
}

TEST(MetricsRand, FewerThanTwoPixelsFollowsPolicy) {
  auto table = contingency_table(make_map(2, 1, {1, 0}), make_map(2, 1, {1, 255}));
  ASSERT_TRUE(table.ok());
  EXPECT_EQ(table->total, 1u);
  EXPECT_TRUE(std::isnan(rand_index(*table)));
  EXPECT_EQ(rand_index(*table, EmptyPolicy::kOneIfBothEmpty), 1.0);
  EXPECT_EQ(rand_error(*table, EmptyPolicy::kOneIfBothEmpty), 0.0);
}

// Tiny deterministic generator (no <random>: identical sequences in every build).
std::uint32_t lcg(std::uint32_t* s) {
  *s = *s * 1664525u + 1013904223u;
  return *s >> 8;
}

TEST(MetricsRand, MatchesBruteForcePairsOnRandom10x10) {
  const std::uint8_t labels[] = {0, 1, 2, 3, 255};
  for (std::uint32_t seed = 1; seed <= 20; ++seed) {
    SCOPED_TRACE(seed);
    std::uint32_t s = seed;
    LabelMap pred(10, 10), ref(10, 10);
    for (std::size_t i = 0; i < 100; ++i) {
      pred.pixels[i] = labels[lcg(&s) % 5];
      ref.pixels[i] = labels[lcg(&s) % 5];
    }
    std::uint64_t pairs = 0, disagree = 0;
    for (std::size_t i = 0; i < 100; ++i) {
      for (std::size_t j = i + 1; j < 100; ++j) {
        if (ref.pixels[i] == 255 || ref.pixels[j] == 255) continue;
        ++pairs;
        const bool same_pred = pred.pixels[i] == pred.pixels[j];
        const bool same_ref = ref.pixels[i] == ref.pixels[j];
        disagree += same_pred != same_ref;
      }
    }
    auto table = contingency_table(pred, ref);
    ASSERT_TRUE(table.ok());
    const RandPairs p = rand_pairs(*table);
    EXPECT_EQ(p.pairs, pairs);
    EXPECT_EQ(p.disagreeing, disagree);
  }
}

TEST(MetricsRand, NoOverflowAtVolumeScale) {
  // 512x512: C(262144, 2) = 262144 * 262143 / 2 = 34359607296; pred all 0, ref left half 1:
  // disagreeing = pairs split by ref = 131072^2 = 17179869184.
  LabelMap pred(512, 512, 0), ref(512, 512, 0);
  for (int y = 0; y < 512; ++y)
    for (int x = 0; x < 256; ++x) ref.at(x, y) = 1;
  auto t = contingency_table(pred, ref);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(rand_pairs(*t).pairs, 34359607296ull);
  EXPECT_EQ(rand_pairs(*t).disagreeing, 17179869184ull);
  // 5e9 pixels (beyond 32 bits, and n*(n-1) beyond 64 bits): pred splits 3e9 / 2e9, ref one
  // cluster: disagreeing = 3e9 * 2e9 = 6e18, pairs = 2.5e9 * 4999999999.
  ContingencyTable big;
  big.counts[0] = 3000000000ull;
  big.counts[1 * 256 + 0] = 2000000000ull;
  big.total = 5000000000ull;
  const RandPairs p = rand_pairs(big);
  EXPECT_EQ(p.pairs, 12499999997500000000ull);
  EXPECT_EQ(p.disagreeing, 6000000000000000000ull);
  EXPECT_NEAR(rand_index(big), 1.0 - 6e18 / 12499999997500000000.0, 1e-15);
}

// ---- accumulator -----------------------------------------------------------------------------

TEST(MetricsSegmentationAccumulator, AddAggregateReset) {
  const LabelMap empty = make_map(3, 3, std::vector<std::uint8_t>(9, 0));
  struct Row {
    EmptyPolicy policy;
    double mean_dice;        // over cases, NaN skipped
    std::uint64_t with_dice;
  };
  // Case A (Dice 2/3) + an empty case: kNaN skips it -> 2/3; kOneIfBothEmpty counts 1 -> 5/6.
  const Row rows[] = {{EmptyPolicy::kNaN, 2.0 / 3, 1}, {EmptyPolicy::kOneIfBothEmpty, 5.0 / 6, 2}};
  for (const Row& r : rows) {
    SegmentationOptions opts;
    opts.classes = {1};
    opts.empty = r.policy;
    SegmentationAccumulator acc(opts);
    auto n1 = acc.add(case_a_pred(), case_a_ref());
    ASSERT_TRUE(n1.ok());
    EXPECT_EQ(*n1, 1u);
    auto n2 = acc.add(empty.pixels.data(), empty.pixels.data(), 9);
    ASSERT_TRUE(n2.ok());
    EXPECT_EQ(*n2, 2u);
    EXPECT_FALSE(acc.add(LabelMap(3, 3), LabelMap(2, 2)).ok());  // rejected, not held
    const SegmentationSummary s = acc.aggregate();
    EXPECT_EQ(s.num_cases, 2u);
    ASSERT_EQ(acc.cases().size(), 2u);
    EXPECT_NEAR(acc.cases()[0].per_class[0].values.dice, 2.0 / 3, kTol);
    ASSERT_EQ(s.per_class.size(), 1u);
    EXPECT_NEAR(s.per_class[0].mean.dice, r.mean_dice, kTol);
    EXPECT_EQ(s.per_class[0].cases_with_dice, r.with_dice);
    // Pooled: {2,1,5,1} + {0,0,9,0} = {2,1,14,1}: Dice 4/6, spec 14/15 either way.
    EXPECT_EQ(s.per_class[0].pooled_counts, (ConfusionCounts{2, 1, 14, 1}));
    EXPECT_NEAR(s.per_class[0].pooled.dice, 2.0 / 3, kTol);
    EXPECT_NEAR(s.per_class[0].pooled.specificity, 14.0 / 15, kTol);
    EXPECT_NEAR(s.micro.dice, 2.0 / 3, kTol);
    EXPECT_NEAR(s.mean.dice, r.mean_dice, kTol);
    // Rand: case A 22/36, empty case 1 -> (11/18 + 1) / 2 = 29/36.
    EXPECT_NEAR(s.mean_rand_index, 29.0 / 36, kTol);
    acc.reset();
    EXPECT_EQ(acc.aggregate().num_cases, 0u);
    EXPECT_TRUE(std::isnan(acc.aggregate().per_class[0].mean.dice));
  }
}

TEST(MetricsSegmentationAccumulator, MeanRandErrorOverCasesSkipsUndefined) {
  // Case A: 14 of 36 pairs disagree; case B: 17 of 91 (MetricsRand.Table); the third case counts
  // one pixel (the other is 255): no pairs, rand error NaN under kNaN (skipped), 0 under
  // kOneIfBothEmpty (counted).
  const double a = 14.0 / 36, b = 17.0 / 91;
  struct Row {
    EmptyPolicy policy;
    double mean_rand_error;
  };
  const Row rows[] = {{EmptyPolicy::kNaN, (a + b) / 2}, {EmptyPolicy::kOneIfBothEmpty, (a + b + 0.0) / 3}};
  for (const Row& r : rows) {
    SegmentationAccumulator acc(SegmentationOptions{{1}, r.policy});
    ASSERT_TRUE(acc.add(case_a_pred(), case_a_ref()).ok());
    ASSERT_TRUE(acc.add(case_b_pred(), case_b_ref()).ok());
    ASSERT_TRUE(acc.add(make_map(2, 1, {1, 0}), make_map(2, 1, {1, 255})).ok());
    const SegmentationSummary s = acc.aggregate();
    EXPECT_NEAR(s.mean_rand_error, r.mean_rand_error, kTol);
    EXPECT_NEAR(acc.cases()[1].rand_error, b, kTol);
    acc.reset();
    EXPECT_TRUE(std::isnan(acc.aggregate().mean_rand_error));
  }
}

TEST(MetricsSegmentationAccumulator, MicroSumsOverClasses) {
  SegmentationOptions opts;
  opts.classes = {1, 2, 3};
  SegmentationAccumulator acc(opts);
  ASSERT_TRUE(acc.add(case_b_pred(), case_b_ref()).ok());
  const SegmentationSummary s = acc.aggregate();
  // Summed over classes: tp 4+1+1 = 6, fp 0+1+1 = 2, fn 1, tn 9+12+12 = 33 -> Dice 12/15.
  EXPECT_NEAR(s.micro.dice, 0.8, kTol);
  EXPECT_NEAR(s.micro.iou, 6.0 / 9, kTol);
  EXPECT_NEAR(s.micro.specificity, 33.0 / 35, kTol);
  EXPECT_NEAR(s.mean.dice, 20.0 / 27, kTol);  // one case: macro mean = that case's class mean
}

// ---- binary Dice at 0.5 ----------------------------------------------------------------------

TEST(MetricsBinaryDice, Threshold) {
  // prob 0.2 0.5 0.7 0.4, ref 0 1 1 255: >= 0.5 -> pred 0 1 1 (0, ignored) -> tp 2 -> Dice 1.
  // At 0.6: pred 0 0 1 -> tp 1, fn 1 -> 2/3. At 0.1: pred 1 1 1 -> fp 1 -> 4/5.
  const ImageF p = make_prob(4, 1, {0.2f, 0.5f, 0.7f, 0.4f});
  const LabelMap r = make_map(4, 1, {0, 1, 1, 255});
  const struct {
    double t, dice;
  } rows[] = {{0.5, 1.0}, {0.6, 2.0 / 3}, {0.1, 0.8}};
  for (const auto& row : rows) {
    auto d = binary_dice(p, r, row.t);
    ASSERT_TRUE(d.ok());
    EXPECT_NEAR(*d, row.dice, kTol) << row.t;
  }
  auto d0 = binary_dice(p, make_map(4, 1, {0, 0, 0, 0}), 0.9);
  ASSERT_TRUE(d0.ok());
  EXPECT_TRUE(std::isnan(*d0));
  EXPECT_EQ(*binary_dice(p, make_map(4, 1, {0, 0, 0, 0}), 0.9, EmptyPolicy::kOneIfBothEmpty), 1.0);
  const float bad[] = {std::nanf("")};
  const std::uint8_t one[] = {1};
  EXPECT_FALSE(binary_confusion_counts(bad, one, 1, 0.5).ok());
}

// ---- Inf-Net ---------------------------------------------------------------------------------

TEST(MetricsInfNet, ThresholdsAsMatlabBuildsThem) {
  const InfNetCurve& t = infnet_thresholds();
  EXPECT_EQ(t[0], 1.0);
  EXPECT_EQ(t[255], 0.0);
  for (std::size_t j = 1; j < t.size(); ++j) EXPECT_LT(t[j], t[j - 1]);
  for (std::size_t j = 0; j < t.size(); ++j) EXPECT_NEAR(t[j], (255.0 - double(j)) / 255.0, 1e-15);
  // The colon operator's rounding: 1 + 117*(-1/255) lies just above 138/255, so a pixel at PNG
  // level 138 first counts at index 118, not 117 (exact arithmetic would say 117).
  EXPECT_GT(t[117], 138.0 / 255.0);
  EXPECT_LE(t[118], 138.0 / 255.0);
}

struct InfNetCase {
  const char* name;
  ImageF prob;
  LabelMap ref;
  bool quantize;
  double mean_dice, max_dice, mean_sens, mean_spec;
};

TEST(MetricsInfNet, MeanDiceTable) {
  const InfNetCase cases[] = {
      // Levels 0, 51, 153, 255 (0.2 -> 51, 0.6 -> 153); ref 0 0 1 1. Level L first counts at
      // index 255 - L. j 0..101: {255} tp 1 -> 2/3 (sens 1/2, spec 1); j 102..203: {153,255}
      // -> 1 (1, 1); j 204..254: +51 (a negative) -> 4/5 (1, 1/2); j 255: all -> 4/6 (1, 0).
      {"2x2 quantized", make_prob(2, 2, {0.0f, 0.2f, 0.6f, 1.0f}), make_map(2, 2, {0, 0, 1, 1}), true,
       (103 * 2.0 / 3 + 102 + 51 * 0.8) / 256, 1.0, (102 * 0.5 + 154) / 256.0, (204 + 51 * 0.5) / 256.0},
      // Same map, floats thresholded directly: 0.2f and 0.6f sit just above 51/255 and 153/255.
      {"2x2 float", make_prob(2, 2, {0.0f, 0.2f, 0.6f, 1.0f}), make_map(2, 2, {0, 0, 1, 1}), false,
       (103 * 2.0 / 3 + 102 + 51 * 0.8) / 256, 1.0, (102 * 0.5 + 154) / 256.0, (204 + 51 * 0.5) / 256.0},
      // 0.1 0.3 0.5 0.9 normalise to 0, 0.25, 0.5, 1; ref 0 0 1 1. Quantized levels 0, 64, 128
      // (127.5 rounds up), 255 -> first indices 255, 191, 127, 0: 2/3 x127, 1 x64, 4/5 x64, 2/3 x1.
      {"4x1 quantized", make_prob(4, 1, {0.1f, 0.3f, 0.5f, 0.9f}), make_map(4, 1, {0, 0, 1, 1}), true,
       (128 * 2.0 / 3 + 64 + 64 * 0.8) / 256, 1.0, (127 * 0.5 + 129) / 256.0, (191 + 64 * 0.5) / 256.0},
      // Unquantized, 0.25 first passes at 192 (63/255) and 0.5 at 128 (127/255):
      // 2/3 x128, 1 x64, 4/5 x63, 2/3 x1.
      {"4x1 float", make_prob(4, 1, {0.1f, 0.3f, 0.5f, 0.9f}), make_map(4, 1, {0, 0, 1, 1}), false,
       (129 * 2.0 / 3 + 64 + 63 * 0.8) / 256, 1.0, (128 * 0.5 + 128) / 256.0, (192 + 63 * 0.5) / 256.0},
      // max == min: the map normalises to 0, so only threshold 0 (index 255) marks anything:
      // Dice 4/6 there (sens 1, spec 0/2), and 0 at the 255 others (tp == 0 -> 0 in Fmeasure_calu).
      {"constant", make_prob(2, 2, {0.3f, 0.3f, 0.3f, 0.3f}), make_map(2, 2, {0, 1, 1, 0}), true,
       (2.0 / 3) / 256, 2.0 / 3, 1.0 / 256, 0.0},
      // Empty reference: tp is always 0, so Inf-Net scores 0 everywhere (not NaN).
      {"empty ref", make_prob(2, 1, {0.1f, 0.9f}), make_map(2, 1, {0, 0}), true, 0.0, 0.0, 0.0, 0.0},
      // 255 in the reference is skipped, but the pixel still sets the min-max range: levels
      // 0 (ignored), 128 (0.5), 255; ref 255 1 0. j 0..126: {255 neg} tp 0 -> 0; j 127..255:
      // tp 1, pred 2 -> 2/3 (sens 1, spec 0): 129 thresholds.
      {"ignored", make_prob(3, 1, {0.0f, 0.5f, 1.0f}), make_map(3, 1, {255, 1, 0}), true, 129 * (2.0 / 3) / 256,
       2.0 / 3, 129 / 256.0, 0.0},
  };
  for (const InfNetCase& t : cases) {
    SCOPED_TRACE(t.name);
    InfNetOptions o;
    o.quantize_u8 = t.quantize;
    auto r = infnet_evaluate(t.prob, t.ref, o);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_NEAR(r->mean_dice, t.mean_dice, kTol);
    EXPECT_NEAR(r->max_dice, t.max_dice, kTol);
    EXPECT_NEAR(r->mean_sensitivity, t.mean_sens, kTol);
    EXPECT_NEAR(r->mean_specificity, t.mean_spec, kTol);
  }
}

TEST(MetricsInfNet, AccumulatorAveragesPerThresholdFirst) {
  InfNetAccumulator acc;
  ASSERT_TRUE(acc.add(make_prob(2, 2, {0.0f, 0.2f, 0.6f, 1.0f}), make_map(2, 2, {0, 0, 1, 1})).ok());
  auto n = acc.add(make_prob(2, 2, {0.3f, 0.3f, 0.3f, 0.3f}), make_map(2, 2, {0, 1, 1, 0}));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 2u);
  const InfNetResult r = acc.aggregate();
  EXPECT_EQ(r.num_cases, 2u);
  const double m1 = (103 * 2.0 / 3 + 102 + 51 * 0.8) / 256, m2 = (2.0 / 3) / 256;
  EXPECT_NEAR(r.mean_dice, (m1 + m2) / 2, kTol);
  // maxDic is the max of the per-threshold MEANS: index 255 gives (2/3 + 2/3) / 2 = 2/3, while
  // index 102..203 gives (1 + 0) / 2; the mean of the per-image maxima would be 5/6.
  EXPECT_NEAR(r.max_dice, 2.0 / 3, kTol);
  EXPECT_NEAR(r.dice[150], 0.5, kTol);
  EXPECT_FALSE(acc.add(ImageF(2, 2), LabelMap(1, 1)).ok());
  acc.reset();
  EXPECT_EQ(acc.aggregate().num_cases, 0u);
  EXPECT_TRUE(std::isnan(acc.aggregate().mean_dice));
}

TEST(MetricsInfNet, BadInputIsAnError) {
  EXPECT_FALSE(infnet_evaluate(ImageF(2, 2), LabelMap(2, 1)).ok());
  EXPECT_FALSE(infnet_evaluate(make_prob(1, 1, {std::nanf("")}), make_map(1, 1, {1})).ok());
  EXPECT_FALSE(infnet_evaluate(nullptr, nullptr, 4).ok());
}

// ---- classification --------------------------------------------------------------------------

struct AucCase {
  const char* name;
  std::vector<float> prob;
  std::vector<std::uint8_t> labels;
  double auc;
};

TEST(MetricsClassification, RocAucTable) {
  const AucCase cases[] = {
      // Positives 0.4, 0.8, 0.4; negatives 0.1, 0.4, 0.9. Pair scores (1 win, 1/2 tie):
      // 0.4: 1 + .5 + 0; 0.8: 1 + 1 + 0; 0.4: 1 + .5 + 0 -> 5 of 9.
      {"ties", {0.1f, 0.4f, 0.4f, 0.8f, 0.4f, 0.9f}, {0, 0, 1, 1, 1, 0}, 5.0 / 9},
      {"perfect", {0.1f, 0.2f, 0.8f, 0.9f}, {0, 0, 1, 1}, 1.0},
      {"reversed", {0.9f, 0.8f, 0.2f, 0.1f}, {0, 0, 1, 1}, 0.0},
      {"all tied", {0.5f, 0.5f, 0.5f}, {0, 1, 1}, 0.5},
      // 255 skipped: leaves 0.2 (neg), 0.6 (pos) -> 1.
      {"unknown skipped", {0.2f, 0.9f, 0.6f}, {0, 255, 1}, 1.0},
      {"no negatives", {0.2f, 0.6f}, {1, 1}, kNaNv},
      {"no positives", {0.2f, 0.6f}, {0, 0}, kNaNv},
      {"nothing", {}, {}, kNaNv},
  };
  for (const AucCase& t : cases) {
    SCOPED_TRACE(t.name);
    auto auc = roc_auc(t.prob, t.labels);
    ASSERT_TRUE(auc.ok()) << auc.error().message;
    expect_value(t.auc, *auc, "auc");
  }
}

struct ClsCase {
  const char* name;
  double threshold;
  ConfusionCounts confusion;
  double accuracy, precision, recall, specificity, f1;
};

TEST(MetricsClassification, ThresholdTable) {
  const std::vector<float> prob = {0.1f, 0.4f, 0.4f, 0.8f, 0.4f, 0.9f};
  const std::vector<std::uint8_t> labels = {0, 0, 1, 1, 1, 0};
  const double N = kNaNv;
  const ClsCase cases[] = {
      // >= 0.4: pred 0 1 1 1 1 1 -> tp 3, fp 2, tn 1, fn 0.
      {"0.4", 0.4f, {3, 2, 1, 0}, 4.0 / 6, 3.0 / 5, 1.0, 1.0 / 3, 6.0 / 8},
      // >= 0.5: pred 0 0 0 1 0 1 -> tp 1, fp 1, tn 2, fn 2.
      {"0.5", 0.5, {1, 1, 2, 2}, 3.0 / 6, 0.5, 1.0 / 3, 2.0 / 3, 2.0 / 5},
      // >= 0.95: nothing predicted -> precision 0/0.
      {"0.95", 0.95, {0, 0, 3, 3}, 0.5, N, 0.0, 1.0, 0.0},
  };
  for (const ClsCase& t : cases) {
    SCOPED_TRACE(t.name);
    auto m = classification_metrics(prob.data(), labels.data(), prob.size(), t.threshold);
    ASSERT_TRUE(m.ok());
    EXPECT_EQ(m->confusion, t.confusion);
    expect_value(t.accuracy, m->accuracy, "accuracy");
    expect_value(t.precision, m->precision, "precision");
    expect_value(t.recall, m->recall, "recall");
    expect_value(t.specificity, m->specificity, "specificity");
    expect_value(t.f1, m->f1, "f1");
    expect_value(5.0 / 9, m->roc_auc, "auc");
    // The accumulator gives the same answer sample by sample.
    ClassificationAccumulator acc;
    for (std::size_t i = 0; i < prob.size(); ++i) ASSERT_TRUE(acc.add(prob[i], labels[i]).ok());
    const ClassificationMetrics a = acc.aggregate(t.threshold);
    EXPECT_EQ(a.confusion, t.confusion);
    expect_value(t.f1, a.f1, "acc f1");
    expect_value(5.0 / 9, a.roc_auc, "acc auc");
  }
}

TEST(MetricsClassification, AccumulatorRulesAndReset) {
  ClassificationAccumulator acc;
  EXPECT_EQ(*acc.add(0.7f, 1), 1u);
  EXPECT_EQ(*acc.add(0.3f, 255), 1u);  // unknown label: accepted, skipped
  EXPECT_FALSE(acc.add(0.3f, 2).ok());
  EXPECT_FALSE(acc.add(std::nanf(""), 0).ok());
  EXPECT_EQ(acc.size(), 1u);
  const ClassificationMetrics m = acc.aggregate(0.5);
  EXPECT_EQ(m.confusion, (ConfusionCounts{1, 0, 0, 0}));
  EXPECT_TRUE(std::isnan(m.roc_auc));  // one class only
  acc.reset();
  EXPECT_EQ(acc.size(), 0u);
  EXPECT_TRUE(std::isnan(acc.aggregate().accuracy));
  const std::vector<float> p = {0.5f};
  const std::vector<std::uint8_t> l = {0, 1};
  EXPECT_FALSE(roc_auc(p, l).ok());
  const std::uint8_t bad_label[] = {7};
  EXPECT_FALSE(classification_confusion(p.data(), bad_label, 1, 0.5).ok());
}

}  // namespace
}  // namespace corona
