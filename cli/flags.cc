#include "cli/flags.h"

#include <cstdio>
#include <map>
#include <utility>

#include "cli/common.h"

#ifndef BLD_VERSION
#define BLD_VERSION "0.1.0"
#endif

namespace bld::cli {

const char* BldVersion() { return BLD_VERSION; }

std::string HelpFormatter::make_option_name(const CLI::Option* opt, bool positional) const {
  if (positional) return opt->get_name();
  std::string out;
  for (const auto& s : opt->get_snames()) out += (out.empty() ? "-" : ", -") + s;
  for (const auto& l : opt->get_lnames()) out += (out.empty() ? "--" : ", --") + l;
  return out;
}

namespace {
bool TakesValue(const CLI::Option* opt) {
  return opt->get_expected_max() != 0 && opt->get_type_size_max() != 0;
}
}  // namespace

std::string HelpFormatter::make_option_opts(const CLI::Option* opt) const {
  if (opt->get_positional()) return "";
  if (!opt->get_option_text().empty()) return " " + opt->get_option_text();
  if (!TakesValue(opt)) return "";  // a flag
  if (opt->get_expected_max() > 1) return " list";
  std::string type = opt->get_type_name();
  type = type.substr(0, type.find(':'));
  if (type == "INT" || type == "UINT") return " int";
  if (type == "FLOAT") return " float";
  return " string";
}

namespace {

// docker's verbs under `image` and `container` that map to a bld command.
const std::map<std::pair<std::string, std::string>, std::string>& Aliases() {
  static const auto* const kAliases = new std::map<std::pair<std::string, std::string>, std::string>{
      {{"image", "ls"}, "images"},      {{"image", "list"}, "images"},
      {{"image", "rm"}, "rmi"},         {{"image", "remove"}, "rmi"},
      {{"image", "inspect"}, "inspect"}, {{"image", "tag"}, "tag"},
      {{"image", "save"}, "save"},      {{"image", "load"}, "load"},
      {{"image", "pull"}, "pull"},      {{"image", "push"}, "push"},
      {{"image", "import"}, "import"},  {{"image", "build"}, "build"},
      {{"image", "history"}, "history"},
      {{"container", "ls"}, "ps"},      {{"container", "list"}, "ps"},
      {{"container", "ps"}, "ps"},      {{"container", "rm"}, "rm"},
      {{"container", "remove"}, "rm"},  {{"container", "logs"}, "logs"},
      {{"container", "stop"}, "stop"},  {{"container", "run"}, "run"},
      {{"system", "prune"}, "prune -a"},
  };
  return *kAliases;
}

int Usage(const std::string& command, const std::string& message) {
  std::fprintf(stderr, "bld: %s\nSee 'bld %s--help'.\n", message.c_str(),
               command.empty() ? "" : (command + " ").c_str());
  return command == "run" ? kExitBldFailed : kExitUsage;
}

}  // namespace

PreParse PrepareArgs(const CLI::App& app, std::vector<std::string>* args) {
  PreParse out;
  std::vector<std::string>& a = *args;
  size_t i = 0;
  // Global flags before the command.
  for (; i < a.size() && a[i].size() > 1 && a[i][0] == '-'; ++i) {
    const std::string& arg = a[i];
    if (arg == "-v" || arg == "--version") {
      std::printf("bld version %s\n", BldVersion());
      out.exit_code = kExitOk;
      return out;
    }
    if (arg == "-h" || arg == "--help" || arg == "--help-all") return out;
    std::string name = arg.substr(0, arg.find('='));
    const CLI::Option* opt = app.get_option_no_throw(name);
    if (opt == nullptr) {
      out.exit_code = Usage("", "unknown flag: " + name);
      return out;
    }
    if (TakesValue(opt) && name.size() == arg.size()) ++i;
  }
  if (i >= a.size()) return out;  // CLI11 prints the help
  if (a[i] == "help") {
    a.erase(a.begin() + static_cast<long>(i));
    if (i < a.size()) a.insert(a.begin() + static_cast<long>(i) + 1, "--help");
    else a.push_back("--help");
    if (i >= a.size() - 1) return out;  // `bld help`
  }
  if (a[i] == "image" || a[i] == "container" || a[i] == "system") {
    std::string group = a[i];
    if (i + 1 >= a.size() || a[i + 1] == "--help" || a[i + 1] == "-h") {
      std::string verbs;
      for (const auto& [k, v] : Aliases()) {
        if (k.first == group) verbs += " " + k.second;
      }
      std::fprintf(stderr, "bld: %s needs a command:%s\n", group.c_str(), verbs.c_str());
      out.exit_code = kExitUsage;
      return out;
    }
    auto it = Aliases().find({group, a[i + 1]});
    if (it == Aliases().end()) {
      out.exit_code = Usage("", "'" + group + " " + a[i + 1] + "' is not a bld command");
      return out;
    }
    // "prune -a": a command and the flags the alias implies.
    std::vector<std::string> words;
    for (size_t b = 0, e; b < it->second.size(); b = e + 1) {
      e = it->second.find(' ', b);
      if (e == std::string::npos) e = it->second.size();
      words.push_back(it->second.substr(b, e - b));
    }
    a.erase(a.begin() + static_cast<long>(i), a.begin() + static_cast<long>(i) + 2);
    a.insert(a.begin() + static_cast<long>(i), words.begin(), words.end());
  }
  out.command = a[i];
  auto subs = app.get_subcommands(
      [&](const CLI::App* s) { return s->get_name() == out.command; });
  if (subs.empty()) {
    out.exit_code = Usage("", "'" + out.command + "' is not a bld command");
    out.command.clear();
    return out;
  }
  const CLI::App* sub = subs[0];
  for (size_t j = i + 1; j < a.size(); ++j) {
    const std::string& arg = a[j];
    if (arg == "--") break;
    if (arg.size() < 2 || arg[0] != '-') {
      if (out.command == "run") {
        // The image: bld's flags end here, the rest is the container's command.
        a.insert(a.begin() + static_cast<long>(j), "--");
        break;
      }
      continue;
    }
    if (arg.starts_with("--")) {
      std::string name = arg.substr(0, arg.find('='));
      const CLI::Option* opt = sub->get_option_no_throw(name);
      if (opt == nullptr) {
        out.exit_code = Usage(out.command, "unknown flag: " + name);
        return out;
      }
      if (TakesValue(opt) && name.size() == arg.size()) ++j;
      continue;
    }
    // -abc: flags that may end in one taking a value (-it, -tNAME, -t NAME).
    for (size_t k = 1; k < arg.size(); ++k) {
      const CLI::Option* opt = sub->get_option_no_throw(std::string("-") + arg[k]);
      if (opt == nullptr) {
        out.exit_code =
            Usage(out.command, std::string("unknown shorthand flag: '") + arg[k] + "' in " + arg);
        return out;
      }
      if (TakesValue(opt)) {
        if (k + 1 == arg.size()) ++j;
        break;
      }
    }
  }
  return out;
}

}  // namespace bld::cli
