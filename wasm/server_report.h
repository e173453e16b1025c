// wasm/server_report.h: the report `coronanet serve` returns for a job (GET /api/v1/jobs/{id}/result),
// checked field by field before the viewer keeps it as it came: its severity numbers (what the
// whole-image table draws) and its per-slice infection probabilities.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "corona/image.h"
#include "corona/severity.h"

namespace corona::viewer {

struct ServerReport {
  nlohmann::json json;          // the report as it came
  SeverityReport severity;      // classes (px, mm²) and lungs, read back from json
  std::vector<float> infected;  // per slice: P(infected); NaN where the report has null
};

// The image the report must describe: a volume (NIfTI) of `slices` slices or one 8-bit slice,
// segmented into num_classes classes. Errors say "server report: FIELD ..." (the viewer never
// trusts a network answer's shape; nothing here throws).
Expected<ServerReport> read_server_report(const std::string& text, bool is_volume, int slices, int num_classes);

}  // namespace corona::viewer
