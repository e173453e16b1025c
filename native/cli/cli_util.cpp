#include "cli/cli_util.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <filesystem>

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

bool parse_count(const std::string& s, std::uint64_t lo, std::uint64_t hi, std::uint64_t& out) {
  // 19 digits always fit in 64 bits; the range check does the rest.
  if (s.empty() || s.size() > 19 || s.find_first_not_of("0123456789") != std::string::npos) return false;
  const std::uint64_t v = std::stoull(s);
  if (v < lo || v > hi) return false;
  out = v;
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

}  // namespace corona::native
