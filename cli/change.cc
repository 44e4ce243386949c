#include "cli/change.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

namespace bld::cli {

namespace {

std::string Trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

// Exec form (a JSON array of strings) or shell form (run by /bin/sh -c).
std::vector<std::string> CommandForm(const std::string& rest) {
  if (rest.starts_with("[")) {
    auto j = nlohmann::json::parse(rest, nullptr, false);
    if (!j.is_discarded() && j.is_array() &&
        std::all_of(j.begin(), j.end(), [](const auto& e) { return e.is_string(); })) {
      return j.get<std::vector<std::string>>();
    }
  }
  return {"/bin/sh", "-c", rest};
}

// Splits "k=v k2="a b"" into pairs, honouring double and single quotes and backslashes.
Result<std::vector<std::pair<std::string, std::string>>> KeyValues(const std::string& rest,
                                                                    const std::string& what) {
  std::vector<std::pair<std::string, std::string>> out;
  size_t i = 0;
  while (i < rest.size()) {
    while (i < rest.size() && std::isspace(static_cast<unsigned char>(rest[i]))) ++i;
    if (i >= rest.size()) break;
    std::string word;
    char quote = 0;
    for (; i < rest.size(); ++i) {
      char c = rest[i];
      if (quote == 0 && std::isspace(static_cast<unsigned char>(c))) break;
      if (c == '\\' && quote != '\'' && i + 1 < rest.size()) {
        word += rest[++i];
      } else if ((c == '"' || c == '\'') && (quote == 0 || quote == c)) {
        quote = quote == 0 ? c : 0;
      } else {
        word += c;
      }
    }
    if (quote != 0) return InvalidArgumentError(what + ": unterminated quote in \"" + rest + "\"");
    size_t eq = word.find('=');
    if (eq == std::string::npos || eq == 0) {
      return InvalidArgumentError(what + ": expected KEY=VALUE, got \"" + word + "\"");
    }
    out.emplace_back(word.substr(0, eq), word.substr(eq + 1));
  }
  if (out.empty()) return InvalidArgumentError(what + " needs at least one KEY=VALUE");
  return out;
}

}  // namespace

Status ApplyChange(const std::string& instruction, oci::ContainerConfig* config) {
  std::string text = Trim(instruction);
  size_t sp = text.find_first_of(" \t");
  std::string word = text.substr(0, sp);
  std::string rest = sp == std::string::npos ? "" : Trim(text.substr(sp));
  std::transform(word.begin(), word.end(), word.begin(), ::toupper);
  if (rest.empty()) return InvalidArgumentError(word + " needs an argument: \"" + text + "\"");
  if (word == "CMD") {
    config->cmd = CommandForm(rest);
  } else if (word == "ENTRYPOINT") {
    config->entrypoint = CommandForm(rest);
    config->cmd.reset();  // Docker resets CMD when ENTRYPOINT is set
  } else if (word == "ENV") {
    if (rest.find('=') == std::string::npos || rest.find_first_of(" \t") < rest.find('=')) {
      // Legacy "ENV KEY value with spaces".
      size_t s = rest.find_first_of(" \t");
      if (s == std::string::npos) return InvalidArgumentError("ENV " + rest + " needs a value");
      config->SetEnv(rest.substr(0, s), Trim(rest.substr(s)));
    } else {
      BLD_ASSIGN_OR_RETURN(auto kvs, KeyValues(rest, "ENV"));
      for (const auto& [k, v] : kvs) config->SetEnv(k, v);
    }
  } else if (word == "LABEL") {
    BLD_ASSIGN_OR_RETURN(auto kvs, KeyValues(rest, "LABEL"));
    for (const auto& [k, v] : kvs) config->labels[k] = v;
  } else if (word == "WORKDIR") {
    config->working_dir = rest.starts_with("/") || config->working_dir.empty()
                              ? rest
                              : config->working_dir + "/" + rest;
    if (!config->working_dir.starts_with("/")) config->working_dir = "/" + config->working_dir;
  } else if (word == "USER") {
    config->user = rest;
  } else if (word == "STOPSIGNAL") {
    config->stop_signal = rest;
  } else if (word == "EXPOSE" || word == "VOLUME") {
    std::vector<std::string> items;
    if (word == "VOLUME" && rest.starts_with("[")) {
      items = CommandForm(rest);
      if (items.size() == 3 && items[0] == "/bin/sh") {
        return InvalidArgumentError("VOLUME: invalid JSON array: " + rest);
      }
    } else {
      size_t i = 0;
      while (i < rest.size()) {
        size_t j = rest.find_first_of(" \t", i);
        if (j == std::string::npos) j = rest.size();
        if (j > i) items.push_back(rest.substr(i, j - i));
        i = j + 1;
      }
    }
    auto& list = word == "EXPOSE" ? config->exposed_ports : config->volumes;
    for (auto item : items) {
      if (word == "EXPOSE") {
        if (item.find('/') == std::string::npos) item += "/tcp";
        std::string port = item.substr(0, item.find('/'));
        std::string proto = item.substr(item.find('/') + 1);
        if (port.empty() || !std::all_of(port.begin(), port.end(), ::isdigit) ||
            (proto != "tcp" && proto != "udp" && proto != "sctp")) {
          return InvalidArgumentError("EXPOSE: invalid port \"" + item + "\"");
        }
      }
      if (std::find(list.begin(), list.end(), item) == list.end()) list.push_back(item);
    }
    std::sort(list.begin(), list.end());
  } else {
    return InvalidArgumentError("--change does not support " + word +
                                " (supported: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, "
                                "USER, VOLUME, WORKDIR)");
  }
  return Ok();
}

}  // namespace bld::cli
