// Build(): plan (parse, graph), then act (stages in parallel, steps in order).
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <thread>

#include "base/file.h"
#include "base/log.h"
#include "base/random.h"
#include "builder/builder.h"
#include "builder/output.h"
#include "builder/stage.h"
#include "oci/image.h"
#include "oci/reference.h"
#include "registry/client.h"
#include "registry/pull.h"
#include "snapshot/compression.h"
#include "snapshot/unpack.h"

namespace bld::builder {

// ---- small helpers ------------------------------------------------------------

std::string Rfc3339(int64_t seconds) {
  time_t t = static_cast<time_t>(seconds);
  struct tm tm;
  gmtime_r(&t, &tm);
  char buf[64];
  strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

void AddHistory(StageRun& run, const std::string& created_by, bool empty_layer) {
  oci::HistoryEntry h;
  h.created = run.session->created();
  h.created_by = created_by;
  h.comment = "bld";
  h.empty_layer = empty_layer;
  run.state.config.history.push_back(std::move(h));
}

std::vector<std::string> ShellOf(const ImageState& state) {
  const auto& c = *state.config.config;
  if (c.shell && !c.shell->empty()) return *c.shell;
  return {"/bin/sh", "-c"};
}

std::string StageRun::Address(int instruction) const {
  return "bld.address.v1\n" + session->context().tree().root() + "\n" +
         session->options().dockerfile_path + "\n" + std::to_string(stage->index) + "\n" +
         std::to_string(instruction);
}

Error StageRun::At(const parser::Instruction& ins, const std::string& message) const {
  return InvalidArgumentError(file_name + ":" + std::to_string(ins.start_line) + ": " + message);
}

std::string StageRun::StepName(const parser::Instruction& ins) const {
  std::string text = ins.original;
  if (text.size() > 200) text = text.substr(0, 197) + "...";
  return "[" + label + " " + std::to_string(position) + "/" + std::to_string(total) + "] " + text;
}

Result<ProgressMode> ParseProgressMode(std::string_view s) {
  if (s == "auto") return ProgressMode::kAuto;
  if (s == "tty") return ProgressMode::kTty;
  if (s == "plain") return ProgressMode::kPlain;
  if (s == "json") return ProgressMode::kJson;
  return InvalidArgumentError("--progress " + std::string(s) +
                              ": expected auto, tty, plain or json");
}

namespace {

}  // namespace

// ---- Session ------------------------------------------------------------------

RootfsView::~RootfsView() {
  (void)mount_.Release();
  if (snapshotter_ != nullptr && !key_.empty()) (void)snapshotter_->Remove(key_);
}

Session::Session(const BuildOptions& options, oci::Store& store, snapshot::Snapshotter& snapshotter,
                 Progress& progress, BuildContext& context)
    : options_(options),
      store_(store),
      snapshotter_(snapshotter),
      progress_(progress),
      context_(context),
      cache_(options.store_root),
      platform_(oci::Platform::Host().str()) {
  created_ = Rfc3339(options.source_date_epoch ? *options.source_date_epoch
                                               : static_cast<int64_t>(time(nullptr)));
}

void Session::CountStep(bool cached) {
  std::lock_guard lock(mu_);
  (cached ? steps_cached_ : steps_run_)++;
}

Result<ImageState> Session::ImageFromStore(const std::string& name) {
  std::lock_guard lock(mu_);
  auto it = images_.find(name);
  if (it != images_.end()) return it->second;
  ImageState state;
  if (name == "scratch") {
    state.config.config = oci::ContainerConfig{};
    oci::Platform host = oci::Platform::Host();
    state.config.os = host.os;
    state.config.architecture = host.architecture;
    state.config.variant = host.variant;
    CacheKey k("bld.scratch.v1");
    k.Add("platform", platform_);
    state.key = k.Digest();
    images_[name] = state;
    return state;
  }
  auto resolved = options_.pull ? Result<oci::ResolvedImage>(NotFoundError("--pull"))
                                : oci::ResolveImage(store_, name);
  if (!resolved.ok()) {
    if (!resolved.error().Is(ErrorCode::kNotFound)) return resolved.error();
    BLD_ASSIGN_OR_RETURN(auto ref, oci::Reference::Parse(name));
    int id = progress_.Start("pull " + ref.str());
    registry::ClientOptions co;
    co.tls_verify = options_.tls_verify;
    auto client = registry::Client::Create(ref.domain(), std::move(co));
    if (!client.ok()) {
      progress_.Failed(id, client.error().message());
      return client.error().Wrap("pull " + name);
    }
    registry::PullOptions po;
    po.progress = [this, id](const std::string& line) { progress_.Output(id, line + "\n"); };
    auto pulled = registry::Pull(**client, store_, ref, po);
    if (!pulled.ok()) {
      progress_.Failed(id, pulled.error().message());
      std::string hint = options_.pull ? "" : " (it is not in the local store either)";
      return pulled.error().Wrap("base image " + name + hint);
    }
    progress_.Done(id);
    resolved = oci::ResolveImage(store_, ref.str());
    if (!resolved.ok()) return resolved.error();
  }
  const oci::Image& img = resolved->image;
  state.config = img.config;
  if (!state.config.config) state.config.config = oci::ContainerConfig{};
  state.layers = img.manifest.layers;
  if (state.layers.size() != state.config.diff_ids.size()) {
    return FailedPreconditionError("image " + name + ": " + std::to_string(state.layers.size()) +
                                   " layers but " + std::to_string(state.config.diff_ids.size()) +
                                   " diff IDs");
  }
  CacheKey k("bld.base.v1");
  k.Add("image", img.id().str());
  k.Add("platform", platform_);
  state.key = k.Digest();
  images_[name] = state;
  return state;
}

Result<std::string> Session::EnsureSnapshot(const ImageState& state) {
  if (state.layers.empty()) return std::string();
  std::string chain = oci::ChainId(state.config.diff_ids).str();
  if (snapshotter_.Stat(chain).ok()) return chain;
  return snapshot::Unpack(store_, state.layers, state.config.diff_ids, snapshotter_);
}

Result<RootfsView> Session::View(const ImageState& state) {
  RootfsView v;
  BLD_ASSIGN_OR_RETURN(TempDir dir, TempDir::Create("", "bld-view-"));
  v.dir_ = std::make_unique<TempDir>(std::move(dir));
  BLD_ASSIGN_OR_RETURN(std::string chain, EnsureSnapshot(state));
  if (chain.empty()) return v;
  std::string key = "bld-view-" + RandomHex(16);
  BLD_ASSIGN_OR_RETURN(auto mounts, snapshotter_.View(key, chain));
  v.snapshotter_ = &snapshotter_;
  v.key_ = key;
  BLD_ASSIGN_OR_RETURN(v.mount_, snapshot::ScopedMount::Create(mounts, v.dir_->path()));
  return v;
}

// ---- layer steps --------------------------------------------------------------

Status RunLayerStep(StageRun& run, const parser::Instruction& ins, LayerStep step) {
  Session& s = *run.session;
  const BuildOptions& o = s.options();
  step.key.Add("platform", s.platform());
  step.key.Add("parent", step.independent ? std::string() : run.state.key.str());
  step.key.Add("compression", std::string(snapshot::CompressionName(o.compression)));
  if (o.source_date_epoch) step.key.Add("source_date_epoch", std::to_string(*o.source_date_epoch));
  const oci::Digest key = step.key.Digest();
  const std::string address = run.Address(run.index);
  int id = s.progress().Start(step.name);

  auto apply_record = [&](const CacheRecord& rec) {
    if (rec.layer) {
      run.state.layers.push_back(*rec.layer);
      run.state.config.diff_ids.push_back(rec.diff_id);
    }
    AddHistory(run, rec.created_by, !rec.layer.has_value());
    run.state.key = key;
  };

  if (!o.no_cache) {
    auto rec = s.cache().Lookup(key);
    if (rec && (!rec->layer || s.store().HasBlob(rec->layer->digest))) {
      apply_record(*rec);
      s.progress().Cached(id);
      s.CountStep(true);
      // Rewritten only when they changed: a fully cached build writes nothing.
      if (o.explain || s.cache().PreviousInputs(address) != step.key.InputDigests()) {
        (void)s.cache().SaveInputs(address, step.key.InputDigests());
      }
      return Ok();
    }
  }
  if (o.explain) {
    if (o.no_cache) {
      s.progress().Info(id, "explain: --no-cache");
    } else {
      auto prev = s.cache().PreviousInputs(address);
      if (!prev) {
        s.progress().Info(id, "explain: no earlier build of this step");
      } else {
        auto diffs = DiffInputs(*prev, step.key.InputDigests());
        if (diffs.empty()) {
          s.progress().Info(id, "explain: same inputs as before, but the cached layer is gone");
        }
        for (const auto& d : diffs) s.progress().Info(id, "explain: " + d);
      }
    }
  }

  std::string parent;
  if (!step.independent) {
    auto p = s.EnsureSnapshot(run.state);
    if (!p.ok()) {
      s.progress().Failed(id, p.error().message());
      return p.error().Wrap("unpack the layers below " + ins.name);
    }
    parent = *p;
  }
  const std::string active = "bld-build-" + RandomHex(16);
  auto mounts = s.snapshotter().Prepare(active, parent);
  if (!mounts.ok()) {
    s.progress().Failed(id, mounts.error().message());
    return mounts.error();
  }
  bool keep_active = false;
  struct RemoveActive {
    snapshot::Snapshotter& sn;
    const std::string& key;
    bool& keep;
    ~RemoveActive() {
      if (!keep) (void)sn.Remove(key);
    }
  } remove_active{s.snapshotter(), active, keep_active};

  Status applied = Ok();
  {
    auto dir = TempDir::Create("", "bld-rootfs-");
    if (!dir.ok()) return dir.error();
    auto mounted = snapshot::ScopedMount::Create(*mounts, dir->path());
    if (!mounted.ok()) {
      s.progress().Failed(id, mounted.error().message());
      return mounted.error();
    }
    applied = step.apply(dir->path(), id);
    Status released = mounted->Release();
    if (applied.ok() && !released.ok()) applied = released;
  }
  if (!applied.ok()) {
    s.progress().Failed(id, applied.error().message());
    return applied;
  }

  snapshot::DiffOptions dopt;
  dopt.compression = o.compression;
  dopt.source_date_epoch = o.source_date_epoch;
  auto diff = s.snapshotter().Diff(active, dopt, s.store());
  if (!diff.ok()) {
    s.progress().Failed(id, diff.error().message());
    return diff.error().Wrap("diff the result of " + ins.name);
  }
  CacheRecord rec;
  rec.created_by = step.created_by;
  if (!(step.drop_if_empty && diff->entries == 0)) {
    rec.layer = diff->descriptor;
    rec.diff_id = diff->diff_id;
    if (!step.independent) {
      std::vector<oci::Digest> ids = run.state.config.diff_ids;
      ids.push_back(diff->diff_id);
      std::string chain = oci::ChainId(ids).str();
      Status c = s.snapshotter().Commit(chain, active);
      if (c.ok()) {
        keep_active = true;
      } else if (!c.error().Is(ErrorCode::kAlreadyExists)) {
        s.progress().Failed(id, c.error().message());
        return c;
      }
    }
  }
  if (!o.no_cache || true) {
    Status st = s.cache().Store(key, rec);
    if (!st.ok()) BLD_LOG(kWarn) << "cache record: " << st.error().message();
    (void)s.cache().SaveInputs(address, step.key.InputDigests());
  }
  apply_record(rec);
  s.CountStep(false);
  s.progress().Done(id);
  return Ok();
}

// ---- stages -------------------------------------------------------------------

namespace {

struct Plan {
  parser::Dockerfile df;
  Graph graph;
  parser::EnvMap meta_values;
  parser::EnvMap build_args;
  parser::EnvMap predefined;
  std::string file_name;
};

Status Dispatch(StageRun& run, const parser::Instruction& ins) {
  Status st = Ok();
  if (auto* r = std::get_if<parser::RunInstruction>(&ins.value)) {
    st = ExecuteRun(run, ins, *r);
  } else if (auto* c = std::get_if<parser::CopyInstruction>(&ins.value)) {
    st = ExecuteCopy(run, ins, *c);
  } else {
    st = ExecuteMetadata(run, ins);
  }
  if (st.ok()) return st;
  std::string prefix = run.file_name + ":";
  if (st.error().message().starts_with(prefix)) return st;
  return st.error().Wrap(run.file_name + ":" + std::to_string(ins.start_line) + ": " + ins.name);
}

Result<ImageState> BuildStage(Session& session, const Plan& plan, int index,
                              const std::map<int, const ImageState*>& deps,
                              const std::atomic<bool>& cancelled) {
  const parser::Stage& stage = plan.df.stages[index];
  const StageNode& node = plan.graph.stages[index];
  StageRun run;
  run.session = &session;
  run.df = &plan.df;
  run.stage = &stage;
  run.node = &node;
  run.file_name = plan.file_name;
  run.deps = deps;
  run.label = stage.name.empty() ? "stage-" + std::to_string(index) : stage.original_name;
  run.total = static_cast<int>(stage.instructions.size()) + 1;
  run.position = 1;

  auto at = [&](int line, const std::string& m) {
    return InvalidArgumentError(plan.file_name + ":" + std::to_string(line) + ": " + m);
  };
  if (!node.platform.empty()) {
    auto p = oci::Platform::Parse(node.platform);
    if (!p.ok()) return at(stage.start_line, p.error().message());
    if (!oci::Platform::Host().Matches(*p)) {
      return at(stage.start_line, "FROM --platform=" + node.platform +
                                      ": only the host platform (" + oci::Platform::Host().str() +
                                      ") can be built");
    }
  }
  int id = session.progress().Start("[" + run.label + " 1/" + std::to_string(run.total) + "] " +
                                    stage.original);
  if (node.from.stage >= 0) {
    run.state = *deps.at(node.from.stage);
    run.state.cmd_set = false;
  } else {
    auto base = session.ImageFromStore(node.base);
    if (!base.ok()) {
      session.progress().Failed(id, base.error().message());
      return base.error().Wrap(plan.file_name + ":" + std::to_string(stage.start_line) + ": FROM " +
                               node.base);
    }
    run.state = std::move(*base);
  }
  session.progress().Done(id);
  // Like BuildKit, an image without PATH gets the default one.
  if (!run.state.config.config->GetEnv("PATH")) {
    run.state.config.config->SetEnv("PATH",
                                    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  }
  run.vars = std::make_unique<parser::StageVariables>(run.state.config.config->env,
                                                      plan.meta_values, plan.build_args,
                                                      plan.predefined, plan.df.escape_token);
  // ONBUILD triggers of the base run first, then are dropped from the config.
  std::vector<std::string> triggers = run.state.config.config->on_build;
  run.state.config.config->on_build.clear();
  for (size_t t = 0; t < triggers.size(); ++t) {
    auto ast = parser::Parse(triggers[t], {.file_name = plan.file_name});
    if (!ast.ok()) return ast.error().Wrap("ONBUILD trigger of " + node.base);
    auto ins = parser::ParseInstruction(ast->children[0], {.file_name = plan.file_name});
    if (!ins.ok()) return ins.error().Wrap("ONBUILD trigger of " + node.base);
    ins->start_line = stage.start_line;
    ins->end_line = stage.start_line;
    run.index = -1 - static_cast<int>(t);
    BLD_TRY(Dispatch(run, *ins));
  }
  for (size_t i = 0; i < stage.instructions.size(); ++i) {
    if (cancelled.load()) return FailedPreconditionError("cancelled: another stage failed");
    run.index = static_cast<int>(i);
    run.position = static_cast<int>(i) + 2;
    BLD_TRY(Dispatch(run, stage.instructions[i]));
  }
  return std::move(run.state);
}

}  // namespace

// ---- Build --------------------------------------------------------------------

Result<BuildResult> Build(const BuildOptions& options_in) {
  BuildOptions options = options_in;
  // Mounts made by this build vanish with the process, even when it is killed.
  if (geteuid() == 0 && unshare(CLONE_NEWNS) == 0) {
    (void)mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr);
  }
  if (!options.platform.empty()) {
    BLD_ASSIGN_OR_RETURN(auto p, oci::Platform::Parse(options.platform));
    if (!oci::Platform::Host().Matches(p)) {
      return InvalidArgumentError("--platform " + options.platform + ": only the host platform (" +
                                  oci::Platform::Host().str() +
                                  ") can be built; cross-platform builds are not supported");
    }
  }
  // Plan: Dockerfile -> typed stages -> graph.
  Plan plan;
  std::string text;
  if (options.dockerfile_text) {
    text = *options.dockerfile_text;
    plan.file_name = "Dockerfile";
  } else {
    if (options.dockerfile_path.empty()) {
      options.dockerfile_path = JoinPath(options.context_dir, "Dockerfile");
    }
    auto t = ReadFile(options.dockerfile_path);
    if (!t.ok()) return t.error().Wrap("read the Dockerfile");
    text = *t;
    plan.file_name = Basename(options.dockerfile_path);
  }
  BLD_ASSIGN_OR_RETURN(plan.df, parser::ParseDockerfile(text, {.file_name = plan.file_name}));
  oci::Platform host = oci::Platform::Host();
  for (const char* prefix : {"TARGET", "BUILD"}) {
    std::string p = prefix;
    plan.predefined[p + "PLATFORM"] = host.str();
    plan.predefined[p + "OS"] = host.os;
    plan.predefined[p + "ARCH"] = host.architecture;
    plan.predefined[p + "VARIANT"] = host.variant;
  }
  for (const auto& [k, v] : options.build_args) plan.build_args[k] = v;
  BLD_ASSIGN_OR_RETURN(plan.meta_values,
                       parser::ResolveMetaArgs(plan.df.meta_args, plan.build_args, plan.predefined,
                                               plan.df.escape_token));
  GraphOptions go;
  go.file_name = plan.file_name;
  go.target = options.target;
  go.meta_values = plan.meta_values;
  go.build_args = plan.build_args;
  go.predefined = plan.predefined;
  BLD_ASSIGN_OR_RETURN(plan.graph, BuildGraph(plan.df, go));

  BLD_ASSIGN_OR_RETURN(
      auto context,
      BuildContext::Open(options.context_dir,
                         options.dockerfile_text ? std::string() : options.dockerfile_path));
  BLD_ASSIGN_OR_RETURN(auto store, oci::Store::Open(options.store_root));
  BLD_ASSIGN_OR_RETURN(auto lock, store->LockShared());
  BLD_ASSIGN_OR_RETURN(auto snapshotter, snapshot::OpenSnapshotter(options.store_root));
  Progress progress(options.progress, options.progress_fd);
  Session session(options, *store, *snapshotter, progress, *context);

  // Act: the main thread starts a stage's thread once its dependencies are built, at most
  // `jobs` at once. (Threads are started only when they can work at once: a thread that
  // allocates while the runner clones a container is a hazard for the runner's child.)
  const int n = static_cast<int>(plan.df.stages.size());
  int jobs =
      options.jobs > 0 ? options.jobs : static_cast<int>(std::thread::hardware_concurrency());
  if (jobs < 1) jobs = 1;
  std::vector<std::optional<ImageState>> finals(n);
  enum { kWaiting, kRunning, kDone, kFailed };
  std::vector<int> state(n, kWaiting);
  std::mutex mu;
  std::condition_variable cv;
  int running = 0;
  std::optional<Error> first_error;
  std::atomic<bool> cancelled{false};
  std::vector<std::thread> threads;
  {
    std::unique_lock lock(mu);
    for (;;) {
      bool all_done = true;
      for (int i : plan.graph.order) {
        if (state[i] == kWaiting || state[i] == kRunning) all_done = false;
        if (state[i] != kWaiting || cancelled.load() || running >= jobs) continue;
        bool ready = true;
        for (int d : plan.graph.stages[i].deps) ready = ready && state[d] == kDone;
        if (!ready) continue;
        std::map<int, const ImageState*> deps;
        for (int d : plan.graph.stages[i].deps) deps[d] = &*finals[d];
        state[i] = kRunning;
        ++running;
        threads.emplace_back([&, i, deps]() {
          auto r = BuildStage(session, plan, i, deps, cancelled);
          std::lock_guard l(mu);
          if (r.ok()) {
            finals[i] = std::move(*r);
            state[i] = kDone;
          } else {
            if (!first_error && !cancelled.load()) first_error = r.error();
            cancelled.store(true);
            state[i] = kFailed;
          }
          --running;
          cv.notify_all();
        });
      }
      if (all_done || (cancelled.load() && running == 0)) break;
      cv.wait(lock);
    }
  }
  for (auto& t : threads) t.join();
  if (first_error) return *first_error;
  if (!finals[plan.graph.target]) return InternalError("the target stage was not built");

  // Unused --build-arg values are worth a warning (Docker prints one too).
  {
    std::set<std::string> declared;
    for (const auto& m : plan.df.meta_args) {
      for (const auto& a : std::get<parser::ArgInstruction>(m.value).args) declared.insert(a.key);
    }
    for (const auto& s : plan.df.stages) {
      for (const auto& ins : s.instructions) {
        if (auto* a = std::get_if<parser::ArgInstruction>(&ins.value)) {
          for (const auto& d : a->args) declared.insert(d.key);
        }
      }
    }
    for (const auto& [k, v] : options.build_args) {
      if (declared.count(k) == 0) {
        progress.Info(0, "warning: build arg " + k + " was not consumed by any ARG");
      }
    }
  }

  ImageState image = std::move(*finals[plan.graph.target]);
  image.config.created = session.created();
  for (const auto& [k, v] : options.labels) image.config.config->labels[k] = v;
  BLD_ASSIGN_OR_RETURN(oci::Descriptor manifest,
                       oci::WriteImage(*store, image.config, image.layers));
  std::vector<oci::TagEntry> tags;
  std::vector<std::string> names;
  for (const auto& t : options.tags) {
    BLD_ASSIGN_OR_RETURN(std::string name, oci::StoreName(t));
    names.push_back(name);
    tags.push_back({name, manifest});
  }
  if (tags.empty()) tags.push_back({"", manifest});
  BLD_TRY_WRAP(store->SetTags(tags), "tag the image");

  BuildResult result;
  result.manifest = manifest;
  BLD_ASSIGN_OR_RETURN(std::string cfg, store->ReadBlob(manifest.digest));
  BLD_ASSIGN_OR_RETURN(auto m, oci::Manifest::Parse(cfg));
  result.image_id = m.config.digest;
  result.steps_run = session.steps_run();
  result.steps_cached = session.steps_cached();
  BLD_TRY(WriteOutputs(*store, options, manifest, names, progress));
  return result;
}

}  // namespace bld::builder
