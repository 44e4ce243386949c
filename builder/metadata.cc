// Instructions that change the image config (and WORKDIR, which also creates
// its directory): ENV, ARG, LABEL, MAINTAINER, EXPOSE, VOLUME, USER, WORKDIR,
// STOPSIGNAL, ONBUILD, HEALTHCHECK, CMD, ENTRYPOINT, SHELL. The resulting
// config means what Docker's would: ENTRYPOINT resets a CMD inherited from the
// base image, shell forms run through SHELL, ports get "/tcp".
#include <sys/stat.h>

#include <algorithm>
#include <set>

#include "builder/fs.h"
#include "builder/stage.h"
#include "runner/user.h"

namespace bld::builder {

namespace {

Result<std::vector<std::string>> ExpandPorts(const std::vector<std::string>& words) {
  std::vector<std::string> out;
  for (const auto& w : words) {
    std::string port = w, proto = "tcp";
    size_t slash = w.find('/');
    if (slash != std::string::npos) {
      port = w.substr(0, slash);
      proto = w.substr(slash + 1);
      std::transform(proto.begin(), proto.end(), proto.begin(), ::tolower);
    }
    if (proto != "tcp" && proto != "udp" && proto != "sctp") {
      return InvalidArgumentError("EXPOSE " + w + ": invalid protocol " + proto);
    }
    auto number = [&](const std::string& s) -> Result<int> {
      if (s.empty() || s.size() > 5 ||
          !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return InvalidArgumentError("EXPOSE " + w + ": invalid port " + s);
      }
      int v = std::stoi(s);
      if (v > 65535) return InvalidArgumentError("EXPOSE " + w + ": port out of range");
      return v;
    };
    size_t dash = port.find('-');
    if (dash == std::string::npos) {
      BLD_ASSIGN_OR_RETURN(int p, number(port));
      out.push_back(std::to_string(p) + "/" + proto);
    } else {
      BLD_ASSIGN_OR_RETURN(int lo, number(port.substr(0, dash)));
      BLD_ASSIGN_OR_RETURN(int hi, number(port.substr(dash + 1)));
      if (hi < lo) return InvalidArgumentError("EXPOSE " + w + ": invalid range");
      for (int p = lo; p <= hi; ++p) out.push_back(std::to_string(p) + "/" + proto);
    }
  }
  return out;
}

void AddSorted(std::vector<std::string>* v, const std::vector<std::string>& add) {
  std::set<std::string> s(v->begin(), v->end());
  s.insert(add.begin(), add.end());
  v->assign(s.begin(), s.end());
}

std::vector<std::string> CommandOf(const StageRun& run, const parser::CommandLine& c) {
  if (!c.prepend_shell) return c.args;
  std::vector<std::string> out = ShellOf(run.state);
  std::string joined;
  for (size_t i = 0; i < c.args.size(); ++i) joined += (i ? " " : "") + c.args[i];
  out.push_back(joined);
  return out;
}

Status Workdir(StageRun& run, const parser::Instruction& ins, const std::string& path) {
  auto& cfg = *run.state.config.config;
  std::string wd = path;
  if (wd.empty() || wd[0] != '/') {
    wd = (cfg.working_dir.empty() ? std::string("/") : cfg.working_dir) + "/" + wd;
  }
  wd = CleanAbs(wd);
  cfg.working_dir = wd;
  LayerStep step;
  step.name = run.StepName(ins);
  step.created_by = "WORKDIR " + wd;
  step.key = CacheKey("bld.workdir.v1");
  step.key.Add("path", wd);
  step.key.Add("user", cfg.user);
  step.drop_if_empty = true;
  std::string user = cfg.user;
  step.apply = [wd, user](const std::string& rootfs, int) -> Status {
    uid_t uid = 0;
    gid_t gid = 0;
    if (!user.empty()) {
      auto u = runner::ResolveUser(user, ReadFileInRoot(rootfs, "/etc/passwd"),
                                   ReadFileInRoot(rootfs, "/etc/group"));
      if (!u.ok()) return u.error().Wrap("WORKDIR " + wd + ": user " + user);
      uid = u->uid;
      gid = u->gid;
    }
    BLD_ASSIGN_OR_RETURN(std::string host, MkdirAllInRoot(rootfs, wd, uid, gid));
    (void)host;
    return Ok();
  };
  return RunLayerStep(run, ins, std::move(step));
}

}  // namespace

Status ExecuteMetadata(StageRun& run, const parser::Instruction& ins) {
  auto& cfg = *run.state.config.config;
  auto& vars = *run.vars;
  auto expand = [&](const std::string& w) -> Result<std::string> {
    auto r = vars.Expand(w);
    if (!r.ok()) return run.At(ins, r.error().message());
    return r;
  };
  const auto& v = ins.value;
  if (auto* a = std::get_if<parser::ArgInstruction>(&v)) {
    Status st = vars.Declare(*a);
    if (!st.ok()) return run.At(ins, st.error().message());
    return Ok();  // ARG leaves no history entry (as BuildKit)
  }
  int id = -1;
  auto start = [&]() { id = run.session->progress().Start(run.StepName(ins)); };
  if (auto* e = std::get_if<parser::EnvInstruction>(&v)) {
    start();
    Status st = vars.SetEnv(*e);
    if (!st.ok()) return run.At(ins, st.error().message());
    cfg.env = vars.Env();
    std::string by = "ENV";
    auto pairs = vars.ExpandPairs(e->vars);
    if (pairs.ok()) {
      for (const auto& kv : *pairs) by += " " + kv.key + "=" + kv.value;
    }
    AddHistory(run, by, true);
  } else if (auto* l = std::get_if<parser::LabelInstruction>(&v)) {
    start();
    auto pairs = vars.ExpandPairs(l->labels);
    if (!pairs.ok()) return run.At(ins, pairs.error().message());
    std::string by = "LABEL";
    for (const auto& kv : *pairs) {
      cfg.labels[kv.key] = kv.value;
      by += " " + kv.key + "=" + kv.value;
    }
    AddHistory(run, by, true);
  } else if (auto* m = std::get_if<parser::MaintainerInstruction>(&v)) {
    start();
    run.state.config.author = m->maintainer;
    AddHistory(run, "MAINTAINER " + m->maintainer, true);
  } else if (auto* x = std::get_if<parser::ExposeInstruction>(&v)) {
    start();
    std::vector<std::string> words;
    for (const auto& p : x->ports) {
      auto w = vars.ExpandSplit(p);
      if (!w.ok()) return run.At(ins, w.error().message());
      words.insert(words.end(), w->begin(), w->end());
    }
    auto ports = ExpandPorts(words);
    if (!ports.ok()) return run.At(ins, ports.error().message());
    AddSorted(&cfg.exposed_ports, *ports);
    std::string by = "EXPOSE";
    for (const auto& p : *ports) by += " " + p;
    AddHistory(run, by, true);
  } else if (auto* vol = std::get_if<parser::VolumeInstruction>(&v)) {
    start();
    std::vector<std::string> paths;
    for (const auto& p : vol->paths) {
      BLD_ASSIGN_OR_RETURN(std::string e, expand(p));
      if (e.empty()) return run.At(ins, "VOLUME specified can not be an empty string");
      paths.push_back(e);
    }
    AddSorted(&cfg.volumes, paths);
    std::string by = "VOLUME [";
    for (size_t i = 0; i < paths.size(); ++i) by += (i ? " " : "") + paths[i];
    AddHistory(run, by + "]", true);
  } else if (auto* u = std::get_if<parser::UserInstruction>(&v)) {
    start();
    BLD_ASSIGN_OR_RETURN(cfg.user, expand(u->user));
    AddHistory(run, "USER " + cfg.user, true);
  } else if (auto* w = std::get_if<parser::WorkdirInstruction>(&v)) {
    BLD_ASSIGN_OR_RETURN(std::string path, expand(w->path));
    return Workdir(run, ins, path);
  } else if (auto* s = std::get_if<parser::StopSignalInstruction>(&v)) {
    start();
    BLD_ASSIGN_OR_RETURN(cfg.stop_signal, expand(s->signal));
    AddHistory(run, "STOPSIGNAL " + cfg.stop_signal, true);
  } else if (auto* o = std::get_if<parser::OnbuildInstruction>(&v)) {
    start();
    cfg.on_build.push_back(o->expression);
    AddHistory(run, "ONBUILD " + o->expression, true);
  } else if (auto* h = std::get_if<parser::HealthcheckInstruction>(&v)) {
    start();
    oci::HealthConfig hc;
    hc.test = h->test;
    hc.interval_ns = h->interval_ns;
    hc.timeout_ns = h->timeout_ns;
    hc.start_period_ns = h->start_period_ns;
    hc.start_interval_ns = h->start_interval_ns;
    hc.retries = h->retries;
    cfg.healthcheck = hc;
    AddHistory(run, ins.original, true);
  } else if (auto* c = std::get_if<parser::CmdInstruction>(&v)) {
    start();
    cfg.cmd = CommandOf(run, c->command);
    run.state.cmd_set = true;
    AddHistory(run, "CMD " + ins.original.substr(std::min<size_t>(4, ins.original.size())), true);
  } else if (auto* e = std::get_if<parser::EntrypointInstruction>(&v)) {
    start();
    cfg.entrypoint = CommandOf(run, e->command);
    if (!run.state.cmd_set) cfg.cmd.reset();
    AddHistory(run, "ENTRYPOINT " + ins.original.substr(std::min<size_t>(11, ins.original.size())),
               true);
  } else if (auto* sh = std::get_if<parser::ShellInstruction>(&v)) {
    start();
    cfg.shell = sh->shell;
    AddHistory(run, ins.original, true);
  } else {
    return run.At(ins, ins.name + " is not supported by bld build");
  }
  if (id >= 0) run.session->progress().Done(id);
  return Ok();
}

}  // namespace bld::builder
