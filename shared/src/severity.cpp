// severity.cpp: class areas, per-lung involvement and severity bands (see severity.h).
#include "corona/severity.h"

#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

namespace corona {

namespace {

double pixel_area_mm2(const LabelMap& m) { return m.spacing_x * m.spacing_y; }

void finish(LungInvolvement* l) {
  if (!l->lung_found) {
    l->percent = std::numeric_limits<double>::quiet_NaN();
    l->severity_band = kNoSeverityBand;
    return;
  }
  l->percent = l->lung_px == 0 ? 0.0 : 100.0 * static_cast<double>(l->lesion_px) / static_cast<double>(l->lung_px);
  l->severity_band = severity_band(l->percent);
}

// Centroid columns of lung labels 1 and 2 decide which side an outside lesion pixel belongs to.
double attribution_midline(const LabelMap& lungs, bool* has_right, bool* has_left) {
  std::uint64_t n[2] = {0, 0}, sx[2] = {0, 0};
  for (int y = 0; y < lungs.height; ++y) {
    for (int x = 0; x < lungs.width; ++x) {
      const std::uint8_t v = lungs.at(x, y);
      if (v != 1 && v != 2) continue;
      ++n[v - 1];
      sx[v - 1] += static_cast<std::uint64_t>(x);
    }
  }
  *has_right = n[0] > 0;
  *has_left = n[1] > 0;
  if (!*has_right || !*has_left) return lungs.width / 2.0;
  const double cr = static_cast<double>(sx[0]) / static_cast<double>(n[0]);
  const double cl = static_cast<double>(sx[1]) / static_cast<double>(n[1]);
  return (cr + cl) / 2.0;
}

}  // namespace

std::vector<ClassArea> class_areas(const LabelMap& labels, int num_classes) {
  std::vector<ClassArea> out(num_classes > 0 ? static_cast<std::size_t>(num_classes) : 0);
  for (const std::uint8_t v : labels.pixels) {
    if (v != kIgnoreLabel && v < out.size()) ++out[v].px;
  }
  for (ClassArea& a : out) {
    a.mm2_known = labels.spacing_known;
    a.mm2 = labels.spacing_known ? static_cast<double>(a.px) * pixel_area_mm2(labels) : 0.0;
  }
  return out;
}

int severity_band(double percent) {
  if (!(percent > 0.0)) return 0;  // also NaN
  if (percent <= 25.0) return 1;
  if (percent <= 50.0) return 2;
  if (percent <= 75.0) return 3;
  return 4;
}

SeverityReport assess_severity(const LabelMap& lesions, const LabelMap& lungs, int num_classes) {
  SeverityReport r;
  r.classes = class_areas(lesions, num_classes);
  if (lesions.width != lungs.width || lesions.height != lungs.height ||
      lesions.pixels.size() != lungs.pixels.size() ||
      lesions.pixels.size() != static_cast<std::size_t>(lesions.width > 0 ? lesions.width : 0) *
                                   static_cast<std::size_t>(lesions.height > 0 ? lesions.height : 0)) {
    r.classes = class_areas(LabelMap{}, num_classes);
    for (LungInvolvement* l : {&r.right, &r.left, &r.total}) finish(l);  // no lung: nothing to grade
    return r;
  }
  bool has_right = false, has_left = false;
  const double mid = attribution_midline(lungs, &has_right, &has_left);
  for (int y = 0; y < lesions.height; ++y) {
    for (int x = 0; x < lesions.width; ++x) {
      const std::uint8_t les = lesions.at(x, y);
      if (les == kIgnoreLabel) continue;  // unknown: neither lesion nor lung
      const std::uint8_t lung = lungs.at(x, y);
      const bool is_lesion = les != 0;
      LungInvolvement* side = nullptr;
      if (lung == 1) {
        side = &r.right;
      } else if (lung == 2) {
        side = &r.left;
      } else if (is_lesion && !has_right && !has_left) {
        ++r.lesion_px_without_lung;  // no lung to attribute it to
      } else if (is_lesion) {
        // Outside both masks: by side, or the only lung there is.
        const bool right = has_right && has_left ? x < mid : has_right;
        side = right ? &r.right : &r.left;
        ++side->outside_lesion_px;
      }
      if (side == nullptr) continue;
      ++side->lung_px;
      if (is_lesion) ++side->lesion_px;
    }
  }
  r.total.lung_px = r.right.lung_px + r.left.lung_px;
  r.total.lesion_px = r.right.lesion_px + r.left.lesion_px;
  r.total.outside_lesion_px = r.right.outside_lesion_px + r.left.outside_lesion_px;
  r.right.lung_found = has_right;
  r.left.lung_found = has_left;
  r.total.lung_found = has_right || has_left;
  finish(&r.right);
  finish(&r.left);
  finish(&r.total);
  return r;
}

SeverityReport sum_severity(const std::vector<SeverityReport>& slices, int num_classes) {
  SeverityReport sum;
  sum.classes.assign(num_classes > 0 ? static_cast<std::size_t>(num_classes) : 0, ClassArea{});
  auto add = [](LungInvolvement& to, const LungInvolvement& l) {
    to.lung_px += l.lung_px;
    to.lesion_px += l.lesion_px;
    to.outside_lesion_px += l.outside_lesion_px;
    to.lung_found = to.lung_found || l.lung_found;
  };
  for (const SeverityReport& s : slices) {
    for (std::size_t c = 0; c < sum.classes.size() && c < s.classes.size(); ++c) {
      sum.classes[c].px += s.classes[c].px;
      sum.classes[c].mm2 += s.classes[c].mm2;
      sum.classes[c].mm2_known = s.classes[c].mm2_known;
    }
    add(sum.right, s.right);
    add(sum.left, s.left);
    add(sum.total, s.total);
    sum.lesion_px_without_lung += s.lesion_px_without_lung;
  }
  finish(&sum.right);
  finish(&sum.left);
  finish(&sum.total);
  return sum;
}

}  // namespace corona
