// Image configuration (OCI image-spec config.md plus Docker's extra fields).
// Every field round-trips: unknown fields of the source document are kept in
// `extra` / `config_extra` and written back.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "oci/digest.h"

namespace bld::oci {

struct HealthConfig {
  std::vector<std::string> test;  // ["NONE"], ["CMD", ...], ["CMD-SHELL", "..."]
  int64_t interval_ns = 0;
  int64_t timeout_ns = 0;
  int64_t start_period_ns = 0;
  int64_t start_interval_ns = 0;
  int retries = 0;
  bool operator==(const HealthConfig&) const = default;
};

// The "config" object: how to run the image.
struct ContainerConfig {
  std::string user;
  std::vector<std::string> exposed_ports;  // "80/tcp", sorted, unique
  std::vector<std::string> env;            // "K=V", in order
  // nullopt = field absent; an empty vector = explicitly empty ([]), which
  // matters for Docker's CMD/ENTRYPOINT reset rule.
  std::optional<std::vector<std::string>> entrypoint;
  std::optional<std::vector<std::string>> cmd;
  std::vector<std::string> volumes;  // sorted, unique
  std::string working_dir;
  std::map<std::string, std::string> labels;
  std::string stop_signal;
  bool args_escaped = false;  // Docker (Windows) field, preserved
  std::optional<HealthConfig> healthcheck;
  std::vector<std::string> on_build;
  std::optional<std::vector<std::string>> shell;
  nlohmann::json extra = nlohmann::json::object();  // unknown keys, kept
  bool operator==(const ContainerConfig&) const = default;

  // Value of K in env, or nullopt.
  std::optional<std::string> GetEnv(std::string_view key) const;
  // Sets or replaces K=V keeping the position of an existing K.
  void SetEnv(std::string_view key, std::string_view value);
};

struct HistoryEntry {
  std::string created;  // RFC 3339, may be empty
  std::string created_by;
  std::string author;
  std::string comment;
  bool empty_layer = false;
  bool operator==(const HistoryEntry&) const = default;
};

struct ImageConfig {
  std::string created;  // RFC 3339, may be empty
  std::string author;
  std::string architecture = "amd64";
  std::string os = "linux";
  std::string os_version;
  std::vector<std::string> os_features;
  std::string variant;
  std::optional<ContainerConfig> config;
  std::vector<Digest> diff_ids;  // rootfs.diff_ids; rootfs.type is always "layers"
  std::vector<HistoryEntry> history;
  nlohmann::json extra = nlohmann::json::object();  // unknown top-level keys, kept
  bool operator==(const ImageConfig&) const = default;

  // Canonical JSON.
  std::string ToJson() const;
  static Result<ImageConfig> Parse(std::string_view json);
};

// Chain ID of a list of diff IDs (OCI image-spec config.md "Layer ChainID").
Digest ChainId(const std::vector<Digest>& diff_ids);

}  // namespace bld::oci
