#include "oci/config.h"

#include <algorithm>
#include <set>

#include "oci/json_fields.h"

namespace bld::oci {

namespace {

using internal::GetBool;
using internal::GetInt;
using internal::GetKeySet;
using internal::GetString;
using internal::GetStringArray;
using internal::GetStringMap;

constexpr std::string_view kConfigKeys[] = {
    "User",   "ExposedPorts", "Env",         "Entrypoint",  "Cmd",     "Volumes", "WorkingDir",
    "Labels", "StopSignal",   "ArgsEscaped", "Healthcheck", "OnBuild", "Shell"};
constexpr std::string_view kTopKeys[] = {"created",    "author",      "architecture", "os",
                                         "os.version", "os.features", "variant",      "config",
                                         "rootfs",     "history"};

template <size_t N>
bool IsKnown(const std::string_view (&keys)[N], std::string_view k) {
  return std::find(std::begin(keys), std::end(keys), k) != std::end(keys);
}

nlohmann::ordered_json KeySet(const std::vector<std::string>& keys) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (const std::string& k : keys) j[k] = nlohmann::ordered_json::object();
  return j;
}

std::vector<std::string> SortedUnique(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

nlohmann::ordered_json HealthToJson(const HealthConfig& h) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  if (!h.test.empty()) j["Test"] = h.test;
  if (h.interval_ns != 0) j["Interval"] = h.interval_ns;
  if (h.timeout_ns != 0) j["Timeout"] = h.timeout_ns;
  if (h.start_period_ns != 0) j["StartPeriod"] = h.start_period_ns;
  if (h.start_interval_ns != 0) j["StartInterval"] = h.start_interval_ns;
  if (h.retries != 0) j["Retries"] = h.retries;
  return j;
}

Result<HealthConfig> HealthFromJson(const nlohmann::json& j) {
  constexpr std::string_view where = "config.Healthcheck";
  if (!j.is_object()) return InvalidArgumentError("config.Healthcheck: expected an object");
  HealthConfig h;
  BLD_ASSIGN_OR_RETURN(auto test, GetStringArray(j, "Test", where));
  if (test) h.test = std::move(*test);
  BLD_ASSIGN_OR_RETURN(auto interval, GetInt(j, "Interval", where));
  h.interval_ns = interval.value_or(0);
  BLD_ASSIGN_OR_RETURN(auto timeout, GetInt(j, "Timeout", where));
  h.timeout_ns = timeout.value_or(0);
  BLD_ASSIGN_OR_RETURN(auto start_period, GetInt(j, "StartPeriod", where));
  h.start_period_ns = start_period.value_or(0);
  BLD_ASSIGN_OR_RETURN(auto start_interval, GetInt(j, "StartInterval", where));
  h.start_interval_ns = start_interval.value_or(0);
  BLD_ASSIGN_OR_RETURN(auto retries, GetInt(j, "Retries", where));
  if (retries && (*retries < INT32_MIN || *retries > INT32_MAX)) {
    return InvalidArgumentError("config.Healthcheck.Retries: out of range");
  }
  h.retries = static_cast<int>(retries.value_or(0));
  return h;
}

nlohmann::ordered_json ContainerConfigToJson(const ContainerConfig& c) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  if (!c.user.empty()) j["User"] = c.user;
  if (!c.exposed_ports.empty()) j["ExposedPorts"] = KeySet(SortedUnique(c.exposed_ports));
  if (!c.env.empty()) j["Env"] = c.env;
  if (c.entrypoint) j["Entrypoint"] = *c.entrypoint;
  if (c.cmd) j["Cmd"] = *c.cmd;
  if (!c.volumes.empty()) j["Volumes"] = KeySet(SortedUnique(c.volumes));
  if (!c.working_dir.empty()) j["WorkingDir"] = c.working_dir;
  if (!c.labels.empty()) j["Labels"] = c.labels;
  if (!c.stop_signal.empty()) j["StopSignal"] = c.stop_signal;
  if (c.args_escaped) j["ArgsEscaped"] = true;
  if (c.healthcheck) j["Healthcheck"] = HealthToJson(*c.healthcheck);
  if (!c.on_build.empty()) j["OnBuild"] = c.on_build;
  if (c.shell) j["Shell"] = *c.shell;
  for (const auto& [k, v] : c.extra.items()) {
    if (!IsKnown(kConfigKeys, k)) j[k] = v;
  }
  return j;
}

Result<ContainerConfig> ContainerConfigFromJson(const nlohmann::json& j) {
  constexpr std::string_view where = "config";
  if (!j.is_object()) return InvalidArgumentError("config: expected an object");
  ContainerConfig c;
  BLD_ASSIGN_OR_RETURN(auto user, GetString(j, "User", where));
  c.user = user.value_or("");
  BLD_ASSIGN_OR_RETURN(c.exposed_ports, GetKeySet(j, "ExposedPorts", where));
  BLD_ASSIGN_OR_RETURN(auto env, GetStringArray(j, "Env", where));
  if (env) c.env = std::move(*env);
  BLD_ASSIGN_OR_RETURN(c.entrypoint, GetStringArray(j, "Entrypoint", where));
  BLD_ASSIGN_OR_RETURN(c.cmd, GetStringArray(j, "Cmd", where));
  BLD_ASSIGN_OR_RETURN(c.volumes, GetKeySet(j, "Volumes", where));
  BLD_ASSIGN_OR_RETURN(auto working_dir, GetString(j, "WorkingDir", where));
  c.working_dir = working_dir.value_or("");
  BLD_ASSIGN_OR_RETURN(c.labels, GetStringMap(j, "Labels", where));
  BLD_ASSIGN_OR_RETURN(auto stop_signal, GetString(j, "StopSignal", where));
  c.stop_signal = stop_signal.value_or("");
  BLD_ASSIGN_OR_RETURN(auto args_escaped, GetBool(j, "ArgsEscaped", where));
  c.args_escaped = args_escaped.value_or(false);
  auto health = j.find("Healthcheck");
  if (health != j.end() && !health->is_null()) {
    BLD_ASSIGN_OR_RETURN(HealthConfig h, HealthFromJson(*health));
    c.healthcheck = std::move(h);
  }
  BLD_ASSIGN_OR_RETURN(auto on_build, GetStringArray(j, "OnBuild", where));
  if (on_build) c.on_build = std::move(*on_build);
  BLD_ASSIGN_OR_RETURN(c.shell, GetStringArray(j, "Shell", where));
  for (const auto& [k, v] : j.items()) {
    if (!IsKnown(kConfigKeys, k)) c.extra[k] = v;
  }
  return c;
}

Result<HistoryEntry> HistoryFromJson(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) return InvalidArgumentError(where + ": expected an object");
  HistoryEntry h;
  BLD_ASSIGN_OR_RETURN(auto created, GetString(j, "created", where));
  h.created = created.value_or("");
  BLD_ASSIGN_OR_RETURN(auto created_by, GetString(j, "created_by", where));
  h.created_by = created_by.value_or("");
  BLD_ASSIGN_OR_RETURN(auto author, GetString(j, "author", where));
  h.author = author.value_or("");
  BLD_ASSIGN_OR_RETURN(auto comment, GetString(j, "comment", where));
  h.comment = comment.value_or("");
  BLD_ASSIGN_OR_RETURN(auto empty_layer, GetBool(j, "empty_layer", where));
  h.empty_layer = empty_layer.value_or(false);
  return h;
}

}  // namespace

std::optional<std::string> ContainerConfig::GetEnv(std::string_view key) const {
  for (const std::string& e : env) {
    if (e.size() > key.size() && e.compare(0, key.size(), key) == 0 && e[key.size()] == '=') {
      return e.substr(key.size() + 1);
    }
    if (e == key) return std::string();  // "K" without "=": set and empty
  }
  return std::nullopt;
}

void ContainerConfig::SetEnv(std::string_view key, std::string_view value) {
  std::string entry = std::string(key) + "=" + std::string(value);
  for (std::string& e : env) {
    if ((e.size() > key.size() && e.compare(0, key.size(), key) == 0 && e[key.size()] == '=') ||
        e == key) {
      e = std::move(entry);
      return;
    }
  }
  env.push_back(std::move(entry));
}

std::string ImageConfig::ToJson() const {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  if (!created.empty()) j["created"] = created;
  if (!author.empty()) j["author"] = author;
  j["architecture"] = architecture;
  if (!variant.empty()) j["variant"] = variant;
  j["os"] = os;
  if (!os_version.empty()) j["os.version"] = os_version;
  if (!os_features.empty()) j["os.features"] = os_features;
  if (config) j["config"] = ContainerConfigToJson(*config);
  nlohmann::ordered_json rootfs = nlohmann::ordered_json::object();
  rootfs["type"] = "layers";
  nlohmann::ordered_json ids = nlohmann::ordered_json::array();
  for (const Digest& d : diff_ids) ids.push_back(d.str());
  rootfs["diff_ids"] = std::move(ids);
  j["rootfs"] = std::move(rootfs);
  if (!history.empty()) {
    nlohmann::ordered_json hist = nlohmann::ordered_json::array();
    for (const HistoryEntry& h : history) {
      nlohmann::ordered_json e = nlohmann::ordered_json::object();
      if (!h.created.empty()) e["created"] = h.created;
      if (!h.created_by.empty()) e["created_by"] = h.created_by;
      if (!h.author.empty()) e["author"] = h.author;
      if (!h.comment.empty()) e["comment"] = h.comment;
      if (h.empty_layer) e["empty_layer"] = true;
      hist.push_back(std::move(e));
    }
    j["history"] = std::move(hist);
  }
  for (const auto& [k, v] : extra.items()) {
    if (!IsKnown(kTopKeys, k)) j[k] = v;
  }
  return j.dump();
}

Result<ImageConfig> ImageConfig::Parse(std::string_view json) {
  BLD_ASSIGN_OR_RETURN(nlohmann::json j, internal::ParseJson(json, "image config"));
  if (!j.is_object()) return InvalidArgumentError("image config: expected a JSON object");
  constexpr std::string_view where = "";
  ImageConfig c;
  BLD_ASSIGN_OR_RETURN(auto created, GetString(j, "created", where));
  c.created = created.value_or("");
  BLD_ASSIGN_OR_RETURN(auto author, GetString(j, "author", where));
  c.author = author.value_or("");
  BLD_ASSIGN_OR_RETURN(auto architecture, GetString(j, "architecture", where));
  if (!architecture || architecture->empty()) {
    return InvalidArgumentError("image config: architecture is missing");
  }
  c.architecture = *architecture;
  BLD_ASSIGN_OR_RETURN(auto os, GetString(j, "os", where));
  if (!os || os->empty()) return InvalidArgumentError("image config: os is missing");
  c.os = *os;
  BLD_ASSIGN_OR_RETURN(auto os_version, GetString(j, "os.version", where));
  c.os_version = os_version.value_or("");
  BLD_ASSIGN_OR_RETURN(auto os_features, GetStringArray(j, "os.features", where));
  if (os_features) c.os_features = std::move(*os_features);
  BLD_ASSIGN_OR_RETURN(auto variant, GetString(j, "variant", where));
  c.variant = variant.value_or("");
  auto config = j.find("config");
  if (config != j.end() && !config->is_null()) {
    BLD_ASSIGN_OR_RETURN(ContainerConfig cc, ContainerConfigFromJson(*config));
    c.config = std::move(cc);
  }
  auto rootfs = j.find("rootfs");
  if (rootfs == j.end() || rootfs->is_null()) {
    return InvalidArgumentError("image config: rootfs is missing");
  }
  if (!rootfs->is_object()) return InvalidArgumentError("rootfs: expected an object");
  BLD_ASSIGN_OR_RETURN(auto type, GetString(*rootfs, "type", "rootfs"));
  if (!type || *type != "layers") {
    return InvalidArgumentError("rootfs.type: expected \"layers\", got \"" + type.value_or("") +
                                "\"");
  }
  BLD_ASSIGN_OR_RETURN(auto diff_ids, GetStringArray(*rootfs, "diff_ids", "rootfs"));
  if (diff_ids) {
    for (size_t i = 0; i < diff_ids->size(); ++i) {
      auto d = Digest::Parse((*diff_ids)[i]);
      if (!d.ok()) return std::move(d).error().Wrap("rootfs.diff_ids[" + std::to_string(i) + "]");
      c.diff_ids.push_back(*d);
    }
  }
  auto history = j.find("history");
  if (history != j.end() && !history->is_null()) {
    if (!history->is_array()) return InvalidArgumentError("history: expected an array");
    for (size_t i = 0; i < history->size(); ++i) {
      BLD_ASSIGN_OR_RETURN(HistoryEntry h,
                           HistoryFromJson((*history)[i], "history[" + std::to_string(i) + "]"));
      c.history.push_back(std::move(h));
    }
  }
  for (const auto& [k, v] : j.items()) {
    if (!IsKnown(kTopKeys, k)) c.extra[k] = v;
  }
  return c;
}

Digest ChainId(const std::vector<Digest>& diff_ids) {
  if (diff_ids.empty()) return Digest();
  Digest chain = diff_ids[0];
  for (size_t i = 1; i < diff_ids.size(); ++i) {
    chain = Digest::Of(chain.str() + " " + diff_ids[i].str());
  }
  return chain;
}

}  // namespace bld::oci
