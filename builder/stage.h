// Internal to builder/: the build plan and the state of a build session,
// shared by build.cc (plan, then act) and the lowering of each instruction
// family (run.cc, copy.cc, metadata.cc).
//
// Plan: every base image is resolved first (pulls of independent stages in
// parallel), then every needed stage is lowered, in dependency order, into a
// StagePlan: a list of PlanSteps. Metadata instructions are evaluated on values
// while lowering (they become config-only steps: a history entry); RUN, COPY,
// ADD and WORKDIR become layer steps whose cache key is computed here, by pure
// code, from the step's semantic fields, the parent step's key, content digests
// of what they read in the context, and for `--from=stage` the source stage's
// key. Nothing has run yet: the plan and its keys can be inspected (tests, and
// later --cache-from) before any step executes.
//
// Act: stages whose dependencies are built run in parallel; each layer step is
// looked up in the cache by its key or applied to a snapshot.
#pragma once

#include <atomic>
#include <functional>
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
  // Layers at the bottom that came from a base image (not made by this build).
  size_t base_layers = 0;
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

// What the executor offers a step while it is applied.
class ExecContext {
 public:
  virtual ~ExecContext() = default;
  // The built final state of a stage the step reads (one of its PlanStep::reads_stages).
  virtual const ImageState& Built(int stage) const = 0;
  // Set once a step of another stage failed: long-running steps stop early.
  virtual bool Cancelled() const = 0;
};

// What a layer step does to the mounted root filesystem `rootfs`; `step` is its
// progress number.
using ApplyFn = std::function<Status(const ExecContext& exec, const std::string& rootfs, int step)>;

// One step of a stage's plan.
struct PlanStep {
  std::string name;         // progress name ("[build 2/5] RUN make")
  std::string created_by;   // history entry
  int line = 0;             // Dockerfile line (for errors)
  std::string instruction;  // "RUN", "COPY", ... (for errors)
  bool layer = false;       // false: changes the config only (an empty_layer history entry)

  // Layer steps only.
  CacheKey inputs{"bld.unset"};   // every key input, platform and parent included
  oci::Digest key;                // inputs.Digest()
  std::string address;            // where the step is in the Dockerfile (for --explain)
  bool independent = false;       // --link: made on an empty tree
  bool drop_if_empty = false;     // WORKDIR: no layer when nothing changed
  std::vector<int> reads_stages;  // stages whose built root filesystem apply() reads
  ApplyFn apply;
};

// A needed stage, lowered.
struct StagePlan {
  int index = 0;
  std::string label;      // "build" or "stage-2"
  std::string from_line;  // "[build 1/5] FROM ..." progress name
  int base_stage = -1;    // FROM an earlier stage, else -1 and `base` is the image
  ImageState base;        // the base image (base_stage < 0)
  std::vector<PlanStep> steps;
  // The stage's result as planned: the final config (diff_ids and history are
  // filled in by the executor) and the key of its last layer step.
  ImageState final_state;
  // Stages this stage needs built before it runs (FROM and every reads_stages).
  std::set<int> deps;
};

struct BuildPlan {
  std::string file_name;  // "Dockerfile" (for errors: "Dockerfile:LINE: ...")
  parser::Dockerfile df;
  Graph graph;
  parser::EnvMap meta_values;
  parser::EnvMap build_args;
  parser::EnvMap predefined;
  std::map<int, StagePlan> stages;  // by stage index: every needed stage
  std::vector<int> order;           // dependencies first; the target last
  int target = 0;
  std::set<std::string> consumed_args;  // build args some ARG consumed
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
  // The build's start (or SOURCE_DATE_EPOCH), RFC 3339: the time of steps run now.
  const std::string& now() const { return now_; }

  // An image from the store (pulled first when missing or with --pull). Thread-safe;
  // pulls of different images run in parallel, one pull per image.
  Result<ImageState> ImageFromStore(const std::string& name);
  // The committed snapshot of `state`'s layers ("" for none), unpacking as needed.
  // Thread-safe: stages on the same base wait for one unpack instead of each doing it.
  Result<std::string> EnsureSnapshot(const ImageState& state);
  // A read-only view of `state`'s root filesystem.
  Result<RootfsView> View(const ImageState& state);

  // Layer steps run/cached (for the result).
  void CountStep(bool cached);
  int steps_run() const { return steps_run_; }
  int steps_cached() const { return steps_cached_; }

 private:
  Result<ImageState> Resolve(const std::string& name);

  const BuildOptions& options_;
  oci::Store& store_;
  snapshot::Snapshotter& snapshotter_;
  Progress& progress_;
  BuildContext& context_;
  BuildCache cache_;
  std::string platform_;
  std::string now_;
  std::mutex mu_;
  struct Pending {
    std::mutex mu;  // held while this image is resolved (pulled)
    std::optional<Result<ImageState>> result;
  };
  std::map<std::string, std::shared_ptr<Pending>> images_;
  std::map<std::string, std::shared_ptr<std::mutex>> unpacking_;  // by chain ID
  int steps_run_ = 0;
  int steps_cached_ = 0;
};

// One stage while it is lowered into its StagePlan.
struct StageRun {
  Session* session = nullptr;
  BuildPlan* plan = nullptr;
  const parser::Dockerfile* df = nullptr;
  const parser::Stage* stage = nullptr;
  const StageNode* node = nullptr;
  std::string file_name;  // "Dockerfile" (for errors: "Dockerfile:LINE: ...")
  // The state as planned so far: the config after the instructions lowered so far,
  // the key of the last layer step.
  ImageState state;
  std::unique_ptr<parser::StageVariables> vars;
  StagePlan* out = nullptr;
  // Lowers stage `index` (an earlier one) if needed; returns its plan. Used for
  // --from sources that only ONBUILD triggers name.
  std::function<Result<const StagePlan*>(int index)> lower_stage;
  // "[name 2/5]" progress prefix parts.
  std::string label;
  int total = 0;
  int position = 0;
  // The instruction being lowered (its index; ONBUILD triggers are -1 - n).
  int index = 0;
  bool in_trigger = false;
  // Where instruction `instruction` is (context, Dockerfile, stage): the --explain record.
  std::string Address(int instruction) const;
  // "Dockerfile:LINE: " + message, as InvalidArgument.
  Error At(const parser::Instruction& ins, const std::string& message) const;
  // The progress name of an instruction: "[build 2/5] RUN make".
  std::string StepName(const parser::Instruction& ins) const;
  // What a --from (COPY) or --mount from= value names: the stage (resolved
  // against the stages before this one) or the image. `mount` is the mount's
  // position, -1 for COPY --from.
  Result<SourceRef> SourceOf(const parser::Instruction& ins, const std::string& value,
                             int mount) const;
  // The planned key of a --from source: the stage's final key or the image's key.
  // For a stage, also records it in the current step's reads.
  Result<oci::Digest> SourceKey(const parser::Instruction& ins, const SourceRef& ref,
                                const std::string& what);
};

// A layer step being lowered: its semantic key inputs and what it does.
struct LayerStep {
  std::string name;        // progress name
  std::string created_by;  // history entry
  CacheKey key{"bld.unset"};
  // --link: the layer is made on an empty tree, independent of the parent.
  bool independent = false;
  // WORKDIR: no layer when the step changed nothing.
  bool drop_if_empty = false;
  std::vector<int> reads_stages;
  ApplyFn apply;
};

// The full key of a layer step: its semantic inputs, then "platform" and
// "parent" (the parent step's key; "" for an independent --link step). Pure.
CacheKey StepKey(CacheKey semantic, const std::string& platform, const oci::Digest& parent,
                 bool independent);

// Appends a layer step to the stage's plan (its key from StepKey) and makes it
// the stage's current key.
Status PlanLayerStep(StageRun& run, const parser::Instruction& ins, LayerStep step);
// Appends a config-only step (history entry `created_by`, no layer).
void PlanConfigStep(StageRun& run, const parser::Instruction& ins, const std::string& created_by);

// Lowering, one function per instruction family.
Status LowerRun(StageRun& run, const parser::Instruction& ins, const parser::RunInstruction& r);
Status LowerCopy(StageRun& run, const parser::Instruction& ins, const parser::CopyInstruction& c);
// Every other instruction (ENV, ARG, LABEL, CMD, ENTRYPOINT, WORKDIR, USER, ...).
Status LowerMetadata(StageRun& run, const parser::Instruction& ins);

// Parses the Dockerfile of `options` and lowers it into a plan: base images
// resolved through `session`, every layer step keyed. Runs no step. Errors name
// "Dockerfile:LINE".
Result<BuildPlan> MakePlan(Session& session, const std::string& dockerfile_text,
                           const std::string& file_name);

// RFC 3339 for seconds since the epoch ("2024-01-01T00:00:00Z").
std::string Rfc3339(int64_t seconds);
// The shell for shell-form commands: the config's SHELL or ["/bin/sh", "-c"].
std::vector<std::string> ShellOf(const ImageState& state);

// The build args Docker defines without an ARG line (HTTP_PROXY, https_proxy, ..., in any case):
// they reach RUN but never the image config or its history.
bool IsBuiltinProxyArg(std::string_view name);

}  // namespace bld::builder
