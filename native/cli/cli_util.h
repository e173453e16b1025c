// cli/cli_util.h: what the command-line programs share besides the flag table: numbers parsed
// whole and within ranges, and the model used when no --model is given.
#pragma once

#include <cstdint>
#include <string>

namespace corona::native {

// Whole-string integer in [lo, hi]; false (out untouched) otherwise.
bool parse_int(const std::string& s, long lo, long hi, int& out);
// Whole-string count of decimal digits in [lo, hi]; false (out untouched) otherwise.
bool parse_count(const std::string& s, std::uint64_t lo, std::uint64_t hi, std::uint64_t& out);
// Whole-string finite number; false (out untouched) otherwise.
bool parse_double(const std::string& s, double& out);
// The model used when no --model is given: models/corona-net under the working directory, else
// the one beside this executable's source tree (build/bin/../../models/corona-net).
std::string default_model_path();

}  // namespace corona::native
