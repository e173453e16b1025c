// corona_native/precision.h: the arithmetic training runs in: fp32, or bf16 autocast (LibTorch's
// autocast: convolutions and matrix products in bfloat16, weights, optimizer state and losses in
// fp32), chosen by what the machine has: CPUs with native bf16 math (AVX512-BF16, AMX) run bf16
// convolutions faster than fp32 ones; elsewhere bf16 would be emulated and slower.
#pragma once

#include <string>
#include <vector>

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include "corona/image.h"

namespace corona::native {

enum class Precision { kFp32, kBf16 };

// "auto", "bf16", "fp32": what --precision accepts.
const std::vector<std::string>& precision_names();
const char* precision_name(Precision p);  // "fp32" or "bf16"

// This CPU has native bf16 instructions (the avx512_bf16 or amx_bf16 flag in /proc/cpuinfo).
bool cpu_has_native_bf16();

// "auto": bf16 on a CPU with native bf16 math and on CUDA, fp32 otherwise; "bf16" / "fp32" as
// asked (bf16 on a CPU without native support runs, slowly: the caller may warn). An unknown
// name is an error naming the choices.
Expected<Precision> resolve_precision(const std::string& name, const c10::Device& device);

// Autocast for the forward pass and the loss while it lives (a no-op for kFp32), as
// torch.autocast(device_type, dtype=torch.bfloat16) does: the backward pass runs after it ends.
// Not copyable; scopes nest.
class AutocastScope {
 public:
  AutocastScope(Precision precision, const c10::Device& device);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool active_ = false;
  bool cuda_ = false;
  bool was_enabled_ = false;
  c10::ScalarType previous_dtype_{};
};

}  // namespace corona::native
