// corona_metrics_tool: runs corona/metrics.h on raw buffers and prints JSON, so an independent
// implementation (tests/shared/oracles/test_metrics_sklearn.py, scikit-learn) can check it.
//
//   corona_metrics_tool seg    PRED.u8 REF.u8 N NUM_CLASSES [nan|one]   classes 0..NUM_CLASSES-1
//   corona_metrics_tool cls    PROBS.f32 LABELS.u8 N THRESHOLD [nan|one]
//   corona_metrics_tool infnet PROB.f32 REF.u8 N [u8|float]
// .u8 files are N bytes, .f32 files N little-endian floats. NaN prints as null (JSON has no NaN).
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "corona/metrics.h"

namespace {

using corona::EmptyPolicy;

template <class T>
bool read_exact(const char* path, std::uint64_t n, std::vector<T>* out) {
  out->assign(static_cast<std::size_t>(n), T{});
  std::FILE* f = std::fopen(path, "rb");
  if (f == nullptr) {
    std::fprintf(stderr, "cannot open %s\n", path);
    return false;
  }
  const std::size_t got = n == 0 ? 0 : std::fread(out->data(), sizeof(T), static_cast<std::size_t>(n), f);
  const bool extra = std::fgetc(f) != EOF;
  std::fclose(f);
  if (got != n || extra) {
    std::fprintf(stderr, "%s: expected exactly %llu values of %zu bytes\n", path,
                 static_cast<unsigned long long>(n), sizeof(T));
    return false;
  }
  return true;
}

std::string num(double v) {
  if (std::isnan(v)) return "null";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

std::string u64(std::uint64_t v) { return std::to_string(static_cast<unsigned long long>(v)); }

std::string counts_json(const corona::ConfusionCounts& c) {
  return "\"tp\": " + u64(c.tp) + ", \"fp\": " + u64(c.fp) + ", \"tn\": " + u64(c.tn) + ", \"fn\": " + u64(c.fn);
}

std::string values_json(const corona::MetricValues& v) {
  return "\"dice\": " + num(v.dice) + ", \"iou\": " + num(v.iou) + ", \"sensitivity\": " + num(v.sensitivity) +
         ", \"specificity\": " + num(v.specificity) + ", \"precision\": " + num(v.precision);
}

EmptyPolicy parse_policy(int argc, char** argv, int index) {
  return (argc > index && std::strcmp(argv[index], "one") == 0) ? EmptyPolicy::kOneIfBothEmpty : EmptyPolicy::kNaN;
}

int run_seg(int argc, char** argv) {
  const std::uint64_t n = std::strtoull(argv[4], nullptr, 10);
  const int num_classes = std::atoi(argv[5]);
  std::vector<std::uint8_t> pred, ref;
  if (!read_exact(argv[2], n, &pred) || !read_exact(argv[3], n, &ref)) return 2;
  corona::SegmentationOptions opts;
  opts.classes.clear();
  for (int c = 0; c < num_classes && c < 255; ++c) opts.classes.push_back(static_cast<std::uint8_t>(c));
  opts.empty = parse_policy(argc, argv, 6);
  auto m = corona::segmentation_metrics(pred.data(), ref.data(), n, opts);
  if (!m) {
    std::fprintf(stderr, "%s\n", m.error().message.c_str());
    return 1;
  }
  std::string out = "{\"n\": " + u64(n) + ", \"classes\": [";
  for (std::size_t i = 0; i < m->per_class.size(); ++i) {
    const corona::ClassMetrics& c = m->per_class[i];
    out += std::string(i ? ", " : "") + "{\"label\": " + std::to_string(c.label) + ", " + counts_json(c.counts) +
           ", " + values_json(c.values) + "}";
  }
  out += "], \"mean\": {" + values_json(m->mean) + "}, \"rand_index\": " + num(m->rand_index) +
         ", \"rand_error\": " + num(m->rand_error) + "}";
  std::printf("%s\n", out.c_str());
  return 0;
}

int run_cls(int argc, char** argv) {
  const std::uint64_t n = std::strtoull(argv[4], nullptr, 10);
  const double threshold = std::strtod(argv[5], nullptr);
  std::vector<float> prob;
  std::vector<std::uint8_t> labels;
  if (!read_exact(argv[2], n, &prob) || !read_exact(argv[3], n, &labels)) return 2;
  auto m = corona::classification_metrics(prob.data(), labels.data(), n, threshold, parse_policy(argc, argv, 6));
  if (!m) {
    std::fprintf(stderr, "%s\n", m.error().message.c_str());
    return 1;
  }
  std::printf("{\"n\": %s, \"threshold\": %s, %s, \"accuracy\": %s, \"precision\": %s, \"recall\": %s, "
              "\"specificity\": %s, \"f1\": %s, \"roc_auc\": %s}\n",
              u64(n).c_str(), num(threshold).c_str(), counts_json(m->confusion).c_str(), num(m->accuracy).c_str(),
              num(m->precision).c_str(), num(m->recall).c_str(), num(m->specificity).c_str(), num(m->f1).c_str(),
              num(m->roc_auc).c_str());
  return 0;
}

int run_infnet(int argc, char** argv) {
  const std::uint64_t n = std::strtoull(argv[4], nullptr, 10);
  std::vector<float> prob;
  std::vector<std::uint8_t> ref;
  if (!read_exact(argv[2], n, &prob) || !read_exact(argv[3], n, &ref)) return 2;
  corona::InfNetOptions o;
  o.quantize_u8 = !(argc > 5 && std::strcmp(argv[5], "float") == 0);
  auto r = corona::infnet_evaluate(prob.data(), ref.data(), n, o);
  if (!r) {
    std::fprintf(stderr, "%s\n", r.error().message.c_str());
    return 1;
  }
  std::string dice;
  for (std::size_t j = 0; j < r->dice.size(); ++j) dice += (j ? ", " : "") + num(r->dice[j]);
  std::printf("{\"n\": %s, \"mean_dice\": %s, \"max_dice\": %s, \"mean_sensitivity\": %s, "
              "\"mean_specificity\": %s, \"dice\": [%s]}\n",
              u64(n).c_str(), num(r->mean_dice).c_str(), num(r->max_dice).c_str(), num(r->mean_sensitivity).c_str(),
              num(r->mean_specificity).c_str(), dice.c_str());
  return 0;
}

int usage() {
  std::fprintf(stderr,
               "usage: corona_metrics_tool seg PRED.u8 REF.u8 N NUM_CLASSES [nan|one]\n"
               "       corona_metrics_tool cls PROBS.f32 LABELS.u8 N THRESHOLD [nan|one]\n"
               "       corona_metrics_tool infnet PROB.f32 REF.u8 N [u8|float]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) return usage();
  const std::string verb = argv[1];
  if (verb == "seg" && argc >= 6) return run_seg(argc, argv);
  if (verb == "cls" && argc >= 6) return run_cls(argc, argv);
  if (verb == "infnet") return run_infnet(argc, argv);
  return usage();
}
