// Instructions that change the image config (and WORKDIR, which also creates
// its directory): ENV, ARG, LABEL, MAINTAINER, EXPOSE, VOLUME, USER, WORKDIR,
// STOPSIGNAL, ONBUILD, HEALTHCHECK, CMD, ENTRYPOINT, SHELL. The resulting
// config means what Docker's would: ENTRYPOINT resets a CMD inherited from the
// base image, shell forms run through SHELL, ports get "/tcp".
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <set>

#include "base/file.h"
#include "base/in_root.h"
#include "builder/fs.h"  // CleanAbs
#include "builder/stage.h"
#include "runner/detach.h"
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

// History text as BuildKit's dispatcher formats it with Go's fmt (what `docker history`
// shows): %q of a string list is ["a" "b"], %v is [a b].
std::string GoQuote(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\a':
        out += "\\a";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\v':
        out += "\\v";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\x%02x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

std::string GoQuoteList(const std::vector<std::string>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) out += (i ? " " : "") + GoQuote(v[i]);
  return out + "]";
}

std::string GoList(const std::vector<std::string>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) out += (i ? " " : "") + v[i];
  return out + "]";
}

// Go's time.Duration.String(): "0s", "1.5s", "1m30s", "1h0m0s", "500ms".
std::string GoDuration(int64_t d) {
  if (d == 0) return "0s";
  std::string sign = d < 0 ? "-" : "";
  uint64_t u = d < 0 ? 0 - static_cast<uint64_t>(d) : static_cast<uint64_t>(d);
  // The digits of v's last `prec` decimal places, without trailing zeros, after a '.'.
  auto frac = [](uint64_t v, int prec, std::string* digits) {
    std::string f;
    bool print = false;
    for (int i = 0; i < prec; ++i) {
      int digit = static_cast<int>(v % 10);
      print = print || digit != 0;
      if (print) f.insert(f.begin(), static_cast<char>('0' + digit));
      v /= 10;
    }
    *digits = print ? "." + f : "";
    return v;
  };
  std::string f;
  if (u < 1000000000ull) {
    if (u < 1000) return sign + std::to_string(u) + "ns";
    int prec = u < 1000000 ? 3 : 6;
    uint64_t whole = frac(u, prec, &f);
    return sign + std::to_string(whole) + f + (u < 1000000 ? "\u00b5s" : "ms");
  }
  uint64_t secs = frac(u, 9, &f);
  std::string out = std::to_string(secs % 60) + f + "s";
  uint64_t mins = secs / 60;
  if (mins > 0) {
    out = std::to_string(mins % 60) + "m" + out;
    uint64_t hours = mins / 60;
    if (hours > 0) out = std::to_string(hours) + "h" + out;
  }
  return sign + out;
}

// STOPSIGNAL as moby's signal.ParseSignal takes it: any non-zero number (moby does not
// range-check numbers), or a signal name as runner::ParseSignal knows them.
bool ValidStopSignal(const std::string& s) {
  if (!s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return s.size() <= 9 && std::stoi(s) != 0;
  }
  return runner::ParseSignal(s).ok();
}

// A file of the root filesystem, resolved inside it ("" when missing).
std::string ReadInRoot(int root, const std::string& path) {
  auto fd = OpenInRoot(root, path, O_RDONLY);
  if (!fd.ok()) return "";
  auto data = ReadFd(fd->get());
  return data.ok() ? *data : "";
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
  step.apply = [wd, user](const ExecContext&, const std::string& rootfs, int) -> Status {
    BLD_ASSIGN_OR_RETURN(UniqueFd root, OpenRoot(rootfs));
    uid_t uid = 0;
    gid_t gid = 0;
    if (!user.empty()) {
      // As BuildKit's mkdir (solver/llbsolver/ops/user_linux.go): a name missing from the
      // files gives 0:0 here; the next RUN reports the unknown user.
      auto u = runner::ResolveUser(user, ReadInRoot(root.get(), "/etc/passwd"),
                                   ReadInRoot(root.get(), "/etc/group"));
      if (u.ok()) {
        uid = u->uid;
        gid = u->gid;
      }
    }
    // Symlinks on the way resolve inside the root; missing parents are created.
    BLD_ASSIGN_OR_RETURN(UniqueFd dir, bld::MkdirAllInRoot(root.get(), wd, 0755, uid, gid));
    (void)dir;
    return Ok();
  };
  return PlanLayerStep(run, ins, std::move(step));
}

}  // namespace

Status LowerMetadata(StageRun& run, const parser::Instruction& ins) {
  auto& cfg = *run.state.config.config;
  auto& vars = *run.vars;
  auto expand = [&](const std::string& w) -> Result<std::string> {
    auto r = vars.Expand(w);
    if (!r.ok()) return run.At(ins, r.error().message());
    return r;
  };
  const auto& v = ins.value;
  if (auto* a = std::get_if<parser::ArgInstruction>(&v)) {
    auto declared = vars.Declare(*a);
    if (!declared.ok()) return run.At(ins, declared.error().message());
    // As BuildKit: "ARG NAME=value" with the value it got (or "ARG NAME"), an empty layer.
    std::string by = "ARG";
    for (const auto& d : *declared) {
      by += " " + d.key;
      if (d.value) by += "=" + *d.value;
    }
    PlanConfigStep(run, ins, by);
    return Ok();
  }
  if (auto* e = std::get_if<parser::EnvInstruction>(&v)) {
    auto pairs = vars.SetEnv(*e);
    if (!pairs.ok()) return run.At(ins, pairs.error().message());
    // cfg.env is set from vars.Env() once, when the stage is lowered (build.cc): a copy per
    // ENV made 100,000 ENV lines quadratic.
    // As BuildKit: the values as set, expanded with the variables before this ENV.
    std::string by = "ENV";
    for (const auto& kv : *pairs) by += " " + kv.key + "=" + kv.value;
    PlanConfigStep(run, ins, by);
  } else if (auto* l = std::get_if<parser::LabelInstruction>(&v)) {
    auto pairs = vars.ExpandPairs(l->labels);
    if (!pairs.ok()) return run.At(ins, pairs.error().message());
    std::string by = "LABEL";
    for (const auto& kv : *pairs) {
      cfg.labels[kv.key] = kv.value;
      by += " " + kv.key + "=" + kv.value;
    }
    PlanConfigStep(run, ins, by);
  } else if (auto* m = std::get_if<parser::MaintainerInstruction>(&v)) {
    run.state.config.author = m->maintainer;
    PlanConfigStep(run, ins, "MAINTAINER " + m->maintainer);
  } else if (auto* x = std::get_if<parser::ExposeInstruction>(&v)) {
    std::vector<std::string> words;
    for (const auto& p : x->ports) {
      auto w = vars.ExpandSplit(p);
      if (!w.ok()) return run.At(ins, w.error().message());
      words.insert(words.end(), w->begin(), w->end());
    }
    auto ports = ExpandPorts(words);
    if (!ports.ok()) return run.At(ins, ports.error().message());
    AddSorted(&cfg.exposed_ports, *ports);
    // BuildKit: "EXPOSE %v" of the ports, string-sorted ("EXPOSE [1234/udp 2375/tcp]").
    std::set<std::string> set(ports->begin(), ports->end());
    PlanConfigStep(run, ins, "EXPOSE " + GoList({set.begin(), set.end()}));
  } else if (auto* vol = std::get_if<parser::VolumeInstruction>(&v)) {
    std::vector<std::string> paths;
    for (const auto& p : vol->paths) {
      BLD_ASSIGN_OR_RETURN(std::string e, expand(p));
      if (e.empty()) return run.At(ins, "VOLUME specified can not be an empty string");
      paths.push_back(e);
    }
    AddSorted(&cfg.volumes, paths);
    std::string by = "VOLUME [";
    for (size_t i = 0; i < paths.size(); ++i) by += (i ? " " : "") + paths[i];
    PlanConfigStep(run, ins, by + "]");
  } else if (auto* u = std::get_if<parser::UserInstruction>(&v)) {
    BLD_ASSIGN_OR_RETURN(cfg.user, expand(u->user));
    PlanConfigStep(run, ins, "USER " + cfg.user);
  } else if (auto* w = std::get_if<parser::WorkdirInstruction>(&v)) {
    BLD_ASSIGN_OR_RETURN(std::string path, expand(w->path));
    return Workdir(run, ins, path);
  } else if (auto* s = std::get_if<parser::StopSignalInstruction>(&v)) {
    BLD_ASSIGN_OR_RETURN(cfg.stop_signal, expand(s->signal));
    if (!ValidStopSignal(cfg.stop_signal)) {
      return run.At(ins, "STOPSIGNAL: invalid signal: " + cfg.stop_signal);
    }
    PlanConfigStep(run, ins, "STOPSIGNAL " + cfg.stop_signal);
  } else if (auto* o = std::get_if<parser::OnbuildInstruction>(&v)) {
    // As BuildKit: the trigger goes into the config, without a history entry.
    cfg.on_build.push_back(o->expression);
  } else if (auto* h = std::get_if<parser::HealthcheckInstruction>(&v)) {
    oci::HealthConfig hc;
    hc.test = h->test;
    hc.interval_ns = h->interval_ns;
    hc.timeout_ns = h->timeout_ns;
    hc.start_period_ns = h->start_period_ns;
    hc.start_interval_ns = h->start_interval_ns;
    hc.retries = h->retries;
    cfg.healthcheck = hc;
    // BuildKit (v0.33): "HEALTHCHECK %+v" of the config struct.
    PlanConfigStep(run, ins,
                   "HEALTHCHECK {Test:" + GoList(hc.test) + " Interval:" +
                       GoDuration(hc.interval_ns) + " Timeout:" + GoDuration(hc.timeout_ns) +
                       " StartPeriod:" + GoDuration(hc.start_period_ns) +
                       " StartInterval:" + GoDuration(hc.start_interval_ns) +
                       " Retries:" + std::to_string(hc.retries) + "}");
  } else if (auto* c = std::get_if<parser::CmdInstruction>(&v)) {
    cfg.cmd = CommandOf(run, c->command);
    run.state.cmd_set = true;
    PlanConfigStep(run, ins, "CMD " + GoQuoteList(*cfg.cmd));
  } else if (auto* e = std::get_if<parser::EntrypointInstruction>(&v)) {
    cfg.entrypoint = CommandOf(run, e->command);
    if (!run.state.cmd_set) cfg.cmd.reset();
    PlanConfigStep(run, ins, "ENTRYPOINT " + GoQuoteList(*cfg.entrypoint));
  } else if (auto* sh = std::get_if<parser::ShellInstruction>(&v)) {
    cfg.shell = sh->shell;
    PlanConfigStep(run, ins, "SHELL " + GoList(sh->shell));
  } else {
    return run.At(ins, ins.name + " is not supported by bld build");
  }
  return Ok();
}

}  // namespace bld::builder
