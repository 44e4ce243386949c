// Internal to builder/: the state of a build session and of one stage while
// its instructions are dispatched, shared by build.cc and the executors of
// each instruction family (run.cc, copy.cc, metadata.cc).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/temp_dir.h"
#include "builder/builder.h"
#include "builder/cache.h"
#include "builder/cache_key.h"
#include "builder/context.h"
#include "builder/graph.h"
#include "builder/progress.h"
#include "oci/config.h"
#include "oci/descriptor.h"
#include "oci/store.h"
#include "parser/instructions.h"
#include "parser/variables.h"
#include "snapshot/mount.h"
#include "snapshot/snapshotter.h"

namespace bld::builder {

// An image being built (or a base image): config, layers and the cache key
// of the last step that made a layer (or of the base).
struct ImageState {
  oci::ImageConfig config;  // config.config is always set
  std::vector<oci::Descriptor> layers;
  oci::Digest key;
  // The stage set CMD itself (Docker: ENTRYPOINT resets an inherited CMD only).
  bool cmd_set = false;
};

// A read-only mount of an ImageState's root filesystem; unmounted and removed
// on destruction.
class RootfsView final {
 public:
  RootfsView() = default;
  RootfsView(RootfsView&&) = default;
  RootfsView& operator=(RootfsView&&) = default;
  ~RootfsView();
  const std::string& path() const { return dir_ ? dir_->path() : empty_; }

 private:
  friend class Session;
  std::unique_ptr<TempDir> dir_;  // the mount point (or the empty dir for no layers)
  snapshot::ScopedMount mount_;
  snapshot::Snapshotter* snapshotter_ = nullptr;
  std::string key_;
  std::string empty_;
};

// What every stage of one build shares.
class Session final {
 public:
  Session(const BuildOptions& options, oci::Store& store, snapshot::Snapshotter& snapshotter,
          Progress& progress, BuildContext& context);

  const BuildOptions& options() const { return options_; }
  oci::Store& store() { return store_; }
  snapshot::Snapshotter& snapshotter() { return snapshotter_; }
  Progress& progress() { return progress_; }
  BuildContext& context() { return context_; }
  BuildCache& cache() { return cache_; }
  const std::string& platform() const { return platform_; }
  // The config's created time: SOURCE_DATE_EPOCH or the build's start, RFC 3339.
  const std::string& created() const { return created_; }

  // An image from the store (pulled first when missing or with --pull).
  Result<ImageState> ImageFromStore(const std::string& name);
  // The committed snapshot of `state`'s layers ("" for none), unpacking as needed.
  Result<std::string> EnsureSnapshot(const ImageState& state);
  // A read-only view of `state`'s root filesystem.
  Result<RootfsView> View(const ImageState& state);

  // Layer steps run/cached (for the result).
  void CountStep(bool cached);
  int steps_run() const { return steps_run_; }
  int steps_cached() const { return steps_cached_; }

 private:
  const BuildOptions& options_;
  oci::Store& store_;
  snapshot::Snapshotter& snapshotter_;
  Progress& progress_;
  BuildContext& context_;
  BuildCache cache_;
  std::string platform_;
  std::string created_;
  std::mutex mu_;
  std::map<std::string, ImageState> images_;  // resolved base images by name
  std::set<std::string> pulled_;
  int steps_run_ = 0;
  int steps_cached_ = 0;
};

// One stage while it is being built.
struct StageRun {
  Session* session = nullptr;
  const parser::Dockerfile* df = nullptr;
  const parser::Stage* stage = nullptr;
  const StageNode* node = nullptr;
  std::string file_name;  // "Dockerfile" (for errors: "Dockerfile:LINE: ...")
  ImageState state;
  std::unique_ptr<parser::StageVariables> vars;
  // Final states of the stages this one depends on.
  std::map<int, const ImageState*> deps;
  // "[name 2/5]" progress prefix parts.
  std::string label;
  int total = 0;
  int position = 0;
  // The instruction being dispatched (its index; ONBUILD triggers are -1 - n).
  int index = 0;
  // Inputs that every layer step of this stage carries (platform...).
  std::string Address(int instruction) const;
  // "Dockerfile:LINE: " + message, as InvalidArgument.
  Error At(const parser::Instruction& ins, const std::string& message) const;
  // The progress name of an instruction: "[build 2/5] RUN make".
  std::string StepName(const parser::Instruction& ins) const;
};

// A layer-producing step (RUN, COPY, ADD, WORKDIR): its cache key inputs and
// what it does to a mounted root filesystem.
struct LayerStep {
  std::string name;        // progress name
  std::string created_by;  // history entry
  CacheKey key{"bld.unset"};
  // --link: the layer is made on an empty tree, independent of the parent.
  bool independent = false;
  // WORKDIR: no layer when the step changed nothing.
  bool drop_if_empty = false;
  // Writes into the mounted root filesystem at `rootfs`; `step` is the progress step.
  std::function<Status(const std::string& rootfs, int step)> apply;
};

// Runs (or takes from the cache) a layer step and appends its layer and
// history entry to run.state.
Status RunLayerStep(StageRun& run, const parser::Instruction& ins, LayerStep step);

// Executors, one per instruction family.
Status ExecuteRun(StageRun& run, const parser::Instruction& ins, const parser::RunInstruction& r);
Status ExecuteCopy(StageRun& run, const parser::Instruction& ins, const parser::CopyInstruction& c);
// Every other instruction (ENV, ARG, LABEL, CMD, ENTRYPOINT, WORKDIR, USER, ...).
Status ExecuteMetadata(StageRun& run, const parser::Instruction& ins);

// RFC 3339 for seconds since the epoch ("2024-01-01T00:00:00Z").
std::string Rfc3339(int64_t seconds);
// Appends a history entry with the session's created time.
void AddHistory(StageRun& run, const std::string& created_by, bool empty_layer);
// The shell for shell-form commands: the config's SHELL or ["/bin/sh", "-c"].
std::vector<std::string> ShellOf(const ImageState& state);

}  // namespace bld::builder
