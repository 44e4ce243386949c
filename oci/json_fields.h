// Internal to oci/: typed access to fields of parsed JSON documents, with
// errors that name the field ("config.Env: expected an array of strings").
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace bld::oci::internal {

// Parses `text` as JSON; InvalidArgument naming `what` on a syntax error.
Result<nlohmann::json> ParseJson(std::string_view text, std::string_view what);

// Each getter: absent or null -> nullopt (or the empty value); wrong type ->
// InvalidArgument "<where>.<key>: expected ...".
Result<std::optional<std::string>> GetString(const nlohmann::json& obj, std::string_view key,
                                             std::string_view where);
Result<std::optional<int64_t>> GetInt(const nlohmann::json& obj, std::string_view key,
                                      std::string_view where);
Result<std::optional<bool>> GetBool(const nlohmann::json& obj, std::string_view key,
                                    std::string_view where);
Result<std::optional<std::vector<std::string>>> GetStringArray(const nlohmann::json& obj,
                                                               std::string_view key,
                                                               std::string_view where);
Result<std::map<std::string, std::string>> GetStringMap(const nlohmann::json& obj,
                                                        std::string_view key,
                                                        std::string_view where);
// Keys of an object whose values are empty objects ({"80/tcp": {}}), sorted.
Result<std::vector<std::string>> GetKeySet(const nlohmann::json& obj, std::string_view key,
                                           std::string_view where);

std::string FieldName(std::string_view where, std::string_view key);

}  // namespace bld::oci::internal
