// bld run [flags] IMAGE [CMD [ARG...]]: run a command in a new container from an image.
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <random>

#include "base/file.h"
#include "base/log.h"
#include "base/random.h"
#include "cli/commands.h"
#include "cli/containers.h"
#include "oci/image.h"
#include "oci/reference.h"
#include "registry/client.h"
#include "registry/pull.h"
#include "runner/detach.h"
#include "runner/runner.h"
#include "runner/seccomp.h"
#include "snapshot/snapshotter.h"
#include "snapshot/unpack.h"

namespace bld::cli {

namespace {

struct RunFlags {
  bool rm = false, detach = false, interactive = false, tty = false, read_only = false;
  bool init = false;
  bool privileged = false;
  std::vector<std::string> security_opts, devices;
  std::string name, workdir, user, entrypoint, hostname, network = "host", memory, cpus;
  std::string cgroup_parent, cgroupns;
  bool entrypoint_set = false;
  int64_t pids_limit = 0;
  std::vector<std::string> env, env_files, volumes, tmpfs, cap_add, cap_drop;
  std::string pull = "missing";
  // Parsed only to say that they are not supported yet.
  std::vector<std::string> publish;
  bool publish_all = false;
  std::string restart;
  std::string image;
  std::vector<std::string> command;
};

std::string RandomName() {
  static const char* const kAdjectives[] = {"brave", "calm", "eager", "fond", "keen",
                                            "lucid", "merry", "quiet", "swift", "tidy"};
  static const char* const kNouns[] = {"ada", "babbage", "curie", "dijkstra", "euler",
                                       "hopper", "knuth", "lovelace", "ritchie", "turing"};
  std::random_device rd;
  return std::string(kAdjectives[rd() % 10]) + "_" + kNouns[rd() % 10] + "_" + RandomHex(4);
}

// "512m", "1g", "1048576" -> bytes.
Result<int64_t> ParseMemory(const std::string& s) {
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (end == s.c_str() || v <= 0) return InvalidArgumentError("invalid --memory \"" + s + "\"");
  std::string unit(end);
  double mult = 1;
  if (unit.empty() || unit == "b") mult = 1;
  else if (unit == "k" || unit == "kb") mult = 1024.0;
  else if (unit == "m" || unit == "mb") mult = 1024.0 * 1024;
  else if (unit == "g" || unit == "gb") mult = 1024.0 * 1024 * 1024;
  else return InvalidArgumentError("invalid --memory \"" + s + "\": unknown unit \"" + unit + "\"");
  int64_t bytes = static_cast<int64_t>(v * mult);
  if (bytes < 6 * 1024 * 1024) {
    return InvalidArgumentError("--memory " + s + " is below the minimum of 6m");
  }
  return bytes;
}

Result<std::vector<std::string>> ReadEnvFile(const std::string& path) {
  BLD_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  std::vector<std::string> out;
  size_t i = 0;
  while (i < text.size()) {
    size_t nl = text.find('\n', i);
    if (nl == std::string::npos) nl = text.size();
    std::string line = text.substr(i, nl - i);
    i = nl + 1;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    size_t start = line.find_first_not_of(" \t");
    if (start == std::string::npos || line[start] == '#') continue;
    line = line.substr(start);
    if (line.find('=') == std::string::npos) {
      const char* v = std::getenv(line.c_str());
      if (v == nullptr) continue;
      line += std::string("=") + v;
    }
    out.push_back(line);
  }
  return out;
}

// Appends or replaces K=V.
void SetEnv(std::vector<std::string>* env, const std::string& kv) {
  std::string key = kv.substr(0, kv.find('='));
  for (auto& e : *env) {
    if (e.substr(0, e.find('=')) == key) {
      e = kv;
      return;
    }
  }
  env->push_back(kv);
}

Result<runner::Spec> MakeSpec(const RunFlags& f, const oci::Image& image, const std::string& rootfs,
                              const std::string& id) {
  runner::Spec spec;
  spec.rootfs = rootfs;
  const oci::ContainerConfig empty;
  const oci::ContainerConfig& c = image.config.config ? *image.config.config : empty;
  std::vector<std::string> entrypoint, cmd;
  if (f.entrypoint_set) {
    if (!f.entrypoint.empty()) entrypoint = {f.entrypoint};
  } else if (c.entrypoint) {
    entrypoint = *c.entrypoint;
  }
  if (!f.command.empty()) {
    cmd = f.command;
  } else if (!f.entrypoint_set && c.cmd) {
    cmd = *c.cmd;
  }
  spec.args = entrypoint;
  spec.args.insert(spec.args.end(), cmd.begin(), cmd.end());
  if (spec.args.empty()) {
    return InvalidArgumentError("no command: the image has no Entrypoint or Cmd; give one after "
                                "the image name");
  }
  spec.env = c.env;
  for (const auto& file : f.env_files) {
    BLD_ASSIGN_OR_RETURN(auto vars, ReadEnvFile(file));
    for (const auto& kv : vars) SetEnv(&spec.env, kv);
  }
  for (const auto& e : f.env) {
    if (e.find('=') != std::string::npos) {
      SetEnv(&spec.env, e);
    } else if (const char* v = std::getenv(e.c_str()); v != nullptr) {
      SetEnv(&spec.env, e + "=" + v);
    }
  }
  spec.cwd = !f.workdir.empty() ? f.workdir : (!c.working_dir.empty() ? c.working_dir : "/");
  spec.user = !f.user.empty() ? f.user : c.user;
  spec.hostname = !f.hostname.empty() ? f.hostname : id.substr(0, 12);
  for (const auto& v : f.volumes) {
    // SRC:DST[:ro|rw]
    std::vector<std::string> parts;
    size_t i = 0;
    while (true) {
      size_t colon = v.find(':', i);
      parts.push_back(v.substr(i, colon - i));
      if (colon == std::string::npos) break;
      i = colon + 1;
    }
    if (parts.size() < 2 || parts.size() > 3 || parts[0].empty() || parts[1].empty()) {
      return InvalidArgumentError("invalid -v \"" + v + "\": expected SRC:DST[:ro]");
    }
    if (!parts[0].starts_with("/")) {
      return InvalidArgumentError("invalid -v \"" + v +
                                  "\": named volumes are not supported; give an absolute host path");
    }
    if (!parts[1].starts_with("/")) {
      return InvalidArgumentError("invalid -v \"" + v + "\": the destination must be absolute");
    }
    runner::Mount m;
    m.type = runner::Mount::Type::kBind;
    m.source = parts[0];
    m.destination = parts[1];
    if (parts.size() == 3) {
      if (parts[2] == "ro") m.read_only = true;
      else if (parts[2] != "rw") {
        return InvalidArgumentError("invalid -v \"" + v + "\": option \"" + parts[2] +
                                    "\" is not supported (ro or rw)");
      }
    }
    if (!PathExists(m.source)) {
      return NotFoundError("-v " + v + ": host path " + m.source + " does not exist");
    }
    spec.mounts.push_back(std::move(m));
  }
  for (const auto& t : f.tmpfs) {
    runner::Mount m;
    m.type = runner::Mount::Type::kTmpfs;
    size_t colon = t.find(':');
    m.destination = t.substr(0, colon);
    m.options = colon == std::string::npos ? "mode=1777" : t.substr(colon + 1);
    if (!m.destination.starts_with("/")) {
      return InvalidArgumentError("invalid --tmpfs \"" + t + "\": the path must be absolute");
    }
    spec.mounts.push_back(std::move(m));
  }
  spec.read_only_rootfs = f.read_only;
  if (f.network == "none") spec.network = runner::NetworkMode::kNone;
  else if (f.network != "host") {
    return InvalidArgumentError("--network " + f.network +
                                " is not supported (host or none; private networks come later)");
  }
  spec.cap_add = f.cap_add;
  spec.cap_drop = f.cap_drop;
  if (!f.memory.empty()) {
    BLD_ASSIGN_OR_RETURN(spec.limits.memory_bytes, ParseMemory(f.memory));
  }
  if (!f.cpus.empty()) {
    char* end = nullptr;
    double cpus = std::strtod(f.cpus.c_str(), &end);
    if (end == f.cpus.c_str() || *end != '\0' || cpus <= 0) {
      return InvalidArgumentError("invalid --cpus \"" + f.cpus + "\"");
    }
    spec.limits.cpus = cpus;
  }
  if (f.pids_limit > 0) spec.limits.pids = f.pids_limit;
  spec.tty = f.tty;
  spec.init = f.init;
  spec.privileged = f.privileged;
  spec.cgroup_parent = f.cgroup_parent;
  if (f.cgroupns == "private") spec.cgroup_namespace = runner::CgroupNamespaceMode::kPrivate;
  else if (f.cgroupns == "host") spec.cgroup_namespace = runner::CgroupNamespaceMode::kHost;
  for (const std::string& d : f.devices) {
    // HOST[:CONTAINER][:PERMISSIONS], as Docker.
    runner::Device dev;
    size_t c1 = d.find(':');
    dev.host_path = d.substr(0, c1);
    if (c1 != std::string::npos) {
      std::string rest = d.substr(c1 + 1);
      size_t c2 = rest.find(':');
      if (c2 != std::string::npos) {
        dev.container_path = rest.substr(0, c2);
        dev.permissions = rest.substr(c2 + 1);
      } else if (!rest.empty() && rest[0] == '/') {
        dev.container_path = rest;
      } else {
        dev.permissions = rest;
      }
    }
    if (dev.host_path.empty() || dev.host_path[0] != '/') {
      return InvalidArgumentError("invalid --device \"" + d + "\": want HOST[:CONTAINER][:rwm]");
    }
    spec.devices.push_back(std::move(dev));
  }
  for (const std::string& o : f.security_opts) {
    // Docker's spellings: no-new-privileges[=|:true|false], seccomp=unconfined|PROFILE.
    size_t sep = o.find_first_of("=:");
    std::string key = o.substr(0, sep), value = sep == std::string::npos ? "" : o.substr(sep + 1);
    if (key == "no-new-privileges") {
      if (value.empty() || value == "true") spec.no_new_privileges = true;
      else if (value == "false") spec.no_new_privileges = false;
      else return InvalidArgumentError("--security-opt " + o + ": want true or false");
    } else if (key == "seccomp" && o[sep] == '=') {
      if (value == "unconfined") {
        spec.seccomp = false;
      } else if (value.empty()) {
        return InvalidArgumentError("--security-opt " + o +
                                    ": want seccomp=unconfined or seccomp=PROFILE.json");
      } else {
        // A profile in Docker's JSON format, compiled when the container starts.
        spec.seccomp = true;
        spec.seccomp_profile = value;
      }
    } else {
      return InvalidArgumentError("--security-opt " + o +
                                  " is not supported (no-new-privileges[=true|false], "
                                  "seccomp=unconfined|PROFILE.json)");
    }
  }
  spec.id = id.substr(0, 12);
  return spec;
}

// Flags docker has that bld does not implement yet: an error, never a silent no-op.
Status CheckUnsupported(const RunFlags& f) {
  if (!f.publish.empty() || f.publish_all) {
    return InvalidArgumentError(std::string(f.publish_all ? "-P/--publish-all" : "-p/--publish") +
                              " is not supported yet (bld run has no private network; the "
                              "container shares the host's with --network host)");
  }
  if (!f.restart.empty() && f.restart != "no") {
    return InvalidArgumentError("--restart " + f.restart + " is not supported yet");
  }
  return Ok();
}

// --pull: always pulls; missing pulls when the image is not in the store (as docker run);
// never uses only the store.
Status PullForRun(const oci::Store& store, const RunFlags& f) {
  if (f.pull == "never") return Ok();
  if (f.pull == "missing") {
    auto lock = store.LockShared();
    if (!lock.ok()) return lock.error();
    auto local = oci::ResolveImage(store, f.image);
    if (local.ok() || local.error().code() != ErrorCode::kNotFound) return Ok();
  }
  auto ref = oci::Reference::Parse(f.image);
  if (!ref.ok()) {
    // An ID or an invalid name: nothing a registry could give.
    if (f.pull == "always") return ref.error().Wrap("--pull always " + f.image);
    return Ok();
  }
  if (f.pull == "missing") {
    std::fprintf(stderr, "Unable to find image '%s' locally\n", f.image.c_str());
  }
  registry::ClientOptions o;
  BLD_ASSIGN_OR_RETURN(auto client, registry::Client::Create(ref->domain(), std::move(o)));
  registry::PullOptions options;
  options.progress = [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); };
  auto r = registry::Pull(*client, store, *ref, options);
  if (!r.ok()) return r.error().Wrap("pull " + ref->str());
  return Ok();
}

int RunContainer(const GlobalOptions& g, const RunFlags& f) {
  if (Status s = CheckUnsupported(f); !s.ok()) return ReportError(s.error(), kExitBldFailed);
  if (f.detach && f.tty) {
    return ReportError(InvalidArgumentError("-d with -t is not supported (no attach yet)"),
                       kExitBldFailed);
  }
  if (f.detach && f.interactive) {
    return ReportError(InvalidArgumentError("-d with -i is not supported (no attach yet)"),
                       kExitBldFailed);
  }
  std::string root = StoreRoot(g);
  // The compiled seccomp program survives this process (it costs ms per run to compile).
  runner::SetSeccompCacheDir(root + "/cache/seccomp");
  auto store = OpenStore(g);
  if (!store.ok()) return ReportError(store.error(), kExitBldFailed);
  SweepAutoRemoved(root);
  if (Status s = PullForRun(**store, f); !s.ok()) {
    return ReportError(s.error().Wrap("run"), kExitBldFailed);
  }

  ContainerRecord record;
  record.id = RandomHex(64);
  record.name = f.name.empty() ? RandomName() : f.name;
  if (!f.name.empty() && FindContainer(root, f.name).ok()) {
    return ReportError(AlreadyExistsError("a container named " + f.name +
                                          " already exists; remove it with bld rm " + f.name),
                       kExitBldFailed);
  }
  record.dir = ContainersDir(root) + "/" + record.id;
  record.image = f.image;
  record.created = std::time(nullptr);
  record.detached = f.detach;
  record.auto_remove = f.rm;
  record.bld_pid = ::getpid();

  auto sn = snapshot::OpenSnapshotter(root);
  if (!sn.ok()) return ReportError(sn.error(), kExitBldFailed);
  record.snapshotter = std::string((*sn)->type());
  oci::Image image;
  {
    // Blobs must not be pruned while they are unpacked.
    auto lock = (*store)->LockShared();
    if (!lock.ok()) return ReportError(lock.error(), kExitBldFailed);
    auto resolved = oci::ResolveImage(**store, f.image);
    if (!resolved.ok()) return ReportError(resolved.error().Wrap("run"), kExitBldFailed);
    image = std::move(resolved->image);
    record.image_id = image.id().str();
    if (image.config.config) record.stop_signal = image.config.config->stop_signal;
    auto top = snapshot::Unpack(**store, image.manifest.layers, image.config.diff_ids, **sn);
    if (!top.ok()) return ReportError(top.error().Wrap("run " + f.image), kExitBldFailed);
    record.snapshot_key = "container-" + record.id;
    Status mk = MkdirAll(record.dir + "/rootfs", 0700);
    if (!mk.ok()) return ReportError(mk.error(), kExitBldFailed);
    auto mounts = (*sn)->Prepare(record.snapshot_key, *top);
    if (!mounts.ok()) {
      (void)RemoveAll(record.dir);
      return ReportError(mounts.error().Wrap("run"), kExitBldFailed);
    }
  }
  auto fail = [&](const Error& e) {
    (void)RemoveContainer(root, record, sn->get());
    return ReportError(e, kExitBldFailed);
  };
  auto mounts = (*sn)->Mounts(record.snapshot_key);
  if (!mounts.ok()) return fail(mounts.error());
  std::string rootfs = record.dir + "/rootfs";
  snapshot::ScopedMount mounted;
  std::function<Status()> mount_in_monitor;
  if (mounts->size() == 1 && (*mounts)[0].type == "bind") {
    // A plain directory (copy snapshotter): use it in place, no mount needed.
    rootfs = (*mounts)[0].source;
  } else if (f.detach) {
    // The detached monitor mounts it in a mount namespace of its own (below).
    mount_in_monitor = [ms = *mounts, rootfs]() -> Status {
      for (const auto& m : ms) {
        Status s = snapshot::MountAt(m, rootfs);
        if (!s.ok()) return std::move(s).error().Wrap("mount the container's root filesystem");
      }
      return Ok();
    };
  } else {
    // The root filesystem is mounted in a mount namespace of this process and the
    // container alone: if bld is SIGKILLed, the kernel drops the mount with the last of
    // them (the container dies with us: PDEATHSIG), and the next command sweeps the
    // container's directory. Without the privilege for a namespace, the mount is on the
    // host's table and the sweep unmounts it.
    if (unshare(CLONE_NEWNS) == 0) {
      if (mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) != 0) {
        return fail(ErrnoError("make the run's mount namespace a slave"));
      }
    } else if (errno != EPERM) {
      return fail(ErrnoError("unshare a mount namespace for the container's root filesystem"));
    }
    auto m = snapshot::ScopedMount::Create(*mounts, rootfs);
    if (!m.ok()) return fail(m.error().Wrap("mount the container's root filesystem"));
    mounted = std::move(*m);
  }
  auto spec = MakeSpec(f, image, rootfs, record.id);
  if (!spec.ok()) return fail(spec.error());
  record.command = spec->args;
  Status saved = SaveRecord(record);
  if (!saved.ok()) return fail(saved.error());

  if (f.detach) {
    auto state = runner::RunDetached(*spec, record.dir, record.dir + "/log", mount_in_monitor);
    if (!state.ok()) return fail(state.error());
    std::printf("%s\n", record.id.c_str());
    return kExitOk;
  }

  if (!f.interactive && !f.tty) {
    static int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    spec->stdin_fd = null_fd;
  }
  auto status = runner::Run(*spec);
  Status unmounted = mounted.Release();
  if (!status.ok()) return fail(status.error().Wrap("run " + f.image));
  if (!status->exec_error.empty()) {
    std::fprintf(stderr, "bld: %s\n", status->exec_error.c_str());
  }
  if (status->oom_killed) {
    std::fprintf(stderr, "bld: the container was killed: out of memory (--memory %s)\n",
                 f.memory.c_str());
  }
  if (f.rm) {
    Status s = RemoveContainer(root, record, sn->get());
    if (!s.ok()) BLD_LOG(kWarn) << s.error().message();
  } else {
    record.finished = true;
    record.exit_code = status->code;
    Status s = SaveRecord(record);
    if (!s.ok()) BLD_LOG(kWarn) << s.error().message();
    if (!unmounted.ok()) BLD_LOG(kWarn) << unmounted.error().message();
  }
  return status->code;
}

}  // namespace

Command MakeRunCommand() {
  return {"run", "Run a command in a new container", [](CLI::App* app, const GlobalOptions* g) {
            auto f = std::make_shared<RunFlags>();
            app->add_flag("--rm", f->rm, "Remove the container when it exits");
            app->add_flag("-d,--detach", f->detach, "Run in the background and print the ID");
            app->add_flag("-i,--interactive", f->interactive, "Keep stdin attached");
            app->add_flag("-t,--tty", f->tty, "Allocate a pseudo-terminal");
            app->add_flag("--init", f->init,
                          "Run an init as PID 1 that forwards signals and reaps zombies "
                          "(default: the command is PID 1)");
            app->add_option("--name", f->name, "Container name");
            app->add_option("-e,--env", f->env, "Set K=V (or pass K from our environment)");
            app->add_option("--env-file", f->env_files, "Read K=V lines from a file");
            app->add_option("-v,--volume", f->volumes, "Bind mount SRC:DST[:ro]");
            app->add_option("--tmpfs", f->tmpfs, "Mount a tmpfs at DST[:OPTIONS]");
            app->add_option("-w,--workdir", f->workdir, "Working directory inside the container");
            app->add_option("-u,--user", f->user, "USER[:GROUP], names or numbers");
            app->add_option("--entrypoint", f->entrypoint, "Override the image's ENTRYPOINT")
                ->each([f](const std::string&) { f->entrypoint_set = true; });
            app->add_option("--hostname", f->hostname, "Container hostname");
            app->add_option("--network", f->network, "host (default) or none")
                ->check(CLI::IsMember({"host", "none"}));
            app->add_option("-m,--memory", f->memory, "Memory limit (e.g. 512m)");
            app->add_option("--cpus", f->cpus, "CPU limit (e.g. 1.5)");
            app->add_option("--pids-limit", f->pids_limit, "Maximum number of processes");
            app->add_option("--cgroupns", f->cgroupns,
                            "private (a cgroup namespace, read-only cgroup2 on /sys/fs/cgroup) "
                            "or host; default: private on cgroup v2 hosts, host on v1")
                ->check(CLI::IsMember({"host", "private"}));
            app->add_option("--cgroup-parent", f->cgroup_parent,
                            "Cgroup to put the container's cgroup under, from the hierarchy "
                            "root (e.g. /bld; default: bld's own cgroup)");
            app->add_flag("--read-only", f->read_only, "Mount the root filesystem read-only");
            app->add_option("--cap-add", f->cap_add, "Add a capability");
            app->add_option("--cap-drop", f->cap_drop, "Drop a capability");
            app->add_flag("--privileged", f->privileged,
                          "Give the container every capability, no seccomp filter, every host "
                          "device, writable /sys and /proc, no masked paths: it is root on the "
                          "host");
            app->add_option("--pull", f->pull,
                            "Pull the image: always, missing (default: when not in the store) "
                            "or never")
                ->check(CLI::IsMember({"always", "missing", "never"}));
            app->add_option("-p,--publish", f->publish, "Publish a port (not supported yet)");
            app->add_flag("-P,--publish-all", f->publish_all,
                          "Publish all exposed ports (not supported yet)");
            app->add_option("--restart", f->restart, "Restart policy (only \"no\" is supported)");
            app->add_option("--device", f->devices,
                            "Add a host device: HOST[:CONTAINER][:rwm]");
            app->add_option("--security-opt", f->security_opts,
                            "no-new-privileges[=true|false] (default false: setuid works), "
                            "seccomp=unconfined|PROFILE.json (Docker's JSON format; default: Docker's "
                            "profile)");
            app->add_option("IMAGE", f->image, "Image to run")->required();
            // Everything after the image belongs to the container's command (cli/flags.cc
            // puts a "--" before the image).
            app->add_option("COMMAND", f->command, "Command and arguments");
            return [g, f]() { return RunContainer(*g, *f); };
          }};
}

}  // namespace bld::cli
