// Build(): plan (parse, graph, base images, every stage lowered and keyed), then act
// (stages in parallel, steps in order), then export (compression, SOURCE_DATE_EPOCH).
#include <fcntl.h>
#include <sched.h>
#include <strings.h>
#include <sys/mount.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <nlohmann/json.hpp>
#include <thread>

#include "base/file.h"
#include "base/log.h"
#include "base/random.h"
#include "builder/builder.h"
#include "builder/checks.h"
#include "builder/export.h"
#include "builder/output.h"
#include "builder/stage.h"
#include "oci/image.h"
#include "oci/reference.h"
#include "registry/client.h"
#include "registry/pull.h"
#include "snapshot/apply.h"
#include "snapshot/compression.h"
#include "snapshot/mount.h"
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

std::vector<std::string> ShellOf(const ImageState& state) {
  const auto& c = *state.config.config;
  if (c.shell && !c.shell->empty()) return *c.shell;
  return {"/bin/sh", "-c"};
}

bool IsBuiltinProxyArg(std::string_view name) {
  // Any case, as BuildKit (strings.EqualFold).
  for (std::string_view n : {"HTTP_PROXY", "HTTPS_PROXY", "FTP_PROXY", "NO_PROXY", "ALL_PROXY"}) {
    if (name.size() == n.size() && strncasecmp(name.data(), n.data(), n.size()) == 0) return true;
  }
  return false;
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

Result<SourceRef> StageRun::SourceOf(const parser::Instruction& ins, const std::string& value,
                                     int mount) const {
  if (!in_trigger) {
    if (mount < 0) {
      auto it = node->copy_from.find(index);
      if (it != node->copy_from.end()) return it->second;
    } else {
      auto it = node->mount_from.find({index, mount});
      if (it != node->mount_from.end()) return it->second;
    }
  }
  // ONBUILD triggers (and values only known once expanded): resolved against the
  // stages of this Dockerfile before the current one.
  if (value.empty()) return At(ins, "--from names nothing (empty value)");
  SourceRef ref = ResolveSource(*df, value);
  if (ref.stage >= stage->index) {
    return At(ins, "--from=" + value + " names a stage defined at or after this one");
  }
  return ref;
}

Result<oci::Digest> StageRun::SourceKey(const parser::Instruction& ins, const SourceRef& ref,
                                        const std::string& what) {
  if (ref.stage >= 0) {
    BLD_ASSIGN_OR_RETURN(const StagePlan* sp, lower_stage(ref.stage));
    return sp->final_state.key;
  }
  auto img = session->ImageFromStore(ref.image);
  if (!img.ok()) {
    return img.error().Wrap(file_name + ":" + std::to_string(ins.start_line) + ": " + what);
  }
  return img->key;
}

Result<ProgressMode> ParseProgressMode(std::string_view s) {
  if (s == "auto") return ProgressMode::kAuto;
  if (s == "tty") return ProgressMode::kTty;
  if (s == "plain") return ProgressMode::kPlain;
  if (s == "json") return ProgressMode::kJson;
  return InvalidArgumentError("--progress " + std::string(s) +
                              ": expected auto, tty, plain or json");
}

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
  now_ = Rfc3339(options.source_date_epoch ? *options.source_date_epoch
                                           : static_cast<int64_t>(time(nullptr)));
}

void Session::CountStep(bool cached) {
  std::lock_guard lock(mu_);
  (cached ? steps_cached_ : steps_run_)++;
}

Result<ImageState> Session::ImageFromStore(const std::string& name) {
  std::shared_ptr<Pending> p;
  {
    std::lock_guard lock(mu_);
    auto& slot = images_[name];
    if (!slot) slot = std::make_shared<Pending>();
    p = slot;
  }
  // Only resolutions of the same name wait for each other.
  std::lock_guard lock(p->mu);
  if (!p->result) p->result = Resolve(name);
  return *p->result;
}

Result<ImageState> Session::Resolve(const std::string& name) {
  ImageState state;
  if (name == "scratch") {
    // As BuildKit's emptyImage: WorkingDir "/" (PATH is added for every stage below).
    state.config.config = oci::ContainerConfig{};
    state.config.config->working_dir = "/";
    oci::Platform host = oci::Platform::Host();
    state.config.os = host.os;
    state.config.architecture = host.architecture;
    state.config.variant = host.variant;
    CacheKey k("bld.scratch.v1");
    k.Add("platform", platform_);
    state.key = k.Digest();
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
  state.base_layers = state.layers.size();
  if (state.layers.size() != state.config.diff_ids.size()) {
    return FailedPreconditionError("image " + name + ": " + std::to_string(state.layers.size()) +
                                   " layers but " + std::to_string(state.config.diff_ids.size()) +
                                   " diff IDs");
  }
  // The key of a base image is its content (chain of diff IDs), not its config: two
  // images with the same layers build the same steps.
  CacheKey k("bld.base.v1");
  k.Add("layers", state.config.diff_ids.empty() ? std::string("empty")
                                                : oci::ChainId(state.config.diff_ids).str());
  k.Add("platform", platform_);
  state.key = k.Digest();
  return state;
}

Result<std::string> Session::EnsureSnapshot(const ImageState& state) {
  if (state.layers.empty()) return std::string();
  std::string chain = oci::ChainId(state.config.diff_ids).str();
  if (snapshotter_.Stat(chain).ok()) return chain;
  std::shared_ptr<std::mutex> m;
  {
    std::lock_guard l(mu_);
    auto& slot = unpacking_[chain];
    if (!slot) slot = std::make_shared<std::mutex>();
    m = slot;
  }
  std::lock_guard l(*m);
  if (snapshotter_.Stat(chain).ok()) return chain;  // another stage unpacked it meanwhile
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

// ---- planning -----------------------------------------------------------------

namespace {
// History text as Go's JSON encoder (Docker, BuildKit) writes it: invalid UTF-8 becomes
// U+FFFD, so the config, the cache record and a rebuild agree byte for byte.
std::string ValidUtf8(const std::string& s) {
  std::string quoted =
      nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return nlohmann::json::parse(quoted).get<std::string>();
}
}  // namespace

CacheKey StepKey(CacheKey semantic, const std::string& platform, const oci::Digest& parent,
                 bool independent) {
  semantic.Add("platform", platform);
  semantic.Add("parent", independent ? std::string() : parent.str());
  return semantic;
}

Status PlanLayerStep(StageRun& run, const parser::Instruction& ins, LayerStep step) {
  PlanStep p;
  p.name = std::move(step.name);
  p.created_by = ValidUtf8(step.created_by);
  p.line = ins.start_line;
  p.instruction = ins.name;
  p.layer = true;
  p.inputs = StepKey(std::move(step.key), run.session->platform(), run.state.key, step.independent);
  p.key = p.inputs.Digest();
  p.address = run.Address(run.index);
  p.independent = step.independent;
  p.drop_if_empty = step.drop_if_empty;
  p.reads_stages = std::move(step.reads_stages);
  p.apply = std::move(step.apply);
  for (int s : p.reads_stages) run.out->deps.insert(s);
  run.state.key = p.key;
  run.out->steps.push_back(std::move(p));
  return Ok();
}

void PlanConfigStep(StageRun& run, const parser::Instruction& ins, const std::string& created_by) {
  PlanStep p;
  p.name = run.StepName(ins);
  p.created_by = ValidUtf8(created_by);
  p.line = ins.start_line;
  p.instruction = ins.name;
  run.out->steps.push_back(std::move(p));
}

namespace {

Status Lower(StageRun& run, const parser::Instruction& ins) {
  Status st = Ok();
  if (auto* r = std::get_if<parser::RunInstruction>(&ins.value)) {
    st = LowerRun(run, ins, *r);
  } else if (auto* c = std::get_if<parser::CopyInstruction>(&ins.value)) {
    st = LowerCopy(run, ins, *c);
  } else {
    st = LowerMetadata(run, ins);
  }
  if (st.ok()) return st;
  std::string prefix = run.file_name + ":";
  if (st.error().message().starts_with(prefix)) return st;
  return st.error().Wrap(run.file_name + ":" + std::to_string(ins.start_line) + ": " + ins.name);
}

class Planner {
 public:
  Planner(Session& session, BuildPlan& plan) : session_(session), plan_(plan) {}

  Result<const StagePlan*> LowerStage(int index) {
    auto it = plan_.stages.find(index);
    if (it != plan_.stages.end()) {
      if (lowering_.count(index)) {
        return InvalidArgumentError(plan_.file_name + ": stage " + std::to_string(index) +
                                    " depends on itself");
      }
      return &it->second;
    }
    if (index < 0 || index >= static_cast<int>(plan_.df.stages.size())) {
      return InvalidArgumentError(plan_.file_name + ": no stage " + std::to_string(index));
    }
    lowering_.insert(index);
    StagePlan& sp = plan_.stages[index];
    Status st = LowerInto(index, sp);
    lowering_.erase(index);
    if (!st.ok()) {
      plan_.stages.erase(index);
      return st.error();
    }
    plan_.order.push_back(index);
    return &plan_.stages[index];
  }

 private:
  Status LowerInto(int index, StagePlan& sp) {
    const parser::Stage& stage = plan_.df.stages[index];
    const StageNode& node = plan_.graph.stages[index];
    StageRun run;
    run.session = &session_;
    run.plan = &plan_;
    run.df = &plan_.df;
    run.stage = &stage;
    run.node = &node;
    run.file_name = plan_.file_name;
    run.out = &sp;
    run.lower_stage = [this](int i) { return LowerStage(i); };
    run.label = stage.name.empty() ? "stage-" + std::to_string(index) : stage.original_name;
    run.total = static_cast<int>(stage.instructions.size()) + 1;
    run.position = 1;
    sp.index = index;
    sp.label = run.label;
    sp.from_line = "[" + run.label + " 1/" + std::to_string(run.total) + "] " + stage.original;

    auto at = [&](int line, const std::string& m) {
      return InvalidArgumentError(plan_.file_name + ":" + std::to_string(line) + ": " + m);
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
    if (node.from.stage >= 0) {
      BLD_ASSIGN_OR_RETURN(const StagePlan* dep, LowerStage(node.from.stage));
      sp.base_stage = node.from.stage;
      sp.deps.insert(node.from.stage);
      run.state = dep->final_state;
      run.state.cmd_set = false;
    } else {
      auto base = session_.ImageFromStore(node.base);
      if (!base.ok()) {
        return base.error().Wrap(plan_.file_name + ":" + std::to_string(stage.start_line) +
                                 ": FROM " + node.base);
      }
      sp.base = *base;
      run.state = std::move(*base);
    }
    // Like BuildKit, an image without PATH gets the default one.
    if (!run.state.config.config->GetEnv("PATH")) {
      run.state.config.config->SetEnv(
          "PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    }
    run.vars = std::make_unique<parser::StageVariables>(run.state.config.config->env,
                                                        plan_.meta_values, plan_.build_args,
                                                        plan_.predefined, plan_.df.escape_token);
    // ONBUILD triggers of the base run first (resolved against this Dockerfile's
    // stages), then are dropped from the config.
    std::vector<std::string> triggers = run.state.config.config->on_build;
    run.state.config.config->on_build.clear();
    std::vector<parser::Instruction> trigger_ins;
    for (const auto& t : triggers) {
      auto ast = parser::Parse(t, {.file_name = plan_.file_name});
      if (!ast.ok()) return ast.error().Wrap("ONBUILD trigger of " + node.base);
      auto ins = parser::ParseInstruction(ast->children[0], {.file_name = plan_.file_name});
      if (!ins.ok()) return ins.error().Wrap("ONBUILD trigger of " + node.base);
      ins->start_line = stage.start_line;
      ins->end_line = stage.start_line;
      trigger_ins.push_back(std::move(*ins));
    }
    run.in_trigger = true;
    for (size_t t = 0; t < trigger_ins.size(); ++t) {
      run.index = -1 - static_cast<int>(t);
      BLD_TRY(Lower(run, trigger_ins[t]));
    }
    run.in_trigger = false;
    for (size_t i = 0; i < stage.instructions.size(); ++i) {
      run.index = static_cast<int>(i);
      run.position = static_cast<int>(i) + 2;
      BLD_TRY(Lower(run, stage.instructions[i]));
    }
    for (const auto& a : run.vars->ConsumedBuildArgs()) plan_.consumed_args.insert(a);
    run.state.config.config->env = run.vars->Env();  // ENV steps update only the variables
    sp.final_state = std::move(run.state);
    return Ok();
  }

  Session& session_;
  BuildPlan& plan_;
  std::set<int> lowering_;
};

}  // namespace

Result<BuildPlan> MakePlan(Session& session, const std::string& text,
                           const std::string& file_name) {
  const BuildOptions& options = session.options();
  BuildPlan plan;
  plan.file_name = file_name;
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
  // The automatic platform ARGs are defined in the global scope (FROM build-${TARGETOS}).
  for (const auto& [k, v] : plan.predefined) plan.meta_values.emplace(k, v);
  GraphOptions go;
  go.file_name = plan.file_name;
  go.target = options.target;
  go.meta_values = plan.meta_values;
  go.build_args = plan.build_args;
  go.predefined = plan.predefined;
  BLD_ASSIGN_OR_RETURN(plan.graph, BuildGraph(plan.df, go));
  plan.target = plan.graph.target;

  // Every base image (FROM, COPY --from=image, --mount from=image) resolved first, each
  // in its own thread: pulls of independent stages run in parallel.
  std::set<std::string> images;
  for (int i : plan.graph.order) {
    const StageNode& n = plan.graph.stages[i];
    if (n.from.stage < 0) images.insert(n.base);
    for (const auto& [k, ref] : n.copy_from) {
      if (ref.stage < 0) images.insert(ref.image);
    }
    for (const auto& [k, ref] : n.mount_from) {
      if (ref.stage < 0) images.insert(ref.image);
    }
  }
  if (images.size() > 1) {
    std::vector<std::thread> pulls;
    for (const auto& name : images) {
      pulls.emplace_back([&session, name]() { (void)session.ImageFromStore(name); });
    }
    for (auto& t : pulls) t.join();
  }
  Planner planner(session, plan);
  for (int i : plan.graph.order) BLD_TRY(planner.LowerStage(i));
  return plan;
}

// ---- execution ----------------------------------------------------------------

namespace {

class Executor final : public ExecContext {
 public:
  Executor(Session& session, const BuildPlan& plan) : session_(session), plan_(plan) {}

  const ImageState& Built(int stage) const override {
    std::lock_guard lock(mu_);
    return *built_.at(stage);
  }
  bool Cancelled() const override { return cancelled_.load(); }

  // Runs every stage of the plan, each once its dependencies are built, at most `jobs`
  // at once. The first error cancels the others and is returned.
  Status Run(int jobs) {
    std::map<int, int> state;  // 0 waiting, 1 running, 2 done, 3 failed
    for (int i : plan_.order) state[i] = 0;
    int running = 0;
    std::optional<Error> first_error;
    std::vector<std::thread> threads;
    std::unique_lock lock(mu_);
    for (;;) {
      bool all_done = true;
      for (int i : plan_.order) {
        if (state[i] == 0 || state[i] == 1) all_done = false;
        if (state[i] != 0 || cancelled_.load() || running >= jobs) continue;
        bool ready = true;
        for (int d : plan_.stages.at(i).deps) ready = ready && state[d] == 2;
        if (!ready) continue;
        state[i] = 1;
        ++running;
        threads.emplace_back([this, i, &state, &running, &first_error]() {
          auto r = RunStage(plan_.stages.at(i));
          std::lock_guard l(mu_);
          if (r.ok()) {
            built_[i] = std::make_unique<ImageState>(std::move(*r));
            state[i] = 2;
          } else {
            if (!first_error && !cancelled_.load()) first_error = r.error();
            cancelled_.store(true);
            state[i] = 3;
          }
          --running;
          cv_.notify_all();
        });
      }
      if (all_done || (cancelled_.load() && running == 0)) break;
      cv_.wait(lock);
    }
    lock.unlock();
    for (auto& t : threads) t.join();
    if (first_error) return *first_error;
    return Ok();
  }

  ImageState TakeBuilt(int stage) {
    std::lock_guard lock(mu_);
    return std::move(*built_.at(stage));
  }

 private:
  Result<ImageState> RunStage(const StagePlan& sp) {
    Progress& progress = session_.progress();
    int id = progress.Start(sp.from_line);
    ImageState state = sp.base_stage >= 0 ? Built(sp.base_stage) : sp.base;
    if (sp.base_stage < 0 && !sp.base.layers.empty()) {
      // Unpack the base here, so its time is not charged to the first step.
      auto snap = session_.EnsureSnapshot(state);
      if (!snap.ok()) {
        progress.Failed(id, snap.error().message());
        return snap.error().Wrap(plan_.file_name + ": FROM: unpack the base image");
      }
    }
    progress.Done(id);
    // History times: a step run now gets the build's time, a cached one the time it was
    // first built, a config-only step the time of the layer step before it; so a fully
    // cached rebuild reproduces the same config, and so the same image ID.
    std::string last_time =
        !state.config.history.empty() && !state.config.history.back().created.empty()
            ? state.config.history.back().created
            : state.config.created;
    const auto& epoch = session_.options().source_date_epoch;
    for (const PlanStep& step : sp.steps) {
      if (cancelled_.load()) return CancelledError();
      if (!step.layer) {
        oci::HistoryEntry h;
        h.created = epoch ? session_.now() : last_time;
        h.created_by = step.created_by;
        h.comment = "bld";
        h.empty_layer = true;
        state.config.history.push_back(std::move(h));
        continue;
      }
      Status st = RunLayerStep(step, state, &last_time);
      if (!st.ok()) {
        std::string prefix = plan_.file_name + ":";
        if (st.error().message().starts_with(prefix)) return st.error();
        return st.error().Wrap(plan_.file_name + ":" + std::to_string(step.line) + ": " +
                               step.instruction);
      }
    }
    // The config as planned, with the layers, diff IDs and history as built.
    ImageState out = sp.final_state;
    out.layers = std::move(state.layers);
    out.base_layers = state.base_layers;
    out.config.diff_ids = std::move(state.config.diff_ids);
    out.config.history = std::move(state.config.history);
    out.config.created = epoch ? session_.now() : last_time;
    return out;
  }

  static Error CancelledError() {
    return FailedPreconditionError("cancelled: another step failed");
  }

  Status RunLayerStep(const PlanStep& step, ImageState& state, std::string* last_time) {
    Session& s = session_;
    const BuildOptions& o = s.options();
    int id = s.progress().Start(step.name);
    const auto& epoch = o.source_date_epoch;

    auto apply_record = [&](const CacheRecord& rec) {
      if (rec.layer) {
        state.layers.push_back(*rec.layer);
        state.config.diff_ids.push_back(rec.diff_id);
      }
      oci::HistoryEntry h;
      h.created = epoch ? s.now() : rec.created.empty() ? s.now() : rec.created;
      h.created_by = rec.created_by;
      h.comment = "bld";
      h.empty_layer = !rec.layer.has_value();
      *last_time = h.created;
      state.config.history.push_back(std::move(h));
      state.key = step.key;
    };

    if (!o.no_cache) {
      auto rec = s.cache().Lookup(step.key);
      if (rec && (!rec->layer || s.store().HasBlob(rec->layer->digest))) {
        apply_record(*rec);
        s.progress().Cached(id);
        s.CountStep(true);
        // Rewritten only when they changed: a fully cached build writes nothing.
        if (o.explain || s.cache().PreviousInputs(step.address) != step.inputs.InputDigests()) {
          (void)s.cache().SaveInputs(step.address, step.inputs.InputDigests());
        }
        return Ok();
      }
    }
    if (o.explain) {
      if (o.no_cache) {
        s.progress().Info(id, "explain: --no-cache");
      } else {
        auto prev = s.cache().PreviousInputs(step.address);
        if (!prev) {
          s.progress().Info(id, "explain: no earlier build of this step");
        } else {
          auto diffs = DiffInputs(*prev, step.inputs.InputDigests());
          if (diffs.empty()) {
            s.progress().Info(id, "explain: same inputs as before, but the cached layer is gone");
          }
          for (const auto& d : diffs) s.progress().Info(id, "explain: " + d);
        }
      }
    }
    auto fail = [&](const Error& e) -> Status {
      s.progress().Failed(id, e.message());
      return e;
    };

    std::string parent;
    if (!step.independent) {
      auto p = s.EnsureSnapshot(state);
      if (!p.ok()) return fail(p.error().Wrap("unpack the layers below " + step.instruction));
      parent = *p;
    }
    const std::string active = "bld-build-" + RandomHex(16);
    auto mounts = s.snapshotter().Prepare(active, parent);
    if (!mounts.ok()) return fail(mounts.error());
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
      if (!dir.ok()) return fail(dir.error());
      auto mounted = snapshot::ScopedMount::Create(*mounts, dir->path());
      if (!mounted.ok()) return fail(mounted.error());
      applied = step.apply(*this, dir->path(), id);
      Status released = mounted->Release();
      if (applied.ok() && !released.ok()) applied = released;
    }
    if (!applied.ok()) {
      // Out of space or I/O failing: name the snapshot, i.e. where in the store it happened.
      int e = applied.error().sys_errno();
      auto dir = s.snapshotter().ApplyDir(active);
      if ((e == ENOSPC || e == EDQUOT || e == EIO) && dir.ok()) {
        return fail(applied.error().Wrap("write to snapshot " + *dir));
      }
      return fail(applied.error());
    }
    if (cancelled_.load()) return fail(CancelledError());

    // Layers are made with the requested compression; the export converts what differs
    // (a cached layer of another compression), so compression is not in the key.
    snapshot::DiffOptions dopt;
    dopt.compression = o.compression.value_or(oci::Compression::kGzip);
    auto diff = s.snapshotter().Diff(active, dopt, s.store());
    if (!diff.ok()) return fail(diff.error().Wrap("diff the result of " + step.instruction));
    CacheRecord rec;
    rec.created_by = step.created_by;
    rec.created = s.now();
    if (!(step.drop_if_empty && diff->entries == 0)) {
      rec.layer = diff->descriptor;
      rec.diff_id = diff->diff_id;
      if (!step.independent) {
        std::vector<oci::Digest> ids = state.config.diff_ids;
        ids.push_back(diff->diff_id);
        std::string chain = oci::ChainId(ids).str();
        Status c = s.snapshotter().Commit(chain, active);
        if (c.ok()) {
          keep_active = true;
        } else if (!c.error().Is(ErrorCode::kAlreadyExists)) {
          return fail(c.error());
        }
      }
    }
    Status st = s.cache().Store(step.key, rec);
    if (!st.ok()) BLD_LOG(kWarn) << "cache record: " << st.error().message();
    (void)s.cache().SaveInputs(step.address, step.inputs.InputDigests());
    apply_record(rec);
    s.CountStep(false);
    s.progress().Done(id);
    return Ok();
  }

  Session& session_;
  const BuildPlan& plan_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<bool> cancelled_{false};
  std::map<int, std::unique_ptr<ImageState>> built_;
};

void WarnUnusedBuildArgs(const BuildPlan& plan, const BuildOptions& options, Progress& progress) {
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
    if (declared.count(k) == 0 && !IsBuiltinProxyArg(k) && k != "SOURCE_DATE_EPOCH") {
      progress.Info(0, "warning: build arg " + k + " was not consumed by any ARG");
    }
  }
}

// --squash: the layers of `image` above its base image applied, in order, onto the base's
// snapshot through a mount (whiteouts delete, as in a container), then diffed into one layer.
Status SquashLayers(Session& s, ImageState& image, oci::Compression compression) {
  size_t base = image.base_layers;
  if (image.layers.size() <= base + 1) return Ok();  // nothing to merge
  std::vector<oci::Descriptor> base_layers(image.layers.begin(), image.layers.begin() + base);
  std::vector<oci::Digest> base_ids(image.config.diff_ids.begin(),
                                    image.config.diff_ids.begin() + base);
  std::string parent;
  if (base > 0) {
    BLD_ASSIGN_OR_RETURN(parent, snapshot::Unpack(s.store(), base_layers, base_ids, s.snapshotter()));
  }
  const std::string active = "bld-squash-" + RandomHex(16);
  BLD_ASSIGN_OR_RETURN(auto mounts, s.snapshotter().Prepare(active, parent));
  struct RemoveActive {
    snapshot::Snapshotter& sn;
    const std::string& key;
    ~RemoveActive() { (void)sn.Remove(key); }
  } remove_active{s.snapshotter(), active};
  {
    BLD_ASSIGN_OR_RETURN(TempDir dir, TempDir::Create("", "bld-squash-"));
    BLD_ASSIGN_OR_RETURN(auto mounted, snapshot::ScopedMount::Create(mounts, dir.path()));
    for (size_t i = base; i < image.layers.size(); ++i) {
      const oci::Descriptor& l = image.layers[i];
      oci::Compression c;
      if (!oci::LayerCompression(l.media_type, &c)) {
        return InvalidArgumentError("--squash: unsupported layer media type " + l.media_type);
      }
      BLD_ASSIGN_OR_RETURN(UniqueFd blob, s.store().OpenBlob(l.digest));
      snapshot::ApplyOptions ao;
      ao.whiteouts = snapshot::WhiteoutStyle::kDelete;
      ao.compression = c;
      ao.expected_diff_id = image.config.diff_ids[i];
      ao.expected_digest = l.digest;
      auto r = snapshot::ApplyFd(blob.get(), dir.path(), ao);
      if (!r.ok()) return r.error().Wrap("--squash: apply layer " + l.digest.str());
    }
    BLD_TRY(mounted.Release());
  }
  snapshot::DiffOptions dopt;
  dopt.compression = compression;
  BLD_ASSIGN_OR_RETURN(auto diff, s.snapshotter().Diff(active, dopt, s.store()));
  image.layers = std::move(base_layers);
  image.config.diff_ids = std::move(base_ids);
  if (diff.entries > 0) {
    image.layers.push_back(diff.descriptor);
    image.config.diff_ids.push_back(diff.diff_id);
  }
  // History: one non-empty entry per layer; the last layer step above the base stands
  // for the merged layer.
  size_t seen = 0;
  std::optional<size_t> last;
  for (size_t i = 0; i < image.config.history.size(); ++i) {
    auto& h = image.config.history[i];
    if (h.empty_layer) continue;
    if (++seen > base) {
      h.empty_layer = true;
      last = i;
    }
  }
  if (last && diff.entries > 0) image.config.history[*last].empty_layer = false;
  return Ok();
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
  // BuildKit reads SOURCE_DATE_EPOCH from the build args too.
  if (!options.source_date_epoch) {
    auto it = options.build_args.find("SOURCE_DATE_EPOCH");
    if (it != options.build_args.end() && !it->second.empty()) {
      const std::string& v = it->second;
      if (v.find_first_not_of("0123456789") != std::string::npos || v.size() > 18) {
        return InvalidArgumentError("--build-arg SOURCE_DATE_EPOCH=" + v +
                                    ": expected seconds since the epoch");
      }
      options.source_date_epoch = std::stoll(v);
    }
  }
  std::string text;
  std::string file_name = "Dockerfile";
  if (options.dockerfile_text) {
    text = *options.dockerfile_text;
  } else {
    if (options.dockerfile_path.empty()) {
      // The first that exists, as docker (dockerfile) and podman (Containerfile) fall back.
      options.dockerfile_path = JoinPath(options.context_dir, "Dockerfile");
      for (const char* name : {"Dockerfile", "Containerfile", "dockerfile", "containerfile"}) {
        std::string p = JoinPath(options.context_dir, name);
        if (PathExists(p)) {
          options.dockerfile_path = p;
          break;
        }
      }
    }
    auto t = ReadFile(options.dockerfile_path);
    if (!t.ok()) return t.error().Wrap("read the Dockerfile");
    text = *t;
    file_name = Basename(options.dockerfile_path);
  }

  BLD_ASSIGN_OR_RETURN(
      auto context,
      BuildContext::Open(options.context_dir,
                         options.dockerfile_text ? std::string() : options.dockerfile_path));
  BLD_ASSIGN_OR_RETURN(auto store, oci::Store::Open(options.store_root));
  BLD_ASSIGN_OR_RETURN(auto lock, store->LockShared());
  BLD_ASSIGN_OR_RETURN(auto snapshotter, snapshot::OpenSnapshotter(options.store_root));
  Progress progress(options.progress, options.progress_fd);
  Session session(options, *store, *snapshotter, progress, *context);

  // Plan: every stage lowered and keyed before anything runs.
  BLD_ASSIGN_OR_RETURN(BuildPlan plan, MakePlan(session, text, file_name));
  BLD_TRY(ReportChecks(plan.df, plan.file_name, progress));

  // Act.
  int jobs =
      options.jobs > 0 ? options.jobs : static_cast<int>(std::thread::hardware_concurrency());
  if (jobs < 1) jobs = 1;
  {
    int planned = 1 + static_cast<int>(options.outputs.size()) +
                  (options.push ? static_cast<int>(options.tags.size()) : 0);
    for (int i : plan.order) {
      planned += 1;
      for (const PlanStep& st : plan.stages.at(i).steps) planned += st.layer ? 1 : 0;
    }
    progress.SetPlanned(planned);
  }
  Executor executor(session, plan);
  BLD_TRY(executor.Run(jobs));
  WarnUnusedBuildArgs(plan, options, progress);

  // Export: compression and SOURCE_DATE_EPOCH are applied here, not in the steps' keys.
  int export_id = progress.Start("exporting to image");
  ImageState image = executor.TakeBuilt(plan.target);
  for (const auto& [k, v] : options.labels) image.config.config->labels[k] = v;
  if (options.squash) {
    BLD_TRY(SquashLayers(session, image, options.compression.value_or(oci::Compression::kGzip)));
  }
  ExportOptions eo;
  eo.compression = options.compression;
  eo.source_date_epoch = options.source_date_epoch;
  BLD_ASSIGN_OR_RETURN(auto exported, ExportLayers(*store, session.cache(), image.layers,
                                                   image.config.diff_ids, image.base_layers, eo));
  image.layers = std::move(exported.layers);
  image.config.diff_ids = std::move(exported.diff_ids);
  if (options.docker_format) {
    for (auto& l : image.layers) {
      oci::Compression c;
      if (!oci::LayerCompression(l.media_type, &c) || c == oci::Compression::kNone) {
        return InvalidArgumentError("--format docker: layer " + l.digest.str() + " (" +
                                    l.media_type +
                                    ") has no Docker v2s2 media type; use --compression gzip");
      }
      l.media_type = std::string(oci::DockerLayerMediaType(c));
    }
  }
  BLD_ASSIGN_OR_RETURN(
      oci::Descriptor manifest,
      oci::WriteImage(*store, image.config, image.layers,
                      options.docker_format ? oci::kMediaTypeDockerManifest : std::string_view()));
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
  progress.Info(export_id, "writing image " + result.image_id.str() + " done");
  for (const auto& n : names) progress.Info(export_id, "naming to " + n + " done");
  progress.Done(export_id);
  BLD_TRY(WriteOutputs(*store, options, manifest, names, progress));
  progress.Finish(true);
  return result;
}

}  // namespace bld::builder
