// precision.cpp: fp32 or bf16 autocast for training (precision.h).
#include "corona_native/precision.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include <ATen/autocast_mode.h>

namespace corona::native {

const std::vector<std::string>& precision_names() {
  static const std::vector<std::string> kNames{"auto", "bf16", "fp32"};
  return kNames;
}

const char* precision_name(Precision p) { return p == Precision::kBf16 ? "bf16" : "fp32"; }

bool cpu_has_native_bf16() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("flags", 0) != 0) continue;
    std::istringstream flags(line.substr(line.find(':') + 1));
    for (std::string f; flags >> f;)
      if (f == "avx512_bf16" || f == "amx_bf16") return true;
    return false;  // the first CPU's flags speak for all
  }
  return false;
}

Expected<Precision> resolve_precision(const std::string& name, const c10::Device& device) {
  if (name == "fp32") return Precision::kFp32;
  if (name == "bf16") return Precision::kBf16;
  if (name != "auto") return make_error("precision must be auto, bf16 or fp32, got \"" + name + "\"");
  return device.is_cuda() || cpu_has_native_bf16() ? Precision::kBf16 : Precision::kFp32;
}

AutocastScope::AutocastScope(Precision precision, const c10::Device& device)
    : active_(precision == Precision::kBf16), cuda_(device.is_cuda()) {
  if (!active_) return;
  if (cuda_) {
    was_enabled_ = at::autocast::is_enabled();
    previous_dtype_ = at::autocast::get_autocast_gpu_dtype();
    at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
    at::autocast::set_enabled(true);
  } else {
    was_enabled_ = at::autocast::is_cpu_enabled();
    previous_dtype_ = at::autocast::get_autocast_cpu_dtype();
    at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
    at::autocast::set_cpu_enabled(true);
  }
  at::autocast::increment_nesting();
}

AutocastScope::~AutocastScope() {
  if (!active_) return;
  // The outermost scope drops the cached bf16 copies of the weights: the optimizer changes them.
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  if (cuda_) {
    at::autocast::set_enabled(was_enabled_);
    at::autocast::set_autocast_gpu_dtype(previous_dtype_);
  } else {
    at::autocast::set_cpu_enabled(was_enabled_);
    at::autocast::set_autocast_cpu_dtype(previous_dtype_);
  }
}

}  // namespace corona::native
