#include "parser/instructions.h"

#include <gtest/gtest.h>

#include "parser/variables.h"

namespace bld::parser {
namespace {

Dockerfile MustParse(std::string_view text) {
  auto r = ParseDockerfile(text);
  EXPECT_TRUE(r.ok()) << r.error().message();
  return r.ok() ? std::move(*r) : Dockerfile{};
}

std::string ErrorOf(std::string_view text) {
  auto r = ParseDockerfile(text);
  return r.ok() ? "(no error)" : r.error().message();
}

template <typename T>
const T& As(const Instruction& i) {
  return std::get<T>(i.value);
}

// Acceptance: ten kinds of mistakes, each message naming the line and the problem.
TEST(InstructionsTest, TenKindsOfMistakes) {
  struct Case {
    const char* kind;
    const char* dockerfile;
    const char* message;
  } cases[] = {
      {"unknown instruction", "FROM a\nRUNN make\n",
       "Dockerfile:2: unknown instruction: RUNN (did you mean RUN?)"},
      {"missing arguments", "FROM a\nCOPY onlyone\n",
       "Dockerfile:2: COPY requires at least two arguments, but only one was provided. "
       "Destination could not be determined."},
      {"unknown flag", "FROM a\nCOPY --frm=b x y\n",
       "Dockerfile:2: unknown flag --frm for COPY (did you mean --from?)"},
      {"flag not valid for instruction", "FROM a\nRUN --from=b make\n",
       "Dockerfile:2: flag --from is not valid for RUN (valid flags: --mount, --network, "
       "--security)"},
      {"bad flag value", "FROM a\nCOPY --link=maybe x y\n",
       "Dockerfile:2: expecting boolean value for flag --link, not: maybe"},
      {"ONBUILD FROM", "FROM a\nONBUILD FROM b\n",
       "Dockerfile:2: FROM isn't allowed as an ONBUILD trigger"},
      {"ONBUILD ONBUILD", "FROM a\nONBUILD ONBUILD RUN x\n",
       "Dockerfile:2: chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"},
      {"instruction before FROM", "RUN x\nFROM a\n",
       "Dockerfile:1: no build stage in current context: RUN must come after a FROM "
       "instruction (only ARG may precede the first FROM)"},
      {"bad stage name", "FROM a AS 1st\n",
       "Dockerfile:1: invalid name for build stage: \"1st\", name can't start with a number or "
       "contain symbols"},
      {"duplicate stage", "FROM a AS b\nFROM c AS B\n",
       "Dockerfile:2: duplicate stage name \"b\" (first used on line 1)"},
      {"bad mount", "FROM a\nRUN --mount=type=cahce,target=/x make\n",
       "Dockerfile:2: --mount=type=cahce,target=/x: unsupported mount type \"cahce\" (did you "
       "mean cache?)"},
      {"bad duration", "FROM a\nHEALTHCHECK --interval=5 CMD true\n",
       "Dockerfile:2: --interval: time: missing unit in duration \"5\""},
      {"SHELL not JSON", "FROM a\nSHELL /bin/bash -c\n",
       "Dockerfile:2: SHELL requires the arguments to be in JSON form, e.g. SHELL [\"/bin/bash\", "
       "\"-c\"]"},
      {"ENV without value", "FROM a\n\nENV PATH\n", "Dockerfile:3: ENV must have two arguments"},
      {"unterminated heredoc", "FROM a\nRUN <<EOF\n",
       "Dockerfile:2: unterminated heredoc \"EOF\" (no line with just EOF after it)"},
      {"no FROM", "ARG x=1\n",
       "Dockerfile:1: no FROM instruction: the Dockerfile has no build "
       "stage"},
      {"bad network", "FROM a\nRUN --network=bridge x\n",
       "Dockerfile:2: unsupported network mode \"bridge\" (valid: default, none, host)"},
      {"exactly one", "FROM a\nUSER\n", "Dockerfile:2: USER requires exactly one argument"},
      {"missing flag value", "FROM a\nCOPY --from x y\n",
       "Dockerfile:2: missing a value on flag --from"},
      {"heredoc destination", "FROM a\nCOPY x <<EOF\nhi\nEOF\n",
       "Dockerfile:2: COPY cannot accept a heredoc as a destination"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(ErrorOf(c.dockerfile), c.message) << c.kind;
  }
}

TEST(InstructionsTest, StagesAndMetaArgs) {
  Dockerfile df = MustParse(
      "# syntax=docker/dockerfile:1\n"
      "ARG BASE=alpine VERSION\n"
      "FROM --platform=$BUILDPLATFORM ${BASE}:3 AS Build\n"
      "RUN make\n"
      "FROM scratch\n"
      "COPY --from=build /out /\n");
  ASSERT_EQ(df.meta_args.size(), 1u);
  const auto& meta = As<ArgInstruction>(df.meta_args[0]);
  ASSERT_EQ(meta.args.size(), 2u);
  EXPECT_EQ(meta.args[0].key, "BASE");
  EXPECT_EQ(*meta.args[0].value, "alpine");
  EXPECT_FALSE(meta.args[1].value.has_value());
  ASSERT_EQ(df.stages.size(), 2u);
  EXPECT_EQ(df.stages[0].name, "build");
  EXPECT_EQ(df.stages[0].original_name, "Build");
  EXPECT_EQ(df.stages[0].base_name, "${BASE}:3");
  EXPECT_EQ(df.stages[0].platform, "$BUILDPLATFORM");
  EXPECT_EQ(df.stages[0].start_line, 3);
  EXPECT_EQ(df.stages[0].end_line, 4);
  EXPECT_EQ(df.stages[1].index, 1);
  EXPECT_EQ(As<CopyInstruction>(df.stages[1].instructions[0]).from, "build");
  EXPECT_EQ(FindStage(df, "BUILD"), 0);
  EXPECT_EQ(FindStage(df, "1"), 1);
  EXPECT_EQ(FindStage(df, "nope"), -1);
}

TEST(InstructionsTest, RunFlags) {
  Dockerfile df = MustParse(
      "FROM a\n"
      "RUN --mount=type=cache,target=/root/.cache,id=pip,sharing=locked,mode=0755 "
      "--mount=type=secret,id=tok,env=TOKEN,required --mount=type=tmpfs,target=/t,size=64m "
      "--mount=target=/src,from=$STAGE,rw --network=none --security=insecure pip install\n"
      "RUN [\"echo\", \"hi\"]\n");
  const auto& run = As<RunInstruction>(df.stages[0].instructions[0]);
  EXPECT_EQ(run.command.args, std::vector<std::string>{"pip install"});
  EXPECT_TRUE(run.command.prepend_shell);
  ASSERT_EQ(run.mounts.size(), 4u);
  EXPECT_EQ(run.mounts[0].type, MountType::kCache);
  EXPECT_EQ(run.mounts[0].target, "/root/.cache");
  EXPECT_EQ(run.mounts[0].id, "pip");
  EXPECT_EQ(run.mounts[0].sharing, CacheSharing::kLocked);
  EXPECT_EQ(*run.mounts[0].mode, 0755u);
  EXPECT_FALSE(run.mounts[0].read_only);
  EXPECT_EQ(run.mounts[1].type, MountType::kSecret);
  EXPECT_TRUE(run.mounts[1].required);
  EXPECT_EQ(run.mounts[1].env, "TOKEN");
  EXPECT_TRUE(run.mounts[1].read_only);
  EXPECT_EQ(*run.mounts[2].size_bytes, 64u << 20);
  EXPECT_EQ(run.mounts[3].type, MountType::kBind);
  EXPECT_EQ(run.mounts[3].from, "$STAGE");  // expanded later by the builder
  EXPECT_FALSE(run.mounts[3].read_only);
  EXPECT_EQ(run.mount_specs[3], "target=/src,from=$STAGE,rw");
  EXPECT_EQ(run.network, NetworkMode::kNone);
  EXPECT_EQ(run.security, SecurityMode::kInsecure);
  const auto& exec = As<RunInstruction>(df.stages[0].instructions[1]);
  EXPECT_FALSE(exec.command.prepend_shell);
  EXPECT_EQ(exec.command.args, (std::vector<std::string>{"echo", "hi"}));

  EXPECT_FALSE(ParseMount("type=bind").ok());  // bind needs a target
  EXPECT_FALSE(ParseMount("type=bind,target=/x,mode=0700").ok());
  EXPECT_FALSE(ParseMount("type=secret,id=a,from=b").ok());
  EXPECT_FALSE(ParseMount("type=cache,target=/x,bogus=1").ok());
  EXPECT_TRUE(ParseMount("type=ssh").ok());
  auto q = ParseMount("type=bind,\"source=a,b\",target=/x");
  ASSERT_TRUE(q.ok()) << q.error().message();
  EXPECT_EQ(q->source, "a,b");
}

TEST(InstructionsTest, CopyAndAdd) {
  Dockerfile df = MustParse(
      "FROM a\n"
      "COPY --from=build --chown=1:2 --chmod=0644 --link --parents --exclude=*.md "
      "--exclude=.git a b /dst/\n"
      "ADD --checksum=sha256:abc --keep-git-dir https://example.com/x.tgz /x\n"
      "COPY <<one.txt <<-two.txt /etc/\nhello $X\none.txt\n\tindented\n\ttwo.txt\n"
      "COPY [\"with space\", \"/d\"]\n");
  const auto& c = As<CopyInstruction>(df.stages[0].instructions[0]);
  EXPECT_FALSE(c.add);
  EXPECT_EQ(c.sources, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(c.dest, "/dst/");
  EXPECT_EQ(c.from, "build");
  EXPECT_EQ(c.chown, "1:2");
  EXPECT_EQ(c.chmod, "0644");
  EXPECT_TRUE(c.link);
  EXPECT_TRUE(c.parents);
  EXPECT_EQ(c.exclude, (std::vector<std::string>{"*.md", ".git"}));
  const auto& a = As<CopyInstruction>(df.stages[0].instructions[1]);
  EXPECT_TRUE(a.add);
  EXPECT_EQ(a.checksum, "sha256:abc");
  EXPECT_TRUE(a.keep_git_dir);
  const auto& h = As<CopyInstruction>(df.stages[0].instructions[2]);
  ASSERT_EQ(h.inline_sources.size(), 2u);
  EXPECT_TRUE(h.sources.empty());
  EXPECT_EQ(h.inline_sources[0].path, "one.txt");
  EXPECT_EQ(h.inline_sources[0].data, "hello $X\n");
  EXPECT_EQ(h.inline_sources[1].data, "indented\n");
  EXPECT_EQ(As<CopyInstruction>(df.stages[0].instructions[3]).sources[0], "with space");
  EXPECT_EQ(ErrorOf("FROM a\nADD --parents a b\n"),
            "Dockerfile:2: flag --parents is not valid for ADD (valid flags: --chown, --chmod, "
            "--link, --exclude, --checksum, --keep-git-dir)");
}

TEST(InstructionsTest, MetadataInstructions) {
  Dockerfile df = MustParse(
      "FROM a\n"
      "ENV A=1 B=\"two words\"\n"
      "ENV C 3 4\n"
      "LABEL org.x=y\n"
      "EXPOSE 80 53/udp\n"
      "VOLUME [\"/v1\", \"/v2\"]\n"
      "USER app:app\n"
      "WORKDIR /src\n"
      "STOPSIGNAL SIGINT\n"
      "SHELL [\"/bin/bash\", \"-c\"]\n"
      "CMD [\"run\"]\n"
      "ENTRYPOINT exec app\n"
      "ONBUILD RUN make\n"
      "HEALTHCHECK --interval=1m30s --timeout=500ms --start-period=1s --start-interval=2s "
      "--retries=3 CMD curl -f http://localhost/\n"
      "HEALTHCHECK NONE\n"
      "ARG X Y=2\n"
      "MAINTAINER me\n");
  const auto& ins = df.stages[0].instructions;
  ASSERT_EQ(ins.size(), 16u);
  const auto& env = As<EnvInstruction>(ins[0]);
  ASSERT_EQ(env.vars.size(), 2u);
  EXPECT_EQ(env.vars[1].value, "\"two words\"");
  EXPECT_EQ(As<EnvInstruction>(ins[1]).vars[0].value, "3 4");
  EXPECT_EQ(As<LabelInstruction>(ins[2]).labels[0].key, "org.x");
  EXPECT_EQ(As<ExposeInstruction>(ins[3]).ports, (std::vector<std::string>{"80", "53/udp"}));
  EXPECT_EQ(As<VolumeInstruction>(ins[4]).paths, (std::vector<std::string>{"/v1", "/v2"}));
  EXPECT_EQ(As<UserInstruction>(ins[5]).user, "app:app");
  EXPECT_EQ(As<WorkdirInstruction>(ins[6]).path, "/src");
  EXPECT_EQ(As<StopSignalInstruction>(ins[7]).signal, "SIGINT");
  EXPECT_EQ(As<ShellInstruction>(ins[8]).shell, (std::vector<std::string>{"/bin/bash", "-c"}));
  EXPECT_FALSE(As<CmdInstruction>(ins[9]).command.prepend_shell);
  EXPECT_TRUE(As<EntrypointInstruction>(ins[10]).command.prepend_shell);
  EXPECT_EQ(As<OnbuildInstruction>(ins[11]).expression, "RUN make");
  const auto& hc = As<HealthcheckInstruction>(ins[12]);
  EXPECT_EQ(hc.test, (std::vector<std::string>{"CMD-SHELL", "curl -f http://localhost/"}));
  EXPECT_EQ(hc.interval_ns, 90'000'000'000LL);
  EXPECT_EQ(hc.timeout_ns, 500'000'000LL);
  EXPECT_EQ(hc.start_period_ns, 1'000'000'000LL);
  EXPECT_EQ(hc.start_interval_ns, 2'000'000'000LL);
  EXPECT_EQ(hc.retries, 3);
  EXPECT_EQ(As<HealthcheckInstruction>(ins[13]).test, std::vector<std::string>{"NONE"});
  EXPECT_EQ(As<ArgInstruction>(ins[14]).args.size(), 2u);
  EXPECT_EQ(As<MaintainerInstruction>(ins[15]).maintainer, "me");
  EXPECT_EQ(ins[12].name, "HEALTHCHECK");
  EXPECT_EQ(ins[12].start_line, 14);
}

TEST(InstructionsTest, GoDurations) {
  EXPECT_EQ(*ParseGoDuration("0"), 0);
  EXPECT_EQ(*ParseGoDuration("1h2m3s"), 3723'000'000'000LL);
  EXPECT_EQ(*ParseGoDuration("1.5s"), 1'500'000'000LL);
  EXPECT_EQ(*ParseGoDuration("10us"), 10'000LL);
  EXPECT_FALSE(ParseGoDuration("").ok());
  EXPECT_FALSE(ParseGoDuration("5").ok());
  EXPECT_FALSE(ParseGoDuration("5 s").ok());
  EXPECT_FALSE(ParseGoDuration("1d").ok());
}

TEST(VariablesTest, MetaArgsAndStageScope) {
  Dockerfile df = MustParse(
      "ARG BASE=alpine\n"
      "ARG TAG=${BASE}-3\n"
      "ARG ONLY_META=m\n"
      "FROM ${BASE}:${TAG}\n"
      "ARG ONLY_META\n"
      "ARG LOCAL=l-$ONLY_META\n"
      "ARG FROM_CLI=default\n"
      "ENV LOCAL=env-wins PATHX=$LOCAL\n"
      "ARG LATE\n");
  EnvMap build_args = {{"FROM_CLI", "cli"}, {"TAG", "edge"}};
  auto meta = ResolveMetaArgs(df.meta_args, build_args);
  ASSERT_TRUE(meta.ok());
  EXPECT_EQ((*meta)["BASE"], "alpine");
  EXPECT_EQ((*meta)["TAG"], "edge");  // --build-arg wins over the default
  EXPECT_EQ(*ExpandWithMetaArgs(df.stages[0].base_name, *meta), "alpine:edge");

  StageVariables vars({"PATH=/bin"}, *meta, build_args);
  const auto& ins = df.stages[0].instructions;
  // Before any ARG in the stage, meta ARGs are invisible.
  EXPECT_EQ(*vars.Expand("[$BASE]"), "[]");
  ASSERT_TRUE(vars.Declare(As<ArgInstruction>(ins[0])).ok());
  EXPECT_EQ(*vars.Expand("$ONLY_META"), "m");
  ASSERT_TRUE(vars.Declare(As<ArgInstruction>(ins[1])).ok());
  EXPECT_EQ(*vars.Expand("$LOCAL"), "l-m");
  ASSERT_TRUE(vars.Declare(As<ArgInstruction>(ins[2])).ok());
  EXPECT_EQ(*vars.Expand("$FROM_CLI"), "cli");
  ASSERT_TRUE(vars.SetEnv(As<EnvInstruction>(ins[3])).ok());
  EXPECT_EQ(*vars.Expand("$LOCAL"), "env-wins");  // ENV overrides ARG
  EXPECT_EQ(*vars.Expand("$PATHX"), "l-m");       // pairs expand with the env before the ENV
  ASSERT_TRUE(vars.Declare(As<ArgInstruction>(ins[4])).ok());
  EXPECT_EQ(vars.Env(), (std::vector<std::string>{"PATH=/bin", "LOCAL=env-wins", "PATHX=l-m"}));
  EXPECT_EQ(vars.RunEnv(), (std::vector<std::string>{"PATH=/bin", "LOCAL=env-wins", "PATHX=l-m",
                                                     "ONLY_META=m", "FROM_CLI=cli"}));
  EXPECT_EQ(vars.ConsumedBuildArgs(), std::set<std::string>{"FROM_CLI"});
  auto split = vars.ExpandSplit("80 $FROM_CLI");
  EXPECT_EQ(*split, (std::vector<std::string>{"80", "cli"}));
}

// BuildKit's testCopyHeredocSpecialSymbols and testHeredocVarSubstitution: here-document
// rules, not shell-word rules, for bodies with an unquoted delimiter.
TEST(InstructionsTest, HeredocBodiesExpandWithHereDocumentRules) {
  Dockerfile df = MustParse("FROM a\nARG name=world\n");
  auto meta = ResolveMetaArgs(df.meta_args, {});
  ASSERT_TRUE(meta.ok());
  StageVariables vars({}, *meta, {});
  ASSERT_TRUE(vars.Declare(As<ArgInstruction>(df.stages[0].instructions[0])).ok());
  auto h = [&](std::string_view body) {
    auto r = vars.ExpandHeredoc(body);
    return r.ok() ? *r : "error: " + r.error().message();
  };
  EXPECT_EQ(h("\"quotes in file\"\n"), "\"quotes in file\"\n");
  EXPECT_EQ(h("\\\n"), "\n");
  EXPECT_EQ(h("\\\\\n"), "\\\n");
  EXPECT_EQ(h("\\$\n"), "$\n");
  EXPECT_EQ(h("Hello ${name}!\n"), "Hello world!\n");
  EXPECT_EQ(h("Hello '${name}'!\n"), "Hello 'world'!\n");
  EXPECT_EQ(h("Hello \"${name}\"!\n"), "Hello \"world\"!\n");
  EXPECT_EQ(h("it's $name\n"), "it's world\n");  // an unpaired quote is just a character
}

TEST(InstructionsTest, JsonDump) {
  Dockerfile df = MustParse("ARG V=1\nFROM a AS b\nRUN --network=host make\n");
  std::string j = DockerfileToJson(df);
  EXPECT_NE(j.find("\"instruction\": \"RUN\""), std::string::npos) << j;
  EXPECT_NE(j.find("\"network\": \"host\""), std::string::npos) << j;
  EXPECT_NE(j.find("\"meta_args\""), std::string::npos) << j;
}

}  // namespace
}  // namespace bld::parser

namespace bld::parser {
namespace {

TEST(MountFromValuesTest, EveryFromFieldAsWrittenAnyCase) {
  using V = std::vector<std::string>;
  EXPECT_EQ(MountFromValues("type=bind,from=$STAGE,target=/m"), V{"$STAGE"});
  EXPECT_EQ(MountFromValues("type=bind,\"FROM=\",target=/m"), V{""});
  EXPECT_EQ(MountFromValues("type=bind,from=\"\",target=/m"), V{});  // a bare quote: not CSV
  EXPECT_EQ(MountFromValues("type=bind,From=,target=/m"), V{""});
  EXPECT_EQ(MountFromValues("type=cache,target=/m"), V{});
  EXPECT_EQ(MountFromValues("from=a,from=b"), (V{"a", "b"}));
  EXPECT_EQ(MountFromValues("\"unterminated"), V{});
}

}  // namespace
}  // namespace bld::parser
