// corona_native/progress.h: how long-running predictions report progress and learn that they were
// cancelled; torch-free so the server's job code can use it without LibTorch's headers.
#pragma once

#include <functional>

namespace corona::native {

// Progress of a volume: slices done of total.
using ProgressFn = std::function<void(int done, int total)>;
// The error message of a prediction stopped through its cancel flag.
inline constexpr const char* kCancelledMessage = "cancelled";

}  // namespace corona::native
