// corona/severity.h: per-class lesion areas (mm² when spacing is known), the share of each lung that
// is involved, and a 0-4 severity band: the report's triage numbers, the same in every build.
#pragma once

#include <cstdint>
#include <vector>

#include "corona/image.h"

namespace corona {

struct ClassArea {
  std::uint64_t px = 0;
  double mm2 = 0.0;        // px * spacing_x * spacing_y; 0 when !mm2_known
  bool mm2_known = false;  // false for sources without geometry (PNG/JPEG): report pixels only
};

// Pixel count (and area) of every class value 0 .. num_classes-1 (index = class value, so index 0
// is background). kIgnoreLabel pixels and values >= num_classes are counted nowhere.
std::vector<ClassArea> class_areas(const LabelMap& labels, int num_classes);

// Half-open bands on the percentage of a lung that is involved:
//   p <= 0 (or NaN) -> 0 (none); (0, 25] -> 1; (25, 50] -> 2; (50, 75] -> 3; (75, inf) -> 4.
// So exactly 25 % is still band 1 and the smallest involvement above 0 is band 1.
int severity_band(double percent);

// The band of a lung the mask did not find: there is no involvement to grade.
constexpr int kNoSeverityBand = -1;

struct LungInvolvement {
  std::uint64_t lung_px = 0;     // lung mask pixels plus lesion pixels attributed from outside it
  std::uint64_t lesion_px = 0;   // lesion pixels of any class counted for this lung
  std::uint64_t outside_lesion_px = 0;  // of lesion_px, how many lay outside both lung masks
  double percent = 0.0;          // 100 * lesion_px / lung_px; NaN when !lung_found
  int severity_band = 0;         // severity_band(percent); kNoSeverityBand when !lung_found
  // The lung mask has pixels of this lung (total: of either). Without them there is no
  // denominator, so no percentage and no band: never "100 % of nothing but lesion".
  bool lung_found = false;
};

struct SeverityReport {
  std::vector<ClassArea> classes;  // class_areas(lesions, num_classes)
  LungInvolvement right;           // patient right = image left (lung label 1)
  LungInvolvement left;            // patient left = image right (lung label 2)
  LungInvolvement total;           // both lungs: sums of the two, percent and band recomputed
  // Lesion pixels of slices in which the mask found no lung at all (an abdominal slice, a scout):
  // no lung's involvement counts them.
  std::uint64_t lesion_px_without_lung = 0;
};

// lesions: 0 background, 1..num_classes-1 lesion classes, kIgnoreLabel unknown. lungs: 0 outside,
// 1 right lung, 2 left lung (lung_mask.h); other lung values count as outside.
// - A pixel whose lesion value is kIgnoreLabel is excluded from everything (neither lesion nor lung).
// - A lesion pixel (value 1..254) inside a lung counts for that lung.
// - A lesion pixel outside both lungs (effusion in the pleural space, a lesion the classic mask
//   missed) is attributed by side: column < the midline halfway between the two lungs' centroids
//   -> right lung, else left. With only one lung present every such pixel goes to it. Such a pixel
//   also joins the lung's area, so the percentage's denominator is lung ∪ its lesions and can
//   never exceed 100 %.
// - A lung the mask did not find has lung_found false, NaN percent and kNoSeverityBand. With no
//   lung at all, lesion pixels count only in lesion_px_without_lung (and classes).
// The two maps must have the same size; otherwise the report is all zero.
SeverityReport assess_severity(const LabelMap& lesions, const LabelMap& lungs, int num_classes = 4);

// A volume's report from its slices' (assess_severity per slice): class pixels and mm² added in
// slice order, lung, lesion and outside pixels added per lung, then each lung's percentage and
// band recomputed from the sums (a volume's involvement is pixel-weighted, not a mean of
// slices); a lung is found when any slice found it. mm2_known follows the slices (all of a
// volume's slices share its geometry).
SeverityReport sum_severity(const std::vector<SeverityReport>& slices, int num_classes);

}  // namespace corona
