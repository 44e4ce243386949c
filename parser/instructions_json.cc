// DockerfileToJson: the `bld parse --format json` rendering of instructions.h.
#include <nlohmann/json.hpp>

#include "parser/instructions.h"

namespace bld::parser {
namespace {

using nlohmann::json;

json CommandJson(const CommandLine& c) {
  return json{{"args", c.args}, {"shell_form", c.prepend_shell}};
}

json HeredocJson(const Heredoc& h) {
  return json{{"name", h.name},
              {"file_descriptor", h.file_descriptor},
              {"expand", h.expand},
              {"chomp", h.chomp},
              {"content", h.content}};
}

json PairsJson(const std::vector<KeyValue>& kvs) {
  json a = json::array();
  for (const KeyValue& kv : kvs) a.push_back(json{{"key", kv.key}, {"value", kv.value}});
  return a;
}

json MountJson(const Mount& m) {
  json j{{"type", MountTypeName(m.type)}, {"target", m.target}, {"read_only", m.read_only}};
  if (!m.from.empty()) j["from"] = m.from;
  if (!m.source.empty()) j["source"] = m.source;
  if (!m.id.empty()) j["id"] = m.id;
  if (m.type == MountType::kCache) j["sharing"] = CacheSharingName(m.sharing);
  if (m.type == MountType::kSecret || m.type == MountType::kSsh) j["required"] = m.required;
  if (m.mode) j["mode"] = *m.mode;
  if (m.uid) j["uid"] = *m.uid;
  if (m.gid) j["gid"] = *m.gid;
  if (m.size_bytes) j["size_bytes"] = *m.size_bytes;
  if (!m.env.empty()) j["env"] = m.env;
  return j;
}

struct ValueJson {
  json& j;
  void operator()(const RunInstruction& r) {
    j["command"] = CommandJson(r.command);
    json mounts = json::array();
    for (size_t i = 0; i < r.mounts.size(); ++i) {
      json m = MountJson(r.mounts[i]);
      m["spec"] = r.mount_specs[i];
      mounts.push_back(std::move(m));
    }
    j["mounts"] = std::move(mounts);
    j["network"] = NetworkModeName(r.network);
    j["security"] = SecurityModeName(r.security);
    json h = json::array();
    for (const Heredoc& d : r.heredocs) h.push_back(HeredocJson(d));
    j["heredocs"] = std::move(h);
  }
  void operator()(const CmdInstruction& c) { j["command"] = CommandJson(c.command); }
  void operator()(const EntrypointInstruction& c) { j["command"] = CommandJson(c.command); }
  void operator()(const ShellInstruction& s) { j["shell"] = s.shell; }
  void operator()(const CopyInstruction& c) {
    j["sources"] = c.sources;
    json inl = json::array();
    for (const InlineSource& s : c.inline_sources) {
      inl.push_back(json{{"path", s.path}, {"data", s.data}, {"expand", s.expand}});
    }
    j["inline_sources"] = std::move(inl);
    j["dest"] = c.dest;
    if (!c.add) j["from"] = c.from;
    j["chown"] = c.chown;
    j["chmod"] = c.chmod;
    j["link"] = c.link;
    j["exclude"] = c.exclude;
    if (c.add) {
      j["checksum"] = c.checksum;
      j["keep_git_dir"] = c.keep_git_dir;
    } else {
      j["parents"] = c.parents;
    }
  }
  void operator()(const EnvInstruction& e) { j["vars"] = PairsJson(e.vars); }
  void operator()(const LabelInstruction& l) { j["labels"] = PairsJson(l.labels); }
  void operator()(const MaintainerInstruction& m) { j["maintainer"] = m.maintainer; }
  void operator()(const ExposeInstruction& e) { j["ports"] = e.ports; }
  void operator()(const VolumeInstruction& v) { j["paths"] = v.paths; }
  void operator()(const UserInstruction& u) { j["user"] = u.user; }
  void operator()(const WorkdirInstruction& w) { j["path"] = w.path; }
  void operator()(const StopSignalInstruction& s) { j["signal"] = s.signal; }
  void operator()(const ArgInstruction& a) {
    json args = json::array();
    for (const ArgDecl& d : a.args) {
      json x{{"key", d.key}};
      x["value"] = d.value ? json(*d.value) : json(nullptr);
      args.push_back(std::move(x));
    }
    j["args"] = std::move(args);
  }
  void operator()(const OnbuildInstruction& o) { j["expression"] = o.expression; }
  void operator()(const HealthcheckInstruction& h) {
    j["test"] = h.test;
    j["interval_ns"] = h.interval_ns;
    j["timeout_ns"] = h.timeout_ns;
    j["start_period_ns"] = h.start_period_ns;
    j["start_interval_ns"] = h.start_interval_ns;
    j["retries"] = h.retries;
  }
};

json InstructionJson(const Instruction& i) {
  json j{{"instruction", i.name},
         {"line", i.start_line},
         {"end_line", i.end_line},
         {"original", i.original}};
  std::visit(ValueJson{j}, i.value);
  return j;
}

}  // namespace

std::string DockerfileToJson(const Dockerfile& df, int indent) {
  json root;
  root["escape"] = std::string(1, df.escape_token);
  json dirs = json::array();
  for (const Directive& d : df.directives) {
    dirs.push_back(json{{"name", d.name}, {"value", d.value}, {"line", d.line}});
  }
  root["directives"] = std::move(dirs);
  json meta = json::array();
  for (const Instruction& i : df.meta_args) meta.push_back(InstructionJson(i));
  root["meta_args"] = std::move(meta);
  json stages = json::array();
  for (const Stage& s : df.stages) {
    json ins = json::array();
    for (const Instruction& i : s.instructions) ins.push_back(InstructionJson(i));
    stages.push_back(json{{"index", s.index},
                          {"name", s.name},
                          {"base", s.base_name},
                          {"platform", s.platform},
                          {"line", s.start_line},
                          {"end_line", s.end_line},
                          {"original", s.original},
                          {"instructions", std::move(ins)}});
  }
  root["stages"] = std::move(stages);
  json warnings = json::array();
  for (const Warning& w : df.warnings) {
    warnings.push_back(json{{"line", w.line}, {"message", w.message}});
  }
  root["warnings"] = std::move(warnings);
  // Invalid UTF-8 in a Dockerfile must not throw: replace it.
  return root.dump(indent, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace bld::parser
