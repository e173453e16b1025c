// corona/report.h: the prediction report (`coronanet predict`'s X.json, the server's result, the
// viewer's JSON export), built once from the numbers a run produced, the same in every build.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "corona/plans.h"
#include "corona/severity.h"

namespace corona {

// What a run produced, in the core's terms. Front-ends add their own extras to the JSON (the CLI:
// input, outputs, seconds, device; the viewer: backend and timings).
struct ReportInput {
  std::string file_kind;    // file_kind_name of the sniffed input ("png", "nifti1", ...)
  bool is_volume = false;   // NIfTI (HU, with geometry); false: one 8-bit slice without geometry
  int ndim = 2;             // volumes: the file's dimensions, 2 or 3 (a 2D NIfTI reports 2 dims)
  int nx = 0, ny = 0, nz = 1;
  std::array<double, 3> spacing_mm{1.0, 1.0, 1.0};
  std::string display_orientation;          // DisplayOrientation::describe() (volumes)
  std::vector<float> infected_probability;  // per slice; NaN: no classification head
  std::vector<std::uint64_t> lesion_px;     // per slice: pixels with a label other than 0
  SeverityReport severity;                  // the slice's, or sum_severity over a volume's slices
};

// What one slice contributes to the report, computed once on the slice in display orientation
// (the lung mask's left/right needs it) right after its labels arrive, by every front-end.
struct SliceOutcome {
  float infected_probability = 0.0f;  // NaN: no classification head
  std::uint64_t lesion_px = 0;        // labels other than 0 (kIgnoreLabel never occurs in predictions)
  SeverityReport severity;            // assess_severity(labels, lungs, num_classes)
};
// labels: the prediction in display orientation, with the slice's spacing (mm² need it); lungs:
// the lung mask of the same display slice (lung_mask.h).
SliceOutcome slice_outcome(const LabelMap& labels, const LabelMap& lungs, float infected_probability,
                           int num_classes);
// The per-slice fields of a report from its slices' outcomes, in slice order: infected
// probabilities, lesion pixels and sum_severity (of one slice: that slice's numbers).
void set_slice_outcomes(ReportInput& in, const std::vector<SliceOutcome>& slices, int num_classes);

// The report: file_kind, kind, geometry, infected probability (a volume's: the maximum over
// slices, with the per-slice list), per-class areas (px; mm² and mL when spacing is known),
// per-lung involvement and severity band (null where the lung mask found no such lung; with no
// lung at all also "severity_note", and the lesion pixels of lung-free slices under
// lungs.lesion_px_without_lung), the model (name, version, task, input size, HU window, config)
// and the research-use note. NaN and infinities are written as null.
nlohmann::json build_report(const ReportInput& in, const ModelPlans& plans);

// The numbers of a report that build_report wrote, read back (the browser keeps the server's
// report and draws from these): severity (classes, lungs, lesion_px_without_lung), per-slice
// infected probabilities and, for volumes, lesion pixels. The report must describe the image the
// caller has open: a volume of `slices` slices or one 8-bit slice, num_classes classes. Every
// field is checked, nothing throws; errors say "report: FIELD ...".
Expected<ReportInput> read_report(const nlohmann::json& report, bool is_volume, int slices, int num_classes);

// v as a JSON number, or null when it is NaN or infinite (JSON has no NaN).
nlohmann::json finite_or_null(double v);

// The note every report carries.
extern const char* const kReportNote;

}  // namespace corona
