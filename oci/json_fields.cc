#include "oci/json_fields.h"

namespace bld::oci::internal {

namespace {

const nlohmann::json* Find(const nlohmann::json& obj, std::string_view key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

Error TypeError(std::string_view where, std::string_view key, std::string_view expected) {
  return InvalidArgumentError(FieldName(where, key) + ": expected " + std::string(expected));
}

}  // namespace

std::string FieldName(std::string_view where, std::string_view key) {
  if (where.empty()) return std::string(key);
  return std::string(where) + "." + std::string(key);
}

Result<nlohmann::json> ParseJson(std::string_view text, std::string_view what) {
  // nlohmann reports the position of a syntax error only through its exception.
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgumentError(std::string(what) + ": malformed JSON: " + e.what());
  }
}

Result<std::optional<std::string>> GetString(const nlohmann::json& obj, std::string_view key,
                                             std::string_view where) {
  const nlohmann::json* v = Find(obj, key);
  if (v == nullptr) return std::optional<std::string>();
  if (!v->is_string()) return TypeError(where, key, "a string");
  return std::optional<std::string>(v->get<std::string>());
}

Result<std::optional<int64_t>> GetInt(const nlohmann::json& obj, std::string_view key,
                                      std::string_view where) {
  const nlohmann::json* v = Find(obj, key);
  if (v == nullptr) return std::optional<int64_t>();
  if (v->is_number_unsigned()) {
    uint64_t u = v->get<uint64_t>();
    if (u > static_cast<uint64_t>(INT64_MAX)) return TypeError(where, key, "a 64-bit integer");
    return std::optional<int64_t>(static_cast<int64_t>(u));
  }
  if (!v->is_number_integer()) return TypeError(where, key, "an integer");
  return std::optional<int64_t>(v->get<int64_t>());
}

Result<std::optional<bool>> GetBool(const nlohmann::json& obj, std::string_view key,
                                    std::string_view where) {
  const nlohmann::json* v = Find(obj, key);
  if (v == nullptr) return std::optional<bool>();
  if (!v->is_boolean()) return TypeError(where, key, "true or false");
  return std::optional<bool>(v->get<bool>());
}

Result<std::optional<std::vector<std::string>>> GetStringArray(const nlohmann::json& obj,
                                                               std::string_view key,
                                                               std::string_view where) {
  const nlohmann::json* v = Find(obj, key);
  if (v == nullptr) return std::optional<std::vector<std::string>>();
  if (!v->is_array()) return TypeError(where, key, "an array of strings");
  std::vector<std::string> out;
  out.reserve(v->size());
  for (const auto& e : *v) {
    if (!e.is_string()) return TypeError(where, key, "an array of strings");
    out.push_back(e.get<std::string>());
  }
  return std::optional<std::vector<std::string>>(std::move(out));
}

Result<std::map<std::string, std::string>> GetStringMap(const nlohmann::json& obj,
                                                        std::string_view key,
                                                        std::string_view where) {
  std::map<std::string, std::string> out;
  const nlohmann::json* v = Find(obj, key);
  if (v == nullptr) return out;
  if (!v->is_object()) return TypeError(where, key, "an object of strings");
  for (const auto& [k, e] : v->items()) {
    if (!e.is_string()) {
      return InvalidArgumentError(FieldName(FieldName(where, key), k) + ": expected a string");
    }
    out.emplace(k, e.get<std::string>());
  }
  return out;
}

Result<std::vector<std::string>> GetKeySet(const nlohmann::json& obj, std::string_view key,
                                           std::string_view where) {
  std::vector<std::string> out;
  const nlohmann::json* v = Find(obj, key);
  if (v == nullptr) return out;
  if (!v->is_object()) return TypeError(where, key, "an object of empty objects");
  for (const auto& [k, e] : v->items()) {
    if (!e.is_null() && !e.is_object()) {
      return InvalidArgumentError(FieldName(FieldName(where, key), k) + ": expected {}");
    }
    out.push_back(k);  // nlohmann::json keeps object keys sorted and unique
  }
  return out;
}

}  // namespace bld::oci::internal
