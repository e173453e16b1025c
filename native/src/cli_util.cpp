#include "corona_native/cli_util.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "corona_native/inference.h"

namespace corona::native {

bool parse_int(const std::string& s, long lo, long hi, int& out) {
  if (s.empty()) return false;
  errno = 0;
  char* end = nullptr;
  const long v = std::strtol(s.c_str(), &end, 10);
  if (errno != 0 || *end != '\0' || v < lo || v > hi) return false;
  out = static_cast<int>(v);
  return true;
}

bool parse_double(const std::string& s, double& out) {
  if (s.empty()) return false;
  errno = 0;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (errno != 0 || *end != '\0' || !std::isfinite(v)) return false;
  out = v;
  return true;
}

int usage_error(const char* verb, const std::string& message, const char* usage) {
  std::fprintf(stderr, "coronanet %s: %s\n\n%s", verb, message.c_str(), usage);
  return 2;
}

bool parse_predictor_flag(const std::string& flag, const std::string& value, PredictorOptions& options,
                          std::string& error) {
  error.clear();
  if (flag == "--threads") {
    if (!parse_int(value, 0, 1024, options.threads)) error = "bad value '" + value + "' for --threads: expected 0..1024";
    return true;
  }
  if (flag == "--device") {
    if (value != "auto" && value != "cpu" && value != "cuda") error = "--device must be auto, cpu or cuda";
    else options.device = value;
    return true;
  }
  return false;
}

std::string default_model_path() {
  namespace fs = std::filesystem;
  const fs::path relative = fs::path("models") / "corona-net";
  std::error_code ec;
  if (fs::is_directory(relative, ec)) return relative.string();
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const fs::path beside = exe.parent_path().parent_path().parent_path() / relative;
    if (fs::is_directory(beside, ec)) return beside.string();
  }
  return relative.string();  // missing: the caller's error names it
}

nlohmann::json finite_or_null(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

}  // namespace corona::native
