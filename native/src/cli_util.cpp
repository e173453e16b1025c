#include "corona_native/cli_util.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>

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

nlohmann::json finite_or_null(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

}  // namespace corona::native
