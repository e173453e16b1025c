// corona_native/cli_util.h: what every coronanet verb needs: argument numbers parsed with ranges,
// the usage-error exit, and JSON numbers that write NaN/Inf as null (JSON has no NaN).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace corona::native {

struct PredictorOptions;

// Whole-string integer in [lo, hi]; false (out untouched) otherwise.
bool parse_int(const std::string& s, long lo, long hi, int& out);
// Whole-string finite number; false (out untouched) otherwise.
bool parse_double(const std::string& s, double& out);
// Prints "coronanet VERB: MESSAGE", a blank line and the usage to stderr; returns exit code 2.
int usage_error(const char* verb, const std::string& message, const char* usage);
// The flags every verb that loads a model takes: --threads N, --device auto|cpu|cuda. Returns
// false when `flag` is not one of them; otherwise sets `error` ("" when the value is good).
bool parse_predictor_flag(const std::string& flag, const std::string& value, PredictorOptions& options,
                          std::string& error);
// The model used when no --model is given: models/corona-net under the working directory, else
// the one beside this executable's source tree (build/bin/../../models/corona-net).
std::string default_model_path();
// v as a JSON number, or null when it is NaN or infinite.
nlohmann::json finite_or_null(double v);

}  // namespace corona::native
