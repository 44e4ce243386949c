#include "snapshot/snapshotter.h"

#include <sys/utsname.h>

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <nlohmann/json.hpp>

#include "base/file.h"
#include "base/userns.h"
#include "base/log.h"
#include "base/random.h"
#include "oci/digest.h"
#include "oci/store.h"
#include "snapshot/fsutil.h"

namespace bld::snapshot {

std::string_view KindName(Kind k) {
  switch (k) {
    case Kind::kActive:
      return "active";
    case Kind::kView:
      return "view";
    case Kind::kCommitted:
      return "committed";
  }
  return "unknown";
}

Result<SnapshotterType> ParseSnapshotterType(std::string_view s) {
  if (s == "auto") return SnapshotterType::kAuto;
  if (s == "overlay" || s == "overlayfs") return SnapshotterType::kOverlay;
  if (s == "copy" || s == "native" || s == "vfs") return SnapshotterType::kCopy;
  return InvalidArgumentError("unknown snapshotter \"" + std::string(s) +
                              "\" (want auto, overlay or copy)");
}

Result<DiffResult> Snapshotter::Diff(const std::string& key, const DiffOptions& options,
                                     const oci::Store& store) {
  BLD_ASSIGN_OR_RETURN(std::unique_ptr<oci::BlobWriter> w, store.Ingest());
  oci::BlobWriter* wp = w.get();
  BLD_ASSIGN_OR_RETURN(
      DiffResult r, Diff(key, options, [wp](const void* p, size_t n) { return wp->Write(p, n); }));
  BLD_TRY_WRAP(w->Commit(r.descriptor.digest, r.descriptor.size), "store layer of " + key);
  return r;
}

namespace {

constexpr int kMaxOverlayLowers = 500;  // OVL_MAX_STACK
constexpr const char* kMeta = "meta.json";

Result<Kind> ParseKind(const std::string& s) {
  if (s == "active") return Kind::kActive;
  if (s == "view") return Kind::kView;
  if (s == "committed") return Kind::kCommitted;
  return InvalidArgumentError("unknown snapshot kind " + s);
}

// Shared metadata handling; implementations add mounts, setup, apply and diff.
class SnapshotterBase : public Snapshotter {
 public:
  SnapshotterBase(std::string dir, std::string type)
      : dir_(std::move(dir)), type_(std::move(type)) {}

  std::string_view type() const override { return type_; }

  Result<std::vector<Mount>> Prepare(const std::string& key, const std::string& parent) override {
    BLD_TRY_WRAP(Create(key, parent, Kind::kActive), "prepare snapshot " + key);
    return Mounts(key);
  }

  Result<std::vector<Mount>> View(const std::string& key, const std::string& parent) override {
    BLD_TRY_WRAP(Create(key, parent, Kind::kView), "view snapshot " + key);
    return Mounts(key);
  }

  Result<std::vector<Mount>> Mounts(const std::string& key) override {
    BLD_ASSIGN_OR_RETURN(Info info, Stat(key));
    if (info.kind == Kind::kCommitted) {
      return FailedPreconditionError("snapshot " + key + " is committed: create a view of it");
    }
    BLD_ASSIGN_OR_RETURN(std::vector<std::string> chain, ParentDirs(info.parent));
    auto r = MountsFor(info, FsDir(key), WorkDir(key), chain);
    if (!r.ok()) return r.error().Wrap("mounts of snapshot " + key);
    return r;
  }

  Status Commit(const std::string& name, const std::string& key) override {
    std::string ctx = "commit snapshot " + key + " as " + name;
    BLD_ASSIGN_OR_RETURN(Info info, Stat(key));
    if (info.kind != Kind::kActive) {
      return FailedPreconditionError(ctx + ": not an active snapshot (" +
                                     std::string(KindName(info.kind)) + ")");
    }
    if (Stat(name).ok()) return AlreadyExistsError(ctx + ": " + name + " already exists");
    std::string from = Dir(key), to = Dir(name);
    // A committed snapshot is trusted from now on: its contents reach the disk before
    // the meta.json that says it is committed (syncfs: one call for the whole tree).
    {
      UniqueFd fs(::open(JoinPath(from, "fs").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      if (!fs) return PosixError(ctx + ": open " + JoinPath(from, "fs"), errno);
      if (::syncfs(fs.get()) < 0) return PosixError(ctx + ": syncfs " + JoinPath(from, "fs"), errno);
    }
    Info committed = info;
    committed.name = name;
    committed.kind = Kind::kCommitted;
    BLD_TRY_WRAP(WriteMeta(from, committed, /*durable=*/true), ctx);
    if (::rename(from.c_str(), to.c_str()) < 0) {
      int err = errno;
      (void)WriteMeta(from, info, false);
      if (err == EEXIST || err == ENOTEMPTY) {
        return AlreadyExistsError(ctx + ": " + name + " already exists");
      }
      return PosixError(ctx + ": rename " + from + " -> " + to, err);
    }
    BLD_TRY_WRAP(FsyncDir(dir_), ctx);
    // The overlay work dir is only needed while the snapshot is writable.
    (void)RemoveAll(JoinPath(to, "work"));
    return Ok();
  }

  Status Remove(const std::string& key) override {
    std::string ctx = "remove snapshot " + key;
    BLD_ASSIGN_OR_RETURN(Info info, Stat(key));
    if (info.kind == Kind::kCommitted) {
      std::string child;
      BLD_TRY(Walk([&](const Info& i) -> Status {
        if (i.parent == key && child.empty()) child = i.name;
        return Ok();
      }));
      if (!child.empty()) {
        return FailedPreconditionError(ctx + ": snapshot " + child + " is based on it");
      }
    }
    std::string trash = JoinPath(dir_, ".tmp-rm-" + RandomHex(16));
    if (::rename(Dir(key).c_str(), trash.c_str()) < 0) {
      return ErrnoError(ctx + ": rename " + Dir(key));
    }
    BLD_TRY_WRAP(RemoveAll(trash), ctx);
    return Ok();
  }

  Result<Info> Stat(const std::string& key) override {
    std::string dir = Dir(key);
    auto data = ReadFile(JoinPath(dir, kMeta));
    if (!data.ok()) {
      if (data.error().Is(ErrorCode::kNotFound)) {
        return NotFoundError("snapshot " + key + " does not exist");
      }
      return data.error().Wrap("snapshot " + key);
    }
    BLD_ASSIGN_OR_RETURN(Info info, ParseMeta(*data, dir));
    if (info.name != key) return NotFoundError("snapshot " + key + " does not exist");
    return info;
  }

  Status Walk(const std::function<Status(const Info&)>& fn) override {
    BLD_ASSIGN_OR_RETURN(std::vector<std::string> names, ListDir(dir_));
    for (const auto& n : names) {
      if (n.empty() || n[0] == '.') continue;
      std::string dir = JoinPath(dir_, n);
      auto data = ReadFile(JoinPath(dir, kMeta));
      if (!data.ok()) continue;  // removed meanwhile
      std::string snapshotter;
      auto info = ParseMeta(*data, dir, &snapshotter);
      if (!info.ok() || snapshotter != type_) continue;
      // A commit killed before its rename: not the snapshot its meta names.
      if (Id(info->name) != n) continue;
      BLD_TRY(fn(*info));
    }
    return Ok();
  }

  Result<int> RemoveStale() override {
    BLD_ASSIGN_OR_RETURN(std::vector<std::string> names, ListDir(dir_));
    int removed = 0;
    for (const auto& n : names) {
      std::string dir = JoinPath(dir_, n);
      bool stale = n.rfind(".tmp-", 0) == 0;
      if (!stale && !n.empty() && n[0] != '.') {
        auto data = ReadFile(JoinPath(dir, kMeta));
        if (!data.ok()) continue;  // not ours to judge
        std::string snapshotter;
        auto info = ParseMeta(*data, dir, &snapshotter);
        stale = info.ok() && snapshotter == type_ && Id(info->name) != n;
      }
      if (!stale) continue;
      BLD_TRY_WRAP(RemoveAll(dir), "remove stale snapshot directory " + dir);
      ++removed;
    }
    return removed;
  }

  Result<std::string> ApplyDir(const std::string& key) override {
    BLD_ASSIGN_OR_RETURN(Info info, Stat(key));
    if (info.kind != Kind::kActive) {
      return FailedPreconditionError("snapshot " + key + " is not active");
    }
    return FsDir(key);
  }

  // Removes ".tmp-*" leftovers older than an hour (younger ones may be in use).
  void CleanStale() {
    auto names = ListDir(dir_);
    if (!names.ok()) return;
    time_t now = ::time(nullptr);
    for (const auto& n : *names) {
      if (n.rfind(".tmp-", 0) != 0) continue;
      std::string p = JoinPath(dir_, n);
      struct stat st;
      if (::lstat(p.c_str(), &st) == 0 && now - st.st_mtime > 3600) (void)RemoveAll(p);
    }
  }

 protected:
  std::string Id(const std::string& key) const {
    return oci::Digest::Of(type_ + '\0' + key).hex().substr(0, 16);
  }
  std::string Dir(const std::string& key) const { return JoinPath(dir_, Id(key)); }
  std::string FsDir(const std::string& key) const { return JoinPath(Dir(key), "fs"); }
  std::string WorkDir(const std::string& key) const { return JoinPath(Dir(key), "work"); }

  // fs dirs of `parent` and its ancestors, topmost first.
  Result<std::vector<std::string>> ParentDirs(const std::string& parent) {
    std::vector<std::string> chain;
    std::string p = parent;
    while (!p.empty()) {
      BLD_ASSIGN_OR_RETURN(Info info, Stat(p));
      chain.push_back(FsDir(p));
      p = info.parent;
      if (chain.size() > 100000) return InternalError("snapshot parent chain loops");
    }
    return chain;
  }

  // Fills a new snapshot's fs dir (copy: the parent tree; overlay: nothing).
  virtual Status Populate(const std::string& fs, const std::string& parent, Kind kind) = 0;
  virtual Result<std::vector<Mount>> MountsFor(const Info& info, const std::string& fs,
                                               const std::string& work,
                                               const std::vector<std::string>& parents) = 0;

  std::string dir_;
  std::string type_;

 private:
  Status Create(const std::string& key, const std::string& parent, Kind kind) {
    if (key.empty()) return InvalidArgumentError("empty snapshot key");
    if (!parent.empty()) {
      BLD_ASSIGN_OR_RETURN(Info p, Stat(parent));
      if (p.kind != Kind::kCommitted) {
        return FailedPreconditionError("parent " + parent + " is not committed");
      }
    }
    if (Stat(key).ok()) return AlreadyExistsError("snapshot " + key + " already exists");
    std::string tmp = JoinPath(dir_, ".tmp-" + RandomHex(16));
    if (::mkdir(tmp.c_str(), 0700) < 0) return ErrnoError("mkdir " + tmp);
    auto cleanup = [&](Error e) {
      (void)RemoveAll(tmp);
      return e;
    };
    std::string fs = JoinPath(tmp, "fs");
    if (::mkdir(fs.c_str(), 0755) < 0) return cleanup(ErrnoError("mkdir " + fs));
    if (kind == Kind::kActive && ::mkdir(JoinPath(tmp, "work").c_str(), 0700) < 0) {
      return cleanup(ErrnoError("mkdir work"));
    }
    Status s = Populate(fs, parent, kind);
    if (!s.ok()) return cleanup(std::move(s).error());
    Info info{key, parent, kind, static_cast<int64_t>(::time(nullptr))};
    s = WriteMeta(tmp, info, /*durable=*/false);
    if (!s.ok()) return cleanup(std::move(s).error());
    if (::rename(tmp.c_str(), Dir(key).c_str()) < 0) {
      int err = errno;
      if (err == EEXIST || err == ENOTEMPTY) {
        return cleanup(AlreadyExistsError("snapshot " + key + " already exists"));
      }
      return cleanup(PosixError("rename " + tmp + " -> " + Dir(key), err));
    }
    return Ok();
  }

  // Writes meta.json via a temp file and rename. `durable` fsyncs the file first (the
  // caller fsyncs the directory after its own rename); active snapshots and views are
  // scratch, so theirs is not.
  Status WriteMeta(const std::string& dir, const Info& info, bool durable) {
    nlohmann::json j = {{"name", info.name},
                        {"parent", info.parent},
                        {"kind", std::string(KindName(info.kind))},
                        {"snapshotter", type_},
                        {"created", info.created}};
    std::string data = j.dump() + "\n";
    std::string path = JoinPath(dir, kMeta), tmp = path + ".tmp";
    BLD_ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644));
    BLD_TRY(WriteAll(fd.get(), data, tmp));
    if (durable && ::fsync(fd.get()) < 0) return ErrnoError("fsync " + tmp);
    if (::rename(tmp.c_str(), path.c_str()) < 0) return ErrnoError("rename " + tmp);
    return Ok();
  }

  Result<Info> ParseMeta(const std::string& data, const std::string& dir,
                         std::string* snapshotter = nullptr) {
    auto j = nlohmann::json::parse(data, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object() || !j.contains("name") || !j["name"].is_string() ||
        !j.contains("kind") || !j["kind"].is_string()) {
      return InternalError("snapshot metadata " + JoinPath(dir, kMeta) + " is corrupt");
    }
    Info info;
    info.name = j["name"].get<std::string>();
    if (j.contains("parent") && j["parent"].is_string())
      info.parent = j["parent"].get<std::string>();
    BLD_ASSIGN_OR_RETURN(info.kind, ParseKind(j["kind"].get<std::string>()));
    if (j.contains("created") && j["created"].is_number_integer()) {
      info.created = j["created"].get<int64_t>();
    }
    std::string s = j.contains("snapshotter") && j["snapshotter"].is_string()
                        ? j["snapshotter"].get<std::string>()
                        : "";
    if (snapshotter) *snapshotter = s;
    if (s != type_) return NotFoundError("snapshot " + info.name + " belongs to " + s);
    return info;
  }
};

class OverlaySnapshotter final : public SnapshotterBase {
 public:
  OverlaySnapshotter(std::string dir, bool userxattr)
      : SnapshotterBase(std::move(dir), "overlay"), userxattr_(userxattr) {}

  WhiteoutStyle whiteout_style() const override {
    return userxattr_ ? WhiteoutStyle::kOverlayUserXattr : WhiteoutStyle::kOverlay;
  }

  Result<DiffResult> Diff(const std::string& key, const DiffOptions& options,
                          const ByteSink& blob_out) override {
    BLD_ASSIGN_OR_RETURN(std::string upper, ApplyDir(key));
    auto r = DiffUpperDir(upper, options, blob_out);
    if (!r.ok()) return r.error().Wrap("diff snapshot " + key);
    return r;
  }

 protected:
  Status Populate(const std::string&, const std::string&, Kind) override { return Ok(); }

  Result<std::vector<Mount>> MountsFor(const Info& info, const std::string& fs,
                                       const std::string& work,
                                       const std::vector<std::string>& parents) override {
    bool ro = info.kind == Kind::kView;
    if (parents.empty()) {
      return std::vector<Mount>{{"bind", fs, "", {"rbind", ro ? "ro" : "rw"}}};
    }
    if (ro && parents.size() == 1) {
      return std::vector<Mount>{{"bind", parents[0], "", {"rbind", "ro"}}};
    }
    if (static_cast<int>(parents.size()) > kMaxOverlayLowers) {
      return FailedPreconditionError("chain of " + std::to_string(parents.size()) +
                                     " layers exceeds the overlay limit of " +
                                     std::to_string(kMaxOverlayLowers) + " lower layers");
    }
    std::string lower = "lowerdir=";
    for (size_t i = 0; i < parents.size(); ++i) lower += (i ? ":" : "") + parents[i];
    Mount m{"overlay", "overlay", "", {}};
    if (ro) m.options.push_back("ro");
    m.options.push_back(lower);
    if (!ro) {
      m.options.push_back("upperdir=" + fs);
      m.options.push_back("workdir=" + work);
    }
    AddFlags(&m.options, userxattr_);
    return std::vector<Mount>{m};
  }

 public:
  static void AddFlags(std::vector<std::string>* o, bool userxattr) {
    // No redirect_dir/metacopy: every change must be visible in the upper dir itself, so
    // that a diff of the upper dir is the whole change. "userxattr" implies both (and
    // rejects an explicit redirect_dir).
    if (userxattr) {
      o->push_back("userxattr");
    } else {
      o->push_back("redirect_dir=off");
      o->push_back("metacopy=off");
    }
  }

 private:
  bool userxattr_;
};

class CopySnapshotter final : public SnapshotterBase {
 public:
  explicit CopySnapshotter(std::string dir) : SnapshotterBase(std::move(dir), "copy") {}

  WhiteoutStyle whiteout_style() const override { return WhiteoutStyle::kDelete; }

  Result<DiffResult> Diff(const std::string& key, const DiffOptions& options,
                          const ByteSink& blob_out) override {
    BLD_ASSIGN_OR_RETURN(std::string fs, ApplyDir(key));
    BLD_ASSIGN_OR_RETURN(Info info, Stat(key));
    std::string lower = info.parent.empty() ? "" : FsDir(info.parent);
    auto r = DiffTrees(lower, fs, options, blob_out);
    if (!r.ok()) return r.error().Wrap("diff snapshot " + key);
    return r;
  }

 protected:
  Status Populate(const std::string& fs, const std::string& parent, Kind kind) override {
    // A view reads its parent directly (read-only bind); only active snapshots get a copy.
    if (parent.empty() || kind == Kind::kView) return Ok();
    BLD_TRY_WRAP(CopyTree(FsDir(parent), fs), "copy parent " + parent);
    return Ok();
  }

  Result<std::vector<Mount>> MountsFor(const Info& info, const std::string& fs, const std::string&,
                                       const std::vector<std::string>& parents) override {
    if (info.kind == Kind::kView) {
      return std::vector<Mount>{{"bind", parents.empty() ? fs : parents[0], "", {"rbind", "ro"}}};
    }
    return std::vector<Mount>{{"bind", fs, "", {"rbind", "rw"}}};
  }
};

// Mounts a two-layer overlay in a scratch directory under `dir` to see whether overlay
// works here (kernel support, privileges, the file system under the store).
Status ProbeOverlay(const std::string& dir, bool userxattr) {
  std::string p = JoinPath(dir, ".tmp-probe-" + RandomHex(16));
  for (const char* sub : {"", "/l1", "/l2", "/u", "/w", "/m"}) {
    if (::mkdir((p + sub).c_str(), 0700) < 0) {
      int err = errno;
      (void)RemoveAll(p);
      return PosixError("mkdir " + p + sub, err);
    }
  }
  Mount m{"overlay",
          "overlay",
          "",
          {"lowerdir=" + p + "/l2:" + p + "/l1", "upperdir=" + p + "/u", "workdir=" + p + "/w"}};
  OverlaySnapshotter::AddFlags(&m.options, userxattr);
  Status s = MountAt(m, p + "/m");
  if (s.ok()) (void)Unmount(p + "/m");
  (void)RemoveAll(p);
  return s;
}

}  // namespace

Result<std::unique_ptr<Snapshotter>> OpenSnapshotter(const std::string& store_root,
                                                     SnapshotterType type) {
  std::string dir = JoinPath(store_root, "snapshots");
  BLD_TRY_WRAP(MkdirAll(dir, 0700), "open snapshots");
  std::string why;
  if (type == SnapshotterType::kAuto) {
    if (const char* env = ::getenv("BLD_SNAPSHOTTER"); env && *env) {
      BLD_ASSIGN_OR_RETURN(type, ParseSnapshotterType(env));
      why = "BLD_SNAPSHOTTER=" + std::string(env);
    }
  }
  bool userxattr = !InInitialUserNamespace();
  if (type == SnapshotterType::kOverlay || type == SnapshotterType::kAuto) {
    Status probe = Ok();
    if (dir.find_first_of(",:\\") != std::string::npos) {
      probe = FailedPreconditionError(
          "store path " + dir + " contains ',', ':' or '\\', which overlay options cannot hold");
    } else {
      // A probe mount costs a few milliseconds on every command: remember a success for
      // this kernel and user-namespace mode in the store.
      struct utsname uts;
      ::uname(&uts);
      std::string marker = JoinPath(dir, ".overlay-probed");
      std::string expected = std::string(uts.release) + (userxattr ? " userxattr\n" : "\n");
      auto seen = ReadFile(marker);
      if (!seen.ok() || *seen != expected) {
        probe = ProbeOverlay(dir, userxattr);
        if (probe.ok()) (void)WriteFileAtomic(marker, expected, 0644);
      }
    }
    if (probe.ok()) {
      if (why.empty()) {
        why = std::string("overlayfs mounts on ") + dir +
              (userxattr ? " (user namespace: userxattr)" : "");
      }
      BLD_LOG(kInfo) << "using overlay snapshotter: " << why;
      auto s = std::make_unique<OverlaySnapshotter>(dir, userxattr);
      s->CleanStale();
      return std::unique_ptr<Snapshotter>(std::move(s));
    }
    if (type == SnapshotterType::kOverlay) {
      return FailedPreconditionError("overlay snapshotter unavailable: " + probe.error().message());
    }
    why = "overlayfs cannot be mounted here (" + probe.error().message() + ")";
  }
  if (why.empty()) why = "requested";
  BLD_LOG(kInfo) << "using copy snapshotter: " << why;
  auto s = std::make_unique<CopySnapshotter>(dir);
  s->CleanStale();
  return std::unique_ptr<Snapshotter>(std::move(s));
}

}  // namespace bld::snapshot
