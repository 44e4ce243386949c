#include "parser/variables.h"

#include <algorithm>

namespace bld::parser {
namespace {

ShellWordOptions OptionsFor(char escape) {
  ShellWordOptions o;
  o.escape_token = escape;
  return o;
}

}  // namespace

Result<EnvMap> ResolveMetaArgs(const std::vector<Instruction>& meta_args, const EnvMap& build_args,
                               const EnvMap& predefined, char escape_token) {
  EnvMap values;
  for (const Instruction& ins : meta_args) {
    const auto* arg = std::get_if<ArgInstruction>(&ins.value);
    if (arg == nullptr) continue;
    for (const ArgDecl& d : arg->args) {
      auto b = build_args.find(d.key);
      if (b != build_args.end()) {
        values[d.key] = b->second;
        continue;
      }
      if (d.value) {
        EnvMap scope = predefined;
        for (const auto& [k, v] : values) scope[k] = v;
        auto v = ExpandWord(*d.value, scope, OptionsFor(escape_token));
        if (!v.ok()) {
          return InvalidArgumentError("line " + std::to_string(ins.start_line) + ": ARG " + d.key +
                                      ": " + v.error().message());
        }
        values[d.key] = std::move(*v);
        continue;
      }
      auto p = predefined.find(d.key);
      if (p != predefined.end()) values[d.key] = p->second;
    }
  }
  return values;
}

Result<std::string> ExpandWithMetaArgs(std::string_view word, const EnvMap& meta_values,
                                       char escape_token) {
  return ExpandWord(word, meta_values, OptionsFor(escape_token));
}

StageVariables::StageVariables(const std::vector<std::string>& image_env, EnvMap meta_values,
                               EnvMap build_args, EnvMap predefined, char escape_token)
    : env_(image_env),
      meta_values_(std::move(meta_values)),
      build_args_(std::move(build_args)),
      predefined_(std::move(predefined)),
      escape_token_(escape_token) {
  env_map_ = BuildEnvMap(env_);
  for (size_t i = 0; i < env_.size(); ++i) {
    const std::string& e = env_[i];
    env_index_.emplace(e.substr(0, e.find('=')), i);
  }
  visible_ = env_map_;
}

ShellWordOptions StageVariables::Options() const { return OptionsFor(escape_token_); }

Result<std::vector<ArgDecl>> StageVariables::Declare(const ArgInstruction& arg) {
  // As BuildKit's dispatchArg, one name at a time: the --build-arg, else the default
  // expanded with what is visible now (an earlier name of the same ARG included; not
  // evaluated when a build arg is given), else the global value. Names never expand.
  std::vector<ArgDecl> declared;
  for (const ArgDecl& d : arg.args) {
    std::optional<std::string> value;
    auto b = build_args_.find(d.key);
    if (b != build_args_.end()) {
      value = b->second;
      consumed_.insert(d.key);
    } else if (d.value) {
      BLD_ASSIGN_OR_RETURN(std::string v, Expand(*d.value));
      value = std::move(v);
    } else if (auto m = meta_values_.find(d.key); m != meta_values_.end()) {
      value = m->second;
    } else if (auto p = predefined_.find(d.key); p != predefined_.end()) {
      value = p->second;
    }
    declared.push_back(ArgDecl{d.key, value});
    // A valued (re-)declaration moves to the end of the environment; one without a value
    // keeps the earlier value (BuildKit only ever adds to the stage's environment).
    if (value) {
      args_.erase(std::remove_if(args_.begin(), args_.end(),
                                 [&](const auto& kv) { return kv.first == d.key; }),
                  args_.end());
      if (env_map_.find(d.key) == env_map_.end()) visible_[d.key] = *value;
      args_.emplace_back(d.key, std::move(*value));
    }
    if (std::find(declared_.begin(), declared_.end(), d.key) == declared_.end()) {
      declared_.push_back(d.key);
    }
  }
  return declared;
}

std::vector<std::string> StageVariables::HistoryArgs() const {
  const EnvMap& visible = Visible();
  std::vector<std::string> out;
  for (const auto& k : declared_) {
    auto it = visible.find(k);
    out.push_back(k + "=" + (it == visible.end() ? std::string() : it->second));
  }
  return out;
}

void StageVariables::SetEnvVar(const std::string& key, const std::string& value) {
  std::string entry = key + "=" + value;
  auto [it, added] = env_index_.emplace(key, env_.size());
  if (added) {
    env_.push_back(std::move(entry));
  } else {
    env_[it->second] = std::move(entry);
  }
  env_map_[key] = value;
  visible_[key] = value;
}

Result<std::vector<KeyValue>> StageVariables::SetEnv(const EnvInstruction& env) {
  BLD_ASSIGN_OR_RETURN(std::vector<KeyValue> pairs, ExpandPairs(env.vars));
  for (const KeyValue& kv : pairs) {
    if (kv.key.empty()) return InvalidArgumentError("ENV names can not be blank");
  }
  for (const KeyValue& kv : pairs) SetEnvVar(kv.key, kv.value);
  return pairs;
}

Result<std::string> StageVariables::Expand(std::string_view word) const {
  return ExpandWord(word, Visible(), Options());
}

Result<std::string> StageVariables::ExpandHeredoc(std::string_view body) const {
  ShellWordOptions options = Options();
  options.skip_process_quotes = true;
  return ExpandWord(body, Visible(), options);
}

Result<std::vector<std::string>> StageVariables::ExpandSplit(std::string_view word) const {
  return ExpandWords(word, Visible(), Options());
}

Result<std::vector<KeyValue>> StageVariables::ExpandPairs(
    const std::vector<KeyValue>& pairs) const {
  const EnvMap& visible = Visible();
  std::vector<KeyValue> out;
  for (const KeyValue& kv : pairs) {
    BLD_ASSIGN_OR_RETURN(std::string k, ExpandWord(kv.key, visible, Options()));
    BLD_ASSIGN_OR_RETURN(std::string v, ExpandWord(kv.value, visible, Options()));
    out.push_back(KeyValue{std::move(k), std::move(v)});
  }
  return out;
}

std::vector<std::string> StageVariables::RunEnv() const {
  std::vector<std::string> out = env_;
  for (const auto& [k, v] : args_) {
    if (env_map_.find(k) == env_map_.end()) out.push_back(k + "=" + v);
  }
  return out;
}

}  // namespace bld::parser
