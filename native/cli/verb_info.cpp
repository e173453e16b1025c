// coronanet info: sniff and decode images, print geometry and intensity range as JSON.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/flags.h"
#include "cli/verbs.h"
#include "corona/file_io.h"
#include "corona/image_io.h"
#include "corona/nifti.h"

namespace corona::native {
namespace {

constexpr std::uint64_t kMaxInputBytes = std::uint64_t{4} << 30;  // larger than any CT volume we accept

template <class Range>
nlohmann::json value_range(const Range& values) {
  double lo = std::numeric_limits<double>::infinity(), hi = -lo, sum = 0.0;
  std::size_t finite = 0;
  for (auto v : values) {
    const double d = static_cast<double>(v);
    if (!std::isfinite(d)) continue;
    lo = std::min(lo, d);
    hi = std::max(hi, d);
    sum += d;
    ++finite;
  }
  if (finite == 0) return {{"finite_values", 0}};
  return {{"min", lo}, {"max", hi}, {"mean", sum / static_cast<double>(finite)},
          {"non_finite_values", values.size() - finite}};
}

nlohmann::json describe_nifti(const NiftiImage& nii) {
  const auto& v = nii.volume;
  std::vector<std::vector<double>> affine(4, std::vector<double>(4));
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) affine[r][c] = v.affine(r, c);
  return {{"format", "NIfTI-1"},
          {"gzip", nii.header.gzipped},
          {"shape", {v.nx, v.ny, v.nz}},
          {"spacing_mm", {v.spacing[0], v.spacing[1], v.spacing[2]}},
          {"affine", affine},
          {"datatype", nii.header.datatype},
          {"qform_code", nii.header.qform_code},
          {"sform_code", nii.header.sform_code},
          {"values", value_range(v.voxels)}};
}

nlohmann::json with_error(nlohmann::json description, const std::string& message) {
  description["error"] = message;
  return description;
}

// Reads one file and describes it; errors are reported per file, not fatal for the others.
nlohmann::json describe_file(const std::string& path) {
  auto read = read_file_bytes(path, kMaxInputBytes);
  if (!read) return {{"file", path}, {"error", read.error().message}};
  const std::vector<std::uint8_t>& bytes = *read;
  nlohmann::json out = {{"file", path}, {"bytes", bytes.size()}};
  const FileKind kind = sniff_file_kind(bytes.data(), bytes.size());
  if (kind == FileKind::kPng || kind == FileKind::kJpeg) {
    auto img = load_image_from_buffer(bytes.data(), bytes.size());
    if (!img) return with_error(out, img.error().message);
    out.update({{"format", file_kind_name(kind)},
                {"shape", {img->width, img->height}},
                {"values", value_range(img->pixels)}});
    return out;
  }
  const bool nifti_like = kind == FileKind::kNifti1 || kind == FileKind::kNifti2 ||
                          kind == FileKind::kGzip;  // .nii.gz: the loader inflates it
  if (!nifti_like) return with_error(out, unsupported_file_message(kind));
  auto nii = load_nifti_from_buffer(bytes.data(), bytes.size());
  if (!nii) return with_error(out, nii.error().message);
  out.update(describe_nifti(*nii));
  return out;
}

// No flags: the files are the arguments.
Command info_command(std::vector<std::string>& files) {
  Command c;
  c.verb = "info";
  c.synopsis = "FILE...";
  c.epilogue =
      "Sniffs and decodes images (NIfTI .nii/.nii.gz, PNG, JPEG) and prints their geometry and\n"
      "intensity range as JSON, one object per file. Exit status 1 if any file failed.\n";
  c.positional = append_text(files);
  return c;
}

}  // namespace

int run_info(int argc, char** argv) {
  std::vector<std::string> files;
  const Command command = info_command(files);
  if (const auto done = parse_command_line(command, argc, argv)) return *done;
  if (files.empty()) return usage_error(command, "give at least one file");
  int failures = 0;
  for (const std::string& file : files) {
    const nlohmann::json d = describe_file(file);
    failures += d.contains("error") ? 1 : 0;
    std::printf("%s\n", d.dump(2).c_str());
  }
  return failures == 0 ? 0 : 1;
}

}  // namespace corona::native
