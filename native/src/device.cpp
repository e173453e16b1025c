#include "corona_native/device.h"

#include <algorithm>

#include <torch/cuda.h>

namespace corona::native {

const std::vector<std::string>& device_names() {
  static const std::vector<std::string> kNames{"auto", "cpu", "cuda"};
  return kNames;
}

Expected<c10::Device> resolve_device(const std::string& name) {
  const auto& names = device_names();
  if (std::find(names.begin(), names.end(), name) == names.end())
    return make_error("device must be auto, cpu or cuda, got \"" + name + "\"");
  const bool cuda_available = torch::cuda::is_available();
  if (name == "cuda" && !cuda_available)
    return make_error("device cuda requested but this LibTorch sees no CUDA device");
  const bool cuda = name == "cuda" || (name == "auto" && cuda_available);
  return c10::Device(cuda ? c10::DeviceType::CUDA : c10::DeviceType::CPU);
}

std::string device_name(const c10::Device& device) { return device.is_cuda() ? "cuda" : "cpu"; }

}  // namespace corona::native
