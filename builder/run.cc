// RUN: the command runs in the runner over an overlay snapshot of the stage's
// layers; what it changes becomes the step's layer.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <deque>

#include "base/child_process.h"
#include "base/file.h"
#include "builder/fs.h"
#include "builder/stage.h"
#include "runner/runner.h"
#include "runner/spec.h"

namespace bld::builder {

namespace {

// Files and mount points the runner creates in the root filesystem for the
// container's sake; removed again so they do not end up in the layer.
struct Stubs {
  std::vector<std::pair<std::string, std::string>> paths;  // (topmost missing, destination)

  void Note(const std::string& rootfs, const std::string& dest) {
    std::string cur = CleanAbs(dest);
    std::string top;
    while (cur != "/") {
      auto host = ResolveInRoot(rootfs, cur, false);
      struct stat st;
      if (host.ok() && lstat(host->c_str(), &st) == 0) break;
      top = cur;
      cur = Dirname(cur);
      if (cur.empty()) cur = "/";
    }
    if (!top.empty()) paths.push_back({top, CleanAbs(dest)});
  }

  // Removes what the container left of the stubs: empty files and empty
  // directories from the destination up to the topmost one that was missing.
  void Remove(const std::string& rootfs) {
    for (auto it = paths.rbegin(); it != paths.rend(); ++it) {
      std::string cur = it->second;
      for (;;) {
        auto host = ResolveInRoot(rootfs, cur, false);
        struct stat st;
        if (host.ok() && lstat(host->c_str(), &st) == 0) {
          if (S_ISDIR(st.st_mode)) {
            if (rmdir(host->c_str()) != 0) break;
          } else if (S_ISREG(st.st_mode) && st.st_size == 0) {
            if (unlink(host->c_str()) != 0) break;
          } else {
            break;
          }
        }
        if (cur == it->first) break;
        cur = Dirname(cur);
        if (cur.empty() || cur == "/") break;
      }
    }
  }
};

// The tail of a step's output, for the error of a failing RUN.
class Tail {
 public:
  void Add(std::string_view s) {
    data_.append(s);
    if (data_.size() > 2 * kMax) data_.erase(0, data_.size() - kMax);
  }
  std::string Lines(int n) const {
    std::string d = data_.size() > kMax ? data_.substr(data_.size() - kMax) : data_;
    while (!d.empty() && d.back() == '\n') d.pop_back();
    size_t pos = d.size();
    for (int i = 0; i < n && pos != std::string::npos && pos > 0; ++i) {
      pos = d.rfind('\n', pos - 1);
    }
    return pos == std::string::npos ? d : d.substr(pos + 1);
  }

 private:
  static constexpr size_t kMax = 8192;
  std::string data_;
};

std::string JoinArgs(const std::vector<std::string>& args) {
  std::string out;
  for (size_t i = 0; i < args.size(); ++i) out += (i ? " " : "") + args[i];
  return out;
}

std::string JsonArray(const std::vector<std::string>& args) {
  std::string out = "[";
  for (size_t i = 0; i < args.size(); ++i) {
    out += i ? "," : "";
    out += "\"";
    for (char c : args[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += "\"";
  }
  return out + "]";
}

}  // namespace

Status ExecuteRun(StageRun& run, const parser::Instruction& ins, const parser::RunInstruction& r) {
  Session& s = *run.session;
  const BuildOptions& o = s.options();
  const auto& cfg = *run.state.config.config;
  if (r.security == parser::SecurityMode::kInsecure) {
    return run.At(ins, "RUN --security=insecure is not supported by bld");
  }

  // The command.
  std::vector<std::string> argv;
  std::optional<std::string> script_file;  // heredoc with #! run as a file
  if (r.command.prepend_shell) {
    std::string cmd = r.command.args.empty() ? "" : r.command.args[0];
    parser::Heredoc word;
    std::string trimmed = cmd;
    while (!trimmed.empty() && (trimmed.back() == ' ' || trimmed.back() == '\t'))
      trimmed.pop_back();
    if (!r.heredocs.empty() && parser::ParseHeredocWord(trimmed, &word) &&
        word.name == r.heredocs[0].name) {
      const std::string& body = r.heredocs[0].content;
      if (body.starts_with("#!")) {
        script_file = body;
        argv = {"/dev/.bld-heredoc"};
      } else {
        argv = ShellOf(run.state);
        argv.push_back(body);
      }
    } else {
      for (const auto& h : r.heredocs) {
        cmd += "\n" + h.content;
        if (!cmd.empty() && cmd.back() != '\n') cmd += "\n";
        cmd += h.name;
      }
      argv = ShellOf(run.state);
      argv.push_back(cmd);
    }
  } else {
    argv = r.command.args;
  }
  if (argv.empty()) return run.At(ins, "RUN needs a command");

  // Mounts, expanded with the stage's variables.
  std::vector<parser::Mount> mounts;
  for (const auto& spec : r.mount_specs) {
    auto e = run.vars->Expand(spec);
    if (!e.ok()) return run.At(ins, e.error().message());
    auto m = parser::ParseMount(*e);
    if (!m.ok()) return run.At(ins, m.error().message());
    mounts.push_back(*m);
  }

  runner::NetworkMode network = runner::NetworkMode::kHost;
  if (r.network == parser::NetworkMode::kNone ||
      (r.network == parser::NetworkMode::kDefault && o.network == BuildNetwork::kNone)) {
    network = runner::NetworkMode::kNone;
  }
  std::vector<std::string> env = run.vars->RunEnv();

  LayerStep step;
  step.name = run.StepName(ins);
  step.created_by = "RUN " + (r.command.prepend_shell ? JoinArgs(argv) : JsonArray(argv));
  step.key = CacheKey("bld.run.v1");
  step.key.Add("command", JsonArray(argv));
  if (script_file) step.key.Add("script", *script_file);
  step.key.Add("env", JsonArray(env));
  step.key.Add("user", cfg.user);
  step.key.Add("workdir", cfg.working_dir);
  step.key.Add("network", network == runner::NetworkMode::kNone ? "none" : "host");

  // What the mounts read enters the key (cache mounts and secrets do not: their
  // content is not part of the result, as in BuildKit).
  std::vector<std::shared_ptr<const ImageState>> mount_states(mounts.size());
  for (size_t i = 0; i < mounts.size(); ++i) {
    const auto& m = mounts[i];
    std::string k = "mount." + std::to_string(i);
    step.key.Add(k, r.mount_specs[i]);
    if (m.type == parser::MountType::kSsh) {
      return run.At(ins, "RUN --mount=type=ssh is not supported by bld");
    }
    if (m.type == parser::MountType::kBind ||
        (m.type == parser::MountType::kCache && !m.from.empty())) {
      if (m.from.empty()) {
        auto src = s.context().tree().Match(m.source.empty() ? "." : m.source);
        if (!src.ok())
          return run.At(ins, "--mount source " + m.source + ": " + src.error().message());
        if (src->size() != 1)
          return run.At(ins, "--mount source " + m.source + " must name one path");
        auto d = s.context().tree().TreeDigest((*src)[0], s.context().hasher());
        if (!d.ok()) return run.At(ins, d.error().message());
        step.key.Add(k + ".content", *d);
      } else {
        auto it = run.node->mount_from.find({run.index, static_cast<int>(i)});
        if (it == run.node->mount_from.end()) {
          return run.At(ins, "--mount from=" + m.from + ": unresolved source");
        }
        if (it->second.stage >= 0) {
          mount_states[i] = std::make_shared<const ImageState>(*run.deps.at(it->second.stage));
        } else {
          auto img = s.ImageFromStore(it->second.image);
          if (!img.ok())
            return img.error().Wrap(run.file_name + ":" + std::to_string(ins.start_line) +
                                    ": --mount from=" + m.from);
          mount_states[i] = std::make_shared<const ImageState>(std::move(*img));
        }
        std::vector<oci::Digest> ids = mount_states[i]->config.diff_ids;
        step.key.Add(k + ".content", ids.empty() ? "empty" : oci::ChainId(ids).str());
      }
    }
    if (m.type == parser::MountType::kSecret) {
      std::string id = m.id.empty() ? Basename(m.target) : m.id;
      bool found = false;
      for (const auto& sec : o.secrets) found = found || sec.id == id;
      if (!found && m.required) {
        return run.At(ins, "secret " + id + " is required but was not given (--secret id=" + id +
                               ",src=FILE)");
      }
    }
  }

  const int line = ins.start_line;
  const std::string file_name = run.file_name;
  const std::string user = cfg.user;
  const std::string cwd = cfg.working_dir.empty() ? "/" : cfg.working_dir;
  step.apply = [&, argv, env, mounts, mount_states, network, script_file, line, file_name, user,
                cwd](const std::string& rootfs, int id) -> Status {
    runner::Spec spec;
    spec.rootfs = rootfs;
    spec.args = argv;
    spec.env = env;
    spec.cwd = cwd;
    spec.user = user;
    spec.network = network;
    spec.hostname = "bld";
    Stubs stubs;
    for (const char* f : {"/etc/hosts", "/etc/hostname", "/etc/resolv.conf"}) {
      stubs.Note(rootfs, f);
    }
    std::vector<RootfsView> views;
    BLD_ASSIGN_OR_RETURN(TempDir scratch, TempDir::Create("", "bld-run-"));
    int n = 0;
    for (size_t i = 0; i < mounts.size(); ++i) {
      const parser::Mount& m = mounts[i];
      runner::Mount rm;
      std::string target = m.target;
      if (m.type == parser::MountType::kSecret && target.empty() && m.env.empty()) {
        target = "/run/secrets/" + (m.id.empty() ? std::string("") : m.id);
      }
      if (!target.empty() && target[0] != '/') target = CleanAbs(cwd + "/" + target);
      rm.destination = target;
      switch (m.type) {
        case parser::MountType::kBind: {
          std::string src;
          if (mount_states[i] == nullptr) {
            auto rel = s.context().tree().Match(m.source.empty() ? "." : m.source);
            if (!rel.ok()) return rel.error();
            src = s.context().tree().HostPath((*rel)[0]);
          } else {
            BLD_ASSIGN_OR_RETURN(RootfsView v, s.View(*mount_states[i]));
            BLD_ASSIGN_OR_RETURN(src, ResolveInRoot(v.path(), "/" + m.source));
            views.push_back(std::move(v));
          }
          if (!m.read_only) {
            // Writes to a read-write bind are discarded: give the container a copy.
            std::string copy = JoinPath(scratch.path(), "bind" + std::to_string(n++));
            auto cp = RunCommand({"cp", "-a", src, copy});
            if (!cp.ok() || cp->exit_code != 0) {
              return InternalError("copy the --mount source " + m.source + ": " +
                                   (cp.ok() ? cp->err : cp.error().message()));
            }
            src = copy;
          }
          rm.type = runner::Mount::Type::kBind;
          rm.source = src;
          rm.read_only = m.read_only;
          break;
        }
        case parser::MountType::kCache: {
          std::string id = m.id.empty() ? target : m.id;
          BLD_ASSIGN_OR_RETURN(std::string dir, s.cache().MountDir(id));
          struct stat st;
          auto entries = ListDir(dir);
          if (stat(dir.c_str(), &st) == 0 && entries.ok() && entries->empty()) {
            (void)chmod(dir.c_str(), m.mode.value_or(0755));
            (void)chown(dir.c_str(), m.uid.value_or(0), m.gid.value_or(0));
          }
          rm.type = runner::Mount::Type::kBind;
          rm.source = dir;
          rm.read_only = m.read_only;
          break;
        }
        case parser::MountType::kTmpfs: {
          rm.type = runner::Mount::Type::kTmpfs;
          rm.options = "mode=1777";
          if (m.size_bytes) rm.options += ",size=" + std::to_string(*m.size_bytes);
          break;
        }
        case parser::MountType::kSecret: {
          std::string id = m.id.empty() ? Basename(m.target) : m.id;
          const SecretSpec* sec = nullptr;
          for (const auto& x : s.options().secrets) {
            if (x.id == id) sec = &x;
          }
          if (sec == nullptr) continue;  // optional and not given
          std::string value;
          if (!sec->src.empty()) {
            BLD_ASSIGN_OR_RETURN(value, ReadFile(sec->src));
          } else {
            const char* e = getenv(sec->env.c_str());
            value = e != nullptr ? e : "";
          }
          if (!m.env.empty()) spec.env.push_back(m.env + "=" + value);
          if (target.empty()) continue;
          std::string file = JoinPath(scratch.path(), "secret" + std::to_string(n++));
          BLD_TRY(WriteFileAtomic(file, value, m.mode.value_or(0400)));
          (void)chown(file.c_str(), m.uid.value_or(0), m.gid.value_or(0));
          rm.type = runner::Mount::Type::kBind;
          rm.source = file;
          rm.read_only = true;
          break;
        }
        case parser::MountType::kSsh:
          return InvalidArgumentError("RUN --mount=type=ssh is not supported by bld");
      }
      stubs.Note(rootfs, rm.destination);
      spec.mounts.push_back(rm);
    }
    if (script_file) {
      std::string file = JoinPath(scratch.path(), "script");
      BLD_TRY(WriteFileAtomic(file, *script_file, 0755));
      runner::Mount rm;
      rm.type = runner::Mount::Type::kBind;
      rm.source = file;
      rm.destination = "/dev/.bld-heredoc";
      rm.read_only = true;
      spec.mounts.push_back(rm);
    }

    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return ErrnoError("pipe");
    UniqueFd rd(fds[0]), wr(fds[1]);
    UniqueFd devnull(open("/dev/null", O_RDONLY | O_CLOEXEC));
    spec.stdin_fd = devnull.get();
    spec.stdout_fd = wr.get();
    spec.stderr_fd = wr.get();
    auto c = runner::Container::Start(spec);
    wr.reset();
    if (!c.ok()) {
      stubs.Remove(rootfs);
      return c.error().Wrap(file_name + ":" + std::to_string(line) + ": RUN");
    }
    Tail tail;
    char buf[16384];
    for (;;) {
      ssize_t k = read(rd.get(), buf, sizeof(buf));
      if (k < 0 && errno == EINTR) continue;
      if (k <= 0) break;
      s.progress().Output(id, std::string_view(buf, static_cast<size_t>(k)));
      tail.Add(std::string_view(buf, static_cast<size_t>(k)));
    }
    auto status = c->Wait();
    views.clear();
    stubs.Remove(rootfs);
    if (!status.ok()) return status.error().Wrap(file_name + ":" + std::to_string(line) + ": RUN");
    if (status->code != 0) {
      std::string msg = file_name + ":" + std::to_string(line) + ": RUN " + JoinArgs(argv) + ": " +
                        (status->exec_error.empty() ? "" : status->exec_error + ": ") +
                        "exit code " + std::to_string(status->code);
      std::string t = tail.Lines(10);
      if (!t.empty()) msg += "; last output:\n" + t;
      return Error(ErrorCode::kFailedPrecondition, msg);
    }
    return Ok();
  };
  return RunLayerStep(run, ins, std::move(step));
}

}  // namespace bld::builder
