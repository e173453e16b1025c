// corona_native/device.h: where LibTorch runs: the device names every verb accepts (auto, cpu,
// cuda) and their resolution to a torch device, checked once for every caller.
#pragma once

#include <string>
#include <vector>

#include <c10/core/Device.h>

#include "corona/image.h"

namespace corona::native {

// "auto" (CUDA when this LibTorch sees a device, else the CPU), "cpu", "cuda".
const std::vector<std::string>& device_names();

// The device `name` asks for. An unknown name, or "cuda" without a CUDA device, is an error
// that says which.
Expected<c10::Device> resolve_device(const std::string& name);

// "cpu" or "cuda": how reports and logs name a device.
std::string device_name(const c10::Device& device);

}  // namespace corona::native
