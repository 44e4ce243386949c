// Snapshotters, in containerd's vocabulary.
//
// A snapshot is a directory tree identified by a key. An *active* snapshot (Prepare) is
// writable; a *view* (View) is read-only; Commit turns an active snapshot into a
// *committed* one under a new name, which then may be the parent of other snapshots.
// Committed snapshots are named by the layer chain ID ("sha256:..."), so a layer is
// unpacked once and shared by every image and container that uses it. The snapshotter
// does not mount anything: Prepare/View/Mounts return mount descriptions that the caller
// mounts (snapshot::ScopedMount does that).
//
// Storage, under <store root>/snapshots/:
//   <id>/meta.json   {"name","parent","kind","snapshotter","created"}, written atomically
//   <id>/fs          the snapshot's tree (overlay: its upper dir / layer; copy: the full tree)
//   <id>/work        overlay work dir
// <id> is 16 hex digits of sha256(snapshotter type + key): short, so that deep chains keep
// the overlay option string small. Creation and removal are atomic renames; a crash leaves
// only ".tmp-*" directories (which Open removes once stale, RemoveStale at once) and, in
// Commit, a directory whose meta.json names it committed under a name it does not live at
// (Walk and Stat ignore it; RemoveStale removes it).
//
// Implementations:
//   overlay  kernel overlayfs. As root in the initial user namespace whiteouts are 0/0 char
//            devices and opaque dirs carry trusted.overlay.opaque; inside a user namespace
//            the mounts use "userxattr" (user.overlay.opaque). Chains of up to 500 layers
//            (the kernel's lower-dir limit) mount; option strings over a page are mounted
//            with fsconfig("lowerdir+"). Deeper chains are rejected with FailedPrecondition.
//   copy     plain directories: Prepare copies the parent tree (reflinks where possible),
//            Diff compares the two trees. Works anywhere, costs space and time.
// Open chooses automatically (overlay when a probe mount succeeds) and logs which and why;
// the type can be forced, and BLD_SNAPSHOTTER=overlay|copy forces it for kAuto.
//
// Concurrency: operations are atomic renames, so concurrent bld processes may share a
// store; two Commits of the same name race safely (the loser gets AlreadyExists).
// Callers unmount a snapshot before Commit or Remove.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "snapshot/apply.h"
#include "snapshot/diff.h"
#include "snapshot/mount.h"

namespace bld::oci {
class Store;
}

namespace bld::snapshot {

enum class Kind { kActive, kView, kCommitted };
std::string_view KindName(Kind k);

struct Info {
  std::string name;    // the key (active/view) or the committed name
  std::string parent;  // committed parent name, "" for none
  Kind kind = Kind::kActive;
  int64_t created = 0;  // seconds since the epoch
};

enum class SnapshotterType { kAuto, kOverlay, kCopy };
// "auto" | "overlay" | "copy"; InvalidArgument otherwise.
Result<SnapshotterType> ParseSnapshotterType(std::string_view s);

class Snapshotter {
 public:
  virtual ~Snapshotter() = default;

  // "overlay" or "copy".
  virtual std::string_view type() const = 0;

  // Creates the active snapshot `key` on top of the committed snapshot `parent` ("" for an
  // empty tree) and returns its mounts. AlreadyExists if `key` exists, NotFound if `parent`
  // does not, FailedPrecondition if `parent` is not committed.
  virtual Result<std::vector<Mount>> Prepare(const std::string& key, const std::string& parent) = 0;
  // Like Prepare, but read-only: the mounts show `parent` and nothing can be committed.
  virtual Result<std::vector<Mount>> View(const std::string& key, const std::string& parent) = 0;
  // The mounts of an active snapshot or view (committed snapshots have none: view them).
  virtual Result<std::vector<Mount>> Mounts(const std::string& key) = 0;
  // Turns the active snapshot `key` into the committed snapshot `name`; `key` is gone after.
  // AlreadyExists if `name` exists (then `key` is left as it was).
  virtual Status Commit(const std::string& name, const std::string& key) = 0;
  // Removes a snapshot. FailedPrecondition for a committed snapshot that has children.
  virtual Status Remove(const std::string& key) = 0;
  // NotFound if absent.
  virtual Result<Info> Stat(const std::string& key) = 0;
  // Calls fn for every snapshot of this snapshotter (unordered); stops at the first error.
  virtual Status Walk(const std::function<Status(const Info&)>& fn) = 0;
  // Removes what killed writers left: ".tmp-*" directories (of Prepare, View and Remove)
  // and commits cut off between their meta.json and the rename (a directory whose meta
  // names a snapshot that lives elsewhere). Only when no writer is alive: the caller holds
  // the store's exclusive lock. Returns how many were removed.
  virtual Result<int> RemoveStale() = 0;

  // Beyond containerd: where layer apply writes for the active snapshot `key`, with which
  // whiteout translation, and the diff of an active snapshot against its parent.
  virtual Result<std::string> ApplyDir(const std::string& key) = 0;
  virtual WhiteoutStyle whiteout_style() const = 0;
  virtual Result<DiffResult> Diff(const std::string& key, const DiffOptions& options,
                                  const ByteSink& blob_out) = 0;
  Result<DiffResult> Diff(const std::string& key, const DiffOptions& options,
                          const oci::Store& store);
};

// Opens the snapshotter for the store at `store_root` (snapshots live in
// <store_root>/snapshots). kAuto: BLD_SNAPSHOTTER if set, else overlay when a probe mount
// succeeds, else copy; logs the choice and the reason at info level. A forced overlay
// that cannot mount is FailedPrecondition with the kernel's reason.
Result<std::unique_ptr<Snapshotter>> OpenSnapshotter(const std::string& store_root,
                                                     SnapshotterType type = SnapshotterType::kAuto);

}  // namespace bld::snapshot
