// shared/src/json_read.h (private to the core): reading JSON without exceptions. The wasm build
// catches none, so a throw from nlohmann's at() / get() on a mistyped field would abort the
// browser viewer; readers look fields up with json_field and check their types themselves.
#pragma once

#include <nlohmann/json.hpp>

namespace corona {

// j[key] when j is an object that has it, else nullptr.
inline const nlohmann::json* json_field(const nlohmann::json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  const auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

}  // namespace corona
