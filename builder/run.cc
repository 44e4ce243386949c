// RUN: the command runs in the runner over an overlay snapshot of the stage's
// layers; what it changes becomes the step's layer. Lowering computes the
// command, environment, network and mounts from values (and their key); the
// apply function sets up the mounts and runs the container.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "base/file.h"
#include "base/in_root.h"
#include "base/userns.h"
#include "builder/fs.h"  // CleanAbs
#include "builder/stage.h"
#include "runner/runner.h"
#include "runner/spec.h"
#include "snapshot/fsutil.h"

namespace bld::builder {

namespace {

// The kernel's limit for one argument or environment string (MAX_ARG_STRLEN, 32 pages),
// and a safe bound for all of them together (ARG_MAX is a quarter of the stack limit).
constexpr size_t kMaxArgLen = 32 * 4096;
constexpr size_t kMaxArgTotal = 1536 * 1024;

// Files and mount points the runner creates in the root filesystem for the
// container's sake; removed again so they do not end up in the layer.
struct Stubs {
  std::vector<std::pair<std::string, std::string>> paths;  // (topmost missing, destination)

  static bool Exists(int root, const std::string& path) {
    auto fd = bld::OpenInRoot(root, path, O_PATH | O_NOFOLLOW);
    return fd.ok();
  }

  void Note(int root, const std::string& dest) {
    std::string cur = CleanAbs(dest);
    std::string top;
    while (cur != "/") {
      auto resolved = bld::ResolveInRoot(root, cur, false);
      if (resolved.ok() && Exists(root, *resolved)) break;
      top = cur;
      cur = Dirname(cur);
      if (cur.empty()) cur = "/";
    }
    if (!top.empty()) paths.push_back({top, CleanAbs(dest)});
  }

  // Removes what the container left of the stubs: empty files and empty
  // directories from the destination up to the topmost one that was missing.
  void Remove(int root, const std::string& rootfs) {
    for (auto it = paths.rbegin(); it != paths.rend(); ++it) {
      std::string cur = it->second;
      for (;;) {
        auto resolved = bld::ResolveInRoot(root, cur, false);
        if (resolved.ok()) {
          std::string host = rootfs + *resolved;
          struct stat st;
          if (lstat(host.c_str(), &st) == 0) {
            if (S_ISDIR(st.st_mode)) {
              if (rmdir(host.c_str()) != 0) break;
            } else if (S_ISREG(st.st_mode) && st.st_size == 0) {
              if (unlink(host.c_str()) != 0) break;
            } else {
              break;
            }
          }
        }
        if (cur == it->first) break;
        cur = Dirname(cur);
        if (cur.empty() || cur == "/") break;
      }
    }
  }
};

// The last lines of a step's output, for the error of a failing RUN. Bounded.
class Tail {
 public:
  void Add(std::string_view s) {
    data_.append(s);
    if (data_.size() > 2 * kMax) data_.erase(0, data_.size() - kMax);
  }
  std::string Lines(int n) const {
    std::string_view d = data_;
    if (d.size() > kMax) d = d.substr(d.size() - kMax);
    while (!d.empty() && d.back() == '\n') d.remove_suffix(1);
    size_t start = d.size();
    for (int i = 0; i < n && start > 0; ++i) {
      size_t nl = d.rfind('\n', start - 1);
      start = nl == std::string_view::npos ? 0 : nl;
      if (nl == std::string_view::npos) break;
    }
    if (start < d.size() && d[start] == '\n') ++start;
    return std::string(d.substr(start));
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

// "from=" with an empty value somewhere in a mount spec (ParseMount cannot tell it from
// no from= at all).
bool HasEmptyFrom(std::string_view spec) {
  for (const std::string& v : parser::MountFromValues(spec)) {
    if (v.empty() || v == "''") return true;
  }
  return false;
}

// Entries below `rel` (a directory of `tree`) that .dockerignore hides: whiteouts for
// the overlay that shows the filtered view. An excluded directory with re-included
// entries below is kept (`keep`) and its excluded entries hidden one by one.
Status CollectExcluded(const SourceTree& tree, const std::string& rel, const std::string& sub,
                       std::vector<std::string>* hide, std::vector<std::string>* keep) {
  std::string dir = rel.empty() ? sub : sub.empty() ? rel : rel + "/" + sub;
  BLD_ASSIGN_OR_RETURN(auto names, tree.List(dir));
  std::sort(names.begin(), names.end());
  for (const auto& n : names) {
    std::string p = dir.empty() ? n : dir + "/" + n;
    std::string s = sub.empty() ? n : sub + "/" + n;
    BLD_ASSIGN_OR_RETURN(struct stat st, tree.Lstat(p));
    if (!tree.Excluded(p)) {
      if (S_ISDIR(st.st_mode)) BLD_TRY(CollectExcluded(tree, rel, s, hide, keep));
      continue;
    }
    bool included_below = false;
    if (S_ISDIR(st.st_mode)) {
      Status w = tree.Walk(p, [&](const std::string&, const struct stat&) -> Status {
        included_below = true;
        return FailedPreconditionError("stop");
      });
      (void)w;
    }
    if (included_below) {
      keep->push_back(s);
      BLD_TRY(CollectExcluded(tree, rel, s, hide, keep));
    } else {
      hide->push_back(s);
    }
  }
  return Ok();
}

std::string EscapeOverlayPath(const std::string& p) {
  std::string out;
  for (char c : p) {
    if (c == ':' || c == ',' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

// An overlay over the host directory `lower` at a new directory under `scratch`: the
// entries `hide` (relative) are whited out, `keep` directories made; read-write mounts
// get an upper dir whose writes are discarded with `scratch`. Returns the mount point.
Result<std::string> MountOverlay(const std::string& scratch, int n, const std::string& lower,
                                 const std::vector<std::string>& hide,
                                 const std::vector<std::string>& keep, bool rw,
                                 std::vector<snapshot::ScopedMount>* mounts) {
  std::string base = JoinPath(scratch, "ovl" + std::to_string(n));
  std::string upper = base + "/upper", work = base + "/work", mnt = base + "/mnt";
  for (const auto& d : {upper, work, mnt}) BLD_TRY(MkdirAll(d, 0755));
  for (const auto& k : keep) BLD_TRY(MkdirAll(JoinPath(upper, k), 0755));
  for (const auto& h : hide) {
    std::string p = JoinPath(upper, h);
    BLD_TRY(MkdirAll(Dirname(p), 0755));
    if (mknod(p.c_str(), S_IFCHR | 0600, makedev(0, 0)) != 0) {
      return ErrnoError("whiteout " + h + " (hiding a .dockerignore'd entry)");
    }
  }
  snapshot::Mount m;
  m.type = "overlay";
  m.source = "overlay";
  if (rw) {
    m.options = {"lowerdir=" + EscapeOverlayPath(lower), "upperdir=" + upper, "workdir=" + work};
  } else {
    m.options = {"lowerdir=" + upper + ":" + EscapeOverlayPath(lower)};
  }
  BLD_ASSIGN_OR_RETURN(auto sm, snapshot::ScopedMount::Create({m}, mnt));
  mounts->push_back(std::move(sm));
  return mnt;
}

// Rootless, the context's host files belong to ids bld's user namespace does not map: an
// overlay cannot copy them up and the container's root may not write them. A read-write
// mount then works on a copy owned by the namespace's root (Docker's context files are
// root's too), made in `scratch` and discarded with it. Returns the copy's path.
Result<std::string> WritableContextCopy(const std::string& scratch, int n, const std::string& host,
                                        bool is_dir) {
  std::string dir = JoinPath(scratch, "copy" + std::to_string(n));
  BLD_TRY(MkdirAll(dir, 0755));
  snapshot::CopyTreeOptions root_owned;
  root_owned.owner = std::make_pair(uid_t{0}, gid_t{0});
  if (is_dir) {
    BLD_TRY_WRAP(snapshot::CopyTree(host, dir, root_owned), "copy " + host + " for a rw mount");
    return dir;
  }
  std::string file = JoinPath(dir, Basename(host));
  BLD_ASSIGN_OR_RETURN(UniqueFd in, OpenFile(host, O_RDONLY));
  struct stat st;
  if (fstat(in.get(), &st) != 0) return ErrnoError("stat " + host);
  BLD_ASSIGN_OR_RETURN(UniqueFd out,
                       OpenFile(file, O_WRONLY | O_CREAT | O_EXCL, st.st_mode & 07777));
  BLD_TRY(snapshot::CopyFileData(in.get(), out.get(), st.st_size, host));
  return file;
}

// A bind mount source from the context, resolved inside the context root.
struct ContextSource {
  std::string rel;  // cleaned, symlink-free, relative to the context root ("" = root)
  bool is_dir = false;
};

Result<ContextSource> ResolveContextSource(const SourceTree& tree, const std::string& source) {
  ContextSource cs;
  auto resolved = tree.Resolve(source, true);
  if (!resolved.ok()) {
    return NotFoundError("--mount source " + source + ": not found in the build context");
  }
  cs.rel = *resolved;
  BLD_ASSIGN_OR_RETURN(struct stat st, tree.Lstat(cs.rel));
  if (tree.Excluded(cs.rel)) {
    return NotFoundError("--mount source " + source + ": excluded by .dockerignore");
  }
  cs.is_dir = S_ISDIR(st.st_mode);
  return cs;
}

// The value of a --secret, nullopt when it was not given (or its source is missing).
Result<std::optional<std::string>> SecretValue(const BuildOptions& o, const std::string& id) {
  const SecretSpec* sec = nullptr;
  for (const auto& x : o.secrets) {
    if (x.id == id) sec = &x;
  }
  if (sec == nullptr) return std::optional<std::string>();
  if (!sec->src.empty()) {
    auto v = ReadFile(sec->src);
    if (!v.ok()) return v.error().Wrap("secret " + id);
    return std::optional<std::string>(*v);
  }
  if (!sec->env.empty()) {
    const char* e = getenv(sec->env.c_str());
    if (e == nullptr) return std::optional<std::string>();
    return std::optional<std::string>(e);
  }
  // id alone: the variable of that name, else the file of that name (as Docker/buildah).
  if (const char* e = getenv(id.c_str()); e != nullptr) return std::optional<std::string>(e);
  if (PathExists(id)) {
    auto v = ReadFile(id);
    if (!v.ok()) return v.error().Wrap("secret " + id);
    return std::optional<std::string>(*v);
  }
  return std::optional<std::string>();
}

std::string SecretId(const parser::Mount& m) {
  if (!m.id.empty()) return m.id;
  if (!m.source.empty()) return m.source;  // source/src: BuildKit's alias of id
  return Basename(m.target);
}

// A planned mount: the parsed spec and what it reads.
struct MountPlan {
  parser::Mount m;
  std::string target;  // absolute
  SourceRef from;      // from= (stage or image); stage -1 and image "" = context
  bool has_from = false;
  ContextSource context;  // bind from the context
  std::string cache_id;
};

}  // namespace

Status LowerRun(StageRun& run, const parser::Instruction& ins, const parser::RunInstruction& r) {
  Session& s = *run.session;
  const BuildOptions& o = s.options();
  const auto& cfg = *run.state.config.config;
  if (r.security == parser::SecurityMode::kInsecure) {
    return run.At(ins, "RUN --security=insecure is not supported by bld");
  }

  // The command.
  std::vector<std::string> argv;
  std::optional<std::pair<std::string, std::string>> script;  // (name, body): #! heredoc
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
        // As BuildKit: the script is a file in a directory mounted at /dev/pipes/.
        script = {r.heredocs[0].name, body};
        argv = {"/dev/pipes/" + r.heredocs[0].name};
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

  // The network: host only with the entitlement; --network none for every step that
  // does not ask for host.
  std::string network = "default";
  if (r.network == parser::NetworkMode::kHost) {
    if (o.allow.count("network.host") == 0) {
      return run.At(ins,
                    "RUN --network=host needs the network.host entitlement: bld build --allow "
                    "network.host");
    }
    network = "host";
  } else if (r.network == parser::NetworkMode::kNone || o.network == BuildNetwork::kNone) {
    network = "none";
  }

  // The environment: the image's, the ARGs in effect, the built-in proxy args (which
  // never enter the key, the config or the history, as in Docker).
  std::vector<std::string> env = run.vars->RunEnv();
  std::vector<std::string> proxy_env;
  {
    std::set<std::string> have;
    for (const auto& e : env) have.insert(e.substr(0, e.find('=')));
    // As BuildKit's ProxyEnv: a proxy build arg in any case sets both HTTP_PROXY and
    // http_proxy (a build arg of exactly that name wins for it).
    for (const char* upper : {"HTTP_PROXY", "HTTPS_PROXY", "FTP_PROXY", "NO_PROXY", "ALL_PROXY"}) {
      std::string u = upper, l = u;
      std::transform(l.begin(), l.end(), l.begin(), ::tolower);
      std::optional<std::string> any;
      for (const auto& [k, v] : o.build_args) {
        if (k.size() == u.size() && strncasecmp(k.c_str(), upper, u.size()) == 0) any = v;
      }
      if (!any) continue;
      for (const std::string& name : {u, l}) {
        auto exact = o.build_args.find(name);
        if (have.count(name) == 0) {
          proxy_env.push_back(name + "=" + (exact != o.build_args.end() ? exact->second : *any));
        }
      }
    }
  }
  // Build args in effect, for the history entry: "RUN |2 a=1 b=2 /bin/sh -c ...".
  // As BuildKit: every ARG declared in the stage, unset ones as "k=", ENV's value where an
  // ENV has the name.
  std::string history_args;
  {
    std::vector<std::string> declared = run.vars->HistoryArgs();
    if (!declared.empty()) {
      history_args = "|" + std::to_string(declared.size()) + " " + JoinArgs(declared) + " ";
    }
  }

  // E2BIG: refused here with the line, not by execve.
  {
    size_t total = 0;
    for (const auto* list : {&argv, &env, &proxy_env}) {
      for (const auto& a : *list) {
        if (a.size() + 1 > kMaxArgLen) {
          std::string what = list == &argv ? "the command"
                                           : "the environment variable " + a.substr(0, a.find('='));
          return run.At(ins, "RUN: " + what + " is " + std::to_string(a.size()) +
                                 " bytes; the kernel takes at most " +
                                 std::to_string(kMaxArgLen - 1) +
                                 " bytes per argument or variable (use a heredoc script or "
                                 "COPY a file instead)");
        }
        total += a.size() + 1 + sizeof(char*);
      }
    }
    if (total > kMaxArgTotal) {
      return run.At(ins, "RUN: the command and environment are " + std::to_string(total) +
                             " bytes together; more than execve accepts");
    }
  }

  LayerStep step;
  step.name = run.StepName(ins);
  step.created_by =
      "RUN " + history_args + (r.command.prepend_shell ? JoinArgs(argv) : JsonArray(argv));
  step.key = CacheKey("bld.run.v1");
  step.key.Add("command", JsonArray(argv));
  if (script) step.key.Add("script", script->first + "\n" + script->second);
  step.key.Add("env", JsonArray(env));
  step.key.Add("user", cfg.user);
  step.key.Add("workdir", cfg.working_dir);
  step.key.Add("network", network);
  const std::string cwd = cfg.working_dir.empty() ? "/" : cfg.working_dir;

  // Mounts, expanded with the stage's variables (its ENV included), and what they read
  // into the key (cache mount contents and secrets are not part of the result, as in
  // BuildKit: only their spec is).
  std::vector<MountPlan> mounts;
  for (size_t i = 0; i < r.mount_specs.size(); ++i) {
    auto e = run.vars->Expand(r.mount_specs[i]);
    if (!e.ok()) return run.At(ins, "--mount=" + r.mount_specs[i] + ": " + e.error().message());
    auto parsed = parser::ParseMount(*e);
    if (!parsed.ok()) return run.At(ins, "--mount=" + *e + ": " + parsed.error().message());
    if (HasEmptyFrom(*e)) return run.At(ins, "--mount=" + *e + ": from= names nothing");
    MountPlan mp;
    mp.m = *parsed;
    const parser::Mount& m = mp.m;
    std::string k = "mount." + std::to_string(i);
    step.key.Add(k, *e);
    if (m.type == parser::MountType::kSsh) {
      return run.At(ins, "RUN --mount=type=ssh is not supported by bld");
    }
    mp.target = m.target;
    if (m.type == parser::MountType::kSecret && mp.target.empty() && m.env.empty()) {
      mp.target = "/run/secrets/" + SecretId(m);
    }
    if (!mp.target.empty() && mp.target[0] != '/') mp.target = CleanAbs(cwd + "/" + mp.target);
    if (mp.target.empty() && m.type != parser::MountType::kSecret) {
      return run.At(ins, "--mount=" + *e + ": target= is required");
    }
    if (!m.from.empty() &&
        (m.type == parser::MountType::kBind || m.type == parser::MountType::kCache)) {
      BLD_ASSIGN_OR_RETURN(mp.from, run.SourceOf(ins, m.from, static_cast<int>(i)));
      mp.has_from = true;
      BLD_ASSIGN_OR_RETURN(oci::Digest from_key,
                           run.SourceKey(ins, mp.from, "--mount from=" + m.from));
      step.key.Add(k + ".from", from_key.str());
      if (mp.from.stage >= 0) step.reads_stages.push_back(mp.from.stage);
    }
    switch (m.type) {
      case parser::MountType::kBind:
        if (!mp.has_from) {
          auto cs = ResolveContextSource(s.context().tree(), m.source);
          if (!cs.ok()) return run.At(ins, cs.error().message());
          mp.context = *cs;
          // Exactly what the step sees: the .dockerignore-filtered tree.
          auto d = s.context().tree().TreeDigest(cs->rel, s.context().hasher());
          if (!d.ok()) return run.At(ins, d.error().message());
          step.key.Add(k + ".content", *d);
        }
        break;
      case parser::MountType::kCache:
        if (!mp.has_from && !m.source.empty()) {
          return run.At(ins, "--mount=" + *e +
                                 ": source= of a cache mount is a path in from=; give from= too");
        }
        mp.cache_id = m.id.empty() ? mp.target : m.id;
        break;
      case parser::MountType::kSecret: {
        std::string id = SecretId(m);
        auto v = SecretValue(o, id);
        if (!v.ok()) return run.At(ins, v.error().message());
        if (!*v && m.required) {
          return run.At(ins, "secret " + id + " is required but was not given (--secret id=" + id +
                                 ",src=FILE or an environment variable " + id + ")");
        }
        break;
      }
      case parser::MountType::kTmpfs:
      case parser::MountType::kSsh:
        break;
    }
    mounts.push_back(std::move(mp));
  }

  const int line = ins.start_line;
  const std::string file_name = run.file_name;
  const std::string user = cfg.user;
  Session* session = &s;
  step.apply = [session, argv, env, proxy_env, mounts, network, script, line, file_name, user, cwd](
                   const ExecContext& exec, const std::string& rootfs, int id) -> Status {
    Session& s = *session;
    const std::string where = file_name + ":" + std::to_string(line) + ": RUN";
    runner::Spec spec;
    spec.rootfs = rootfs;
    spec.args = argv;
    spec.env = env;
    spec.env.insert(spec.env.end(), proxy_env.begin(), proxy_env.end());
    spec.cwd = cwd;
    spec.user = user;
    spec.network = network == "none" ? runner::NetworkMode::kNone : runner::NetworkMode::kHost;
    spec.hostname = "bld";
    spec.rlimits = s.options().ulimits;
    spec.extra_hosts = s.options().add_hosts;
    spec.init = true;  // reaps what the step leaves behind; exec'd, never a fork of bld
    BLD_ASSIGN_OR_RETURN(UniqueFd root, OpenRoot(rootfs));
    Stubs stubs;
    for (const char* f : {"/etc/hosts", "/etc/hostname", "/etc/resolv.conf"}) {
      stubs.Note(root.get(), f);
    }
    // Declared in the order they are released: mounts on top of views last.
    std::vector<RootfsView> views;
    std::vector<CacheMount> caches;
    BLD_ASSIGN_OR_RETURN(TempDir scratch, TempDir::Create("", "bld-run-"));
    std::vector<snapshot::ScopedMount> overlays;
    int n = 0;
    auto source_state = [&](const MountPlan& mp) -> Result<ImageState> {
      if (mp.from.stage >= 0) return exec.Built(mp.from.stage);
      return s.ImageFromStore(mp.from.image);
    };
    // Host path of `path` inside a view of `mp`'s from= source.
    auto from_path = [&](const MountPlan& mp, const std::string& path) -> Result<std::string> {
      BLD_ASSIGN_OR_RETURN(ImageState st, source_state(mp));
      BLD_ASSIGN_OR_RETURN(RootfsView v, s.View(st));
      BLD_ASSIGN_OR_RETURN(UniqueFd vroot, OpenRoot(v.path()));
      BLD_ASSIGN_OR_RETURN(std::string resolved, bld::ResolveInRoot(vroot.get(), path));
      std::string host = v.path() + (resolved == "/" ? "" : resolved);
      views.push_back(std::move(v));
      if (!PathExists(host)) {
        return NotFoundError("--mount from=" + mp.m.from + ",source=" + path + ": not found");
      }
      return host;
    };
    for (const MountPlan& mp : mounts) {
      const parser::Mount& m = mp.m;
      runner::Mount rm;
      rm.destination = mp.target;
      switch (m.type) {
        case parser::MountType::kBind: {
          std::string src;
          if (mp.has_from) {
            BLD_ASSIGN_OR_RETURN(src, from_path(mp, m.source.empty() ? "/" : m.source));
            if (!m.read_only && IsDirectory(src)) {
              BLD_ASSIGN_OR_RETURN(src,
                                   MountOverlay(scratch.path(), n++, src, {}, {}, true, &overlays));
            } else if (!m.read_only) {
              BLD_ASSIGN_OR_RETURN(std::string mnt, MountOverlay(scratch.path(), n++, Dirname(src),
                                                                 {}, {}, true, &overlays));
              src = JoinPath(mnt, Basename(src));
            }
          } else {
            const SourceTree& tree = s.context().tree();
            std::string host = tree.HostPath(mp.context.rel);
            if (!m.read_only && !InInitialUserNamespace()) {
              BLD_ASSIGN_OR_RETURN(
                  host, WritableContextCopy(scratch.path(), n++, host, mp.context.is_dir));
              if (!mp.context.is_dir) {
                src = host;  // the copy alone, nothing to hide
                rm.type = runner::Mount::Type::kBind;
                rm.source = src;
                rm.read_only = false;
                break;
              }
            }
            std::vector<std::string> hide, keep;
            if (mp.context.is_dir) {
              BLD_TRY(CollectExcluded(tree, mp.context.rel, "", &hide, &keep));
            }
            if (mp.context.is_dir && (hide.empty() && m.read_only)) {
              src = host;  // nothing to hide, nothing to write: the directory itself
            } else if (mp.context.is_dir) {
              // The filtered view; writes (rw) land in a scratch upper dir, discarded.
              BLD_ASSIGN_OR_RETURN(src, MountOverlay(scratch.path(), n++, host, hide, keep,
                                                     !m.read_only, &overlays));
            } else if (m.read_only) {
              src = host;
            } else {
              BLD_ASSIGN_OR_RETURN(std::string mnt, MountOverlay(scratch.path(), n++, Dirname(host),
                                                                 {}, {}, true, &overlays));
              src = JoinPath(mnt, Basename(host));
            }
          }
          rm.type = runner::Mount::Type::kBind;
          rm.source = src;
          rm.read_only = m.read_only;
          break;
        }
        case parser::MountType::kCache: {
          BLD_ASSIGN_OR_RETURN(CacheMount cm, s.cache().AcquireMount(mp.cache_id, m.sharing));
          if (cm.created()) {
            // A new cache directory: seeded from from=/source=, then given mode/uid/gid.
            if (mp.has_from) {
              BLD_ASSIGN_OR_RETURN(std::string seed,
                                   from_path(mp, m.source.empty() ? "/" : m.source));
              if (!IsDirectory(seed)) {
                return InvalidArgumentError("--mount type=cache,from=" + m.from +
                                            ",source=" + m.source + ": not a directory");
              }
              Status c = snapshot::CopyTree(seed, cm.path());
              if (!c.ok()) return c.error().Wrap("seed the cache mount " + mp.cache_id);
            }
            if (chmod(cm.path().c_str(), m.mode.value_or(0755)) != 0) {
              return ErrnoError("cache mount " + mp.cache_id + ": chmod");
            }
            if (chown(cm.path().c_str(), m.uid.value_or(0), m.gid.value_or(0)) != 0) {
              return ErrnoError("cache mount " + mp.cache_id + ": chown");
            }
          }
          rm.type = runner::Mount::Type::kBind;
          rm.source = cm.path();
          rm.read_only = m.read_only;
          caches.push_back(std::move(cm));
          break;
        }
        case parser::MountType::kTmpfs: {
          rm.type = runner::Mount::Type::kTmpfs;
          rm.options = "mode=1777";
          if (m.size_bytes) rm.options += ",size=" + std::to_string(*m.size_bytes);
          break;
        }
        case parser::MountType::kSecret: {
          std::string sid = SecretId(m);
          BLD_ASSIGN_OR_RETURN(auto value, SecretValue(s.options(), sid));
          if (!value) continue;  // optional and not given
          if (!m.env.empty()) spec.env.push_back(m.env + "=" + *value);
          if (mp.target.empty()) continue;
          std::string file = JoinPath(scratch.path(), "secret" + std::to_string(n++));
          BLD_TRY(WriteFileAtomic(file, *value, m.mode.value_or(0400)));
          if (chown(file.c_str(), m.uid.value_or(0), m.gid.value_or(0)) != 0) {
            return ErrnoError("secret " + sid + ": chown");
          }
          rm.type = runner::Mount::Type::kBind;
          rm.source = file;
          rm.read_only = true;
          break;
        }
        case parser::MountType::kSsh:
          return InvalidArgumentError("RUN --mount=type=ssh is not supported by bld");
      }
      stubs.Note(root.get(), rm.destination);
      spec.mounts.push_back(rm);
    }
    if (script) {
      std::string dir = JoinPath(scratch.path(), "pipes");
      BLD_TRY(MkdirAll(dir, 0755));
      BLD_TRY(WriteFileAtomic(JoinPath(dir, script->first), script->second, 0755));
      runner::Mount rm;
      rm.type = runner::Mount::Type::kBind;
      rm.source = dir;
      rm.destination = "/dev/pipes";
      rm.read_only = true;
      stubs.Note(root.get(), rm.destination);
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
      stubs.Remove(root.get(), rootfs);
      return c.error().Wrap(where);
    }
    Tail tail;
    char buf[16384];
    bool killed = false;
    for (;;) {
      // Polled, so a failure elsewhere in the build kills this step promptly.
      struct pollfd p = {rd.get(), POLLIN, 0};
      int pr = poll(&p, 1, 100);
      if (pr < 0 && errno != EINTR) break;
      if (!killed && exec.Cancelled()) {
        (void)c->Signal(SIGKILL);
        killed = true;
      }
      if (pr <= 0) continue;
      ssize_t k = read(rd.get(), buf, sizeof(buf));
      if (k < 0 && errno == EINTR) continue;
      if (k <= 0) break;
      s.progress().Output(id, std::string_view(buf, static_cast<size_t>(k)));
      tail.Add(std::string_view(buf, static_cast<size_t>(k)));
    }
    auto status = c->Wait();
    overlays.clear();
    views.clear();
    caches.clear();
    stubs.Remove(root.get(), rootfs);
    if (!status.ok()) return status.error().Wrap(where);
    if (killed) return FailedPreconditionError("cancelled: another step failed");
    if (status->code != 0) {
      std::string cmd = JoinArgs(argv);
      if (cmd.size() > 200) cmd = cmd.substr(0, 197) + "...";
      std::string msg = where + " " + cmd + ": " +
                        (status->exec_error.empty() ? "" : status->exec_error + ": ") +
                        "exit code " + std::to_string(status->code);
      std::string t = tail.Lines(10);
      if (!t.empty()) msg += "; last output:\n" + t;
      return Error(ErrorCode::kFailedPrecondition, msg);
    }
    return Ok();
  };
  return PlanLayerStep(run, ins, std::move(step));
}

}  // namespace bld::builder
