#include "oci/config.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace bld::oci {
namespace {

// A config as `docker build` writes it, with every OCI and Docker field set and
// fields bld does not model (Hostname, StopTimeout, container_config, ...).
constexpr char kDockerConfig[] = R"({
  "architecture": "arm64",
  "variant": "v8",
  "os": "linux",
  "os.version": "10.0.17763.1",
  "os.features": ["win32k"],
  "created": "2024-05-01T10:20:30.123456789Z",
  "author": "someone <a@b.c>",
  "docker_version": "24.0.7",
  "container": "abcdef",
  "container_config": {"Hostname": "abcdef", "Cmd": ["/bin/sh", "-c", "#(nop) CMD"]},
  "config": {
    "Hostname": "",
    "Domainname": "",
    "User": "1000:1000",
    "AttachStdin": false,
    "ExposedPorts": {"8080/tcp": {}, "53/udp": {}},
    "Tty": false,
    "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "A=b=c", "EMPTY="],
    "Cmd": ["serve", "--port", "8080"],
    "Healthcheck": {
      "Test": ["CMD-SHELL", "curl -f http://localhost/ || exit 1"],
      "Interval": 30000000000,
      "Timeout": 5000000000,
      "StartPeriod": 1000000000,
      "StartInterval": 2000000000,
      "Retries": 3
    },
    "ArgsEscaped": true,
    "Image": "sha256:0123",
    "Volumes": {"/data": {}, "/cache": {}},
    "WorkingDir": "/srv",
    "Entrypoint": ["/entry.sh"],
    "OnBuild": ["RUN echo child", "COPY . /app"],
    "Labels": {"org.opencontainers.image.title": "x", "maintainer": "me"},
    "StopSignal": "SIGQUIT",
    "StopTimeout": 20,
    "Shell": ["/bin/bash", "-o", "pipefail", "-c"]
  },
  "rootfs": {
    "type": "layers",
    "diff_ids": [
      "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
      "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    ]
  },
  "history": [
    {"created": "2024-05-01T10:20:00Z", "created_by": "/bin/sh -c #(nop) ADD file:x in / ", "author": "a", "comment": "c"},
    {"created": "2024-05-01T10:20:30Z", "created_by": "/bin/sh -c #(nop)  CMD [\"serve\"]", "empty_layer": true}
  ]
})";

TEST(ImageConfigTest, ParsesEveryField) {
  auto c = ImageConfig::Parse(kDockerConfig);
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->architecture, "arm64");
  EXPECT_EQ(c->variant, "v8");
  EXPECT_EQ(c->os, "linux");
  EXPECT_EQ(c->os_version, "10.0.17763.1");
  EXPECT_EQ(c->os_features, std::vector<std::string>{"win32k"});
  EXPECT_EQ(c->created, "2024-05-01T10:20:30.123456789Z");
  EXPECT_EQ(c->author, "someone <a@b.c>");
  ASSERT_TRUE(c->config.has_value());
  const ContainerConfig& cc = *c->config;
  EXPECT_EQ(cc.user, "1000:1000");
  EXPECT_EQ(cc.exposed_ports, (std::vector<std::string>{"53/udp", "8080/tcp"}));
  EXPECT_EQ(cc.env.size(), 3u);
  EXPECT_EQ(cc.GetEnv("A"), "b=c");
  EXPECT_EQ(cc.GetEnv("EMPTY"), "");
  EXPECT_EQ(cc.GetEnv("NOPE"), std::nullopt);
  EXPECT_EQ(cc.GetEnv("PAT"), std::nullopt);
  EXPECT_EQ(cc.cmd, (std::vector<std::string>{"serve", "--port", "8080"}));
  EXPECT_EQ(cc.entrypoint, std::vector<std::string>{"/entry.sh"});
  EXPECT_EQ(cc.volumes, (std::vector<std::string>{"/cache", "/data"}));
  EXPECT_EQ(cc.working_dir, "/srv");
  EXPECT_EQ(cc.labels.at("maintainer"), "me");
  EXPECT_EQ(cc.stop_signal, "SIGQUIT");
  EXPECT_TRUE(cc.args_escaped);
  ASSERT_TRUE(cc.healthcheck.has_value());
  EXPECT_EQ(cc.healthcheck->test[0], "CMD-SHELL");
  EXPECT_EQ(cc.healthcheck->interval_ns, 30000000000);
  EXPECT_EQ(cc.healthcheck->timeout_ns, 5000000000);
  EXPECT_EQ(cc.healthcheck->start_period_ns, 1000000000);
  EXPECT_EQ(cc.healthcheck->start_interval_ns, 2000000000);
  EXPECT_EQ(cc.healthcheck->retries, 3);
  EXPECT_EQ(cc.on_build, (std::vector<std::string>{"RUN echo child", "COPY . /app"}));
  EXPECT_EQ(cc.shell, (std::vector<std::string>{"/bin/bash", "-o", "pipefail", "-c"}));
  EXPECT_EQ(cc.extra.at("StopTimeout"), 20);
  EXPECT_EQ(cc.extra.at("Image"), "sha256:0123");
  EXPECT_TRUE(cc.extra.contains("Hostname"));
  EXPECT_FALSE(cc.extra.contains("Env"));
  ASSERT_EQ(c->diff_ids.size(), 2u);
  EXPECT_EQ(c->diff_ids[1], Digest::Of(""));
  ASSERT_EQ(c->history.size(), 2u);
  EXPECT_EQ(c->history[0].author, "a");
  EXPECT_EQ(c->history[0].comment, "c");
  EXPECT_FALSE(c->history[0].empty_layer);
  EXPECT_TRUE(c->history[1].empty_layer);
  EXPECT_EQ(c->extra.at("docker_version"), "24.0.7");
  EXPECT_EQ(c->extra.at("container_config").at("Hostname"), "abcdef");
  EXPECT_FALSE(c->extra.contains("rootfs"));
}

TEST(ImageConfigTest, RoundTripsEveryFieldOfTheDocument) {
  auto c = ImageConfig::Parse(kDockerConfig);
  ASSERT_TRUE(c.ok()) << c.error().message();
  std::string out = c->ToJson();
  // Semantically the same document: nothing lost, nothing added.
  EXPECT_EQ(nlohmann::json::parse(out), nlohmann::json::parse(kDockerConfig));
  // And the struct survives a second trip; the output is stable.
  auto again = ImageConfig::Parse(out);
  ASSERT_TRUE(again.ok()) << again.error().message();
  EXPECT_EQ(*again, *c);
  EXPECT_EQ(again->ToJson(), out);
}

TEST(ImageConfigTest, RoundTripsEveryStructField) {
  ImageConfig c;
  c.created = "2024-01-01T00:00:00Z";
  c.author = "me";
  c.architecture = "arm";
  c.os = "linux";
  c.os_version = "1";
  c.os_features = {"f"};
  c.variant = "v7";
  ContainerConfig cc;
  cc.user = "u";
  cc.exposed_ports = {"1/tcp", "2/udp"};
  cc.env = {"A=1", "B=2"};
  cc.entrypoint = std::vector<std::string>{"e"};
  cc.cmd = std::vector<std::string>{"c", "d"};
  cc.volumes = {"/a", "/b"};
  cc.working_dir = "/w";
  cc.labels = {{"k", "v"}};
  cc.stop_signal = "SIGTERM";
  cc.args_escaped = true;
  cc.healthcheck = HealthConfig{{"CMD", "true"}, 1, 2, 3, 4, 5};
  cc.on_build = {"RUN x"};
  cc.shell = std::vector<std::string>{"/bin/sh", "-c"};
  cc.extra = {{"Hostname", "h"}, {"StopTimeout", 3}};
  c.config = cc;
  c.diff_ids = {Digest::Of("a"), Digest::Of("b")};
  c.history = {{"2024-01-01T00:00:00Z", "RUN x", "me", "comment", false},
               {"", "CMD", "", "", true}};
  c.extra = {{"docker_version", "1"}, {"id", "x"}};
  auto back = ImageConfig::Parse(c.ToJson());
  ASSERT_TRUE(back.ok()) << back.error().message();
  EXPECT_EQ(*back, c);
  EXPECT_EQ(back->config->healthcheck, cc.healthcheck);
}

TEST(ImageConfigTest, CanonicalOutputOmitsEmptyFields) {
  ImageConfig c;
  c.diff_ids = {Digest::Of("a")};
  EXPECT_EQ(c.ToJson(),
            R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[")" +
                Digest::Of("a").str() + R"("]}})");
  c.config = ContainerConfig();
  c.config->exposed_ports = {"80/tcp"};
  c.config->volumes = {"/v"};
  std::string json = c.ToJson();
  EXPECT_NE(json.find(R"("config":{"ExposedPorts":{"80/tcp":{}},"Volumes":{"/v":{}}})"),
            std::string::npos)
      << json;
  EXPECT_EQ(json.find("ArgsEscaped"), std::string::npos);
  EXPECT_EQ(json.find("Healthcheck"), std::string::npos);
  EXPECT_EQ(json.find("Cmd"), std::string::npos);
}

TEST(ImageConfigTest, ExplicitlyEmptyCmdIsKept) {
  auto c = ImageConfig::Parse(
      R"({"architecture":"amd64","os":"linux","config":{"Cmd":[],"Entrypoint":null},"rootfs":{"type":"layers","diff_ids":[]}})");
  ASSERT_TRUE(c.ok()) << c.error().message();
  ASSERT_TRUE(c->config->cmd.has_value());
  EXPECT_TRUE(c->config->cmd->empty());
  EXPECT_FALSE(c->config->entrypoint.has_value());
  EXPECT_NE(c->ToJson().find(R"("Cmd":[])"), std::string::npos);
  EXPECT_EQ(c->ToJson().find("Entrypoint"), std::string::npos);
}

TEST(ImageConfigTest, SetEnv) {
  ContainerConfig c;
  c.SetEnv("A", "1");
  c.SetEnv("B", "2");
  c.SetEnv("A", "3");
  EXPECT_EQ(c.env, (std::vector<std::string>{"A=3", "B=2"}));
  EXPECT_EQ(c.GetEnv("A"), "3");
}

TEST(ImageConfigTest, Rejects) {
  const std::string rootfs = R"("rootfs":{"type":"layers","diff_ids":[]})";
  for (
      const auto& [json, fragment] : std::vector<std::pair<std::string, std::string>>{
          {"", "malformed JSON"},
          {"[]", "expected a JSON object"},
          {R"({"os":"linux",)" + rootfs + "}", "architecture is missing"},
          {R"({"architecture":"amd64",)" + rootfs + "}", "os is missing"},
          {R"({"architecture":"amd64","os":"linux"})", "rootfs is missing"},
          {R"({"architecture":"amd64","os":"linux","rootfs":{"type":"x"}})", "rootfs.type"},
          {R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:1"]}})",
           "rootfs.diff_ids[0]"},
          {R"({"architecture":"amd64","os":"linux","config":{"Env":"A=1"},)" + rootfs + "}",
           "config.Env: expected an array of strings"},
          {R"({"architecture":"amd64","os":"linux","config":{"Cmd":[1]},)" + rootfs + "}",
           "config.Cmd"},
          {R"({"architecture":"amd64","os":"linux","config":{"ExposedPorts":["80"]},)" + rootfs +
               "}",
           "config.ExposedPorts"},
          {R"({"architecture":"amd64","os":"linux","config":{"Labels":{"a":1}},)" + rootfs + "}",
           "config.Labels.a"},
          {R"({"architecture":"amd64","os":"linux","config":{"Healthcheck":{"Interval":"1s"}},)" +
               rootfs + "}",
           "config.Healthcheck.Interval"},
          {R"({"architecture":"amd64","os":"linux","config":{"ArgsEscaped":"yes"},)" + rootfs + "}",
           "config.ArgsEscaped"},
          {R"({"architecture":"amd64","os":"linux","history":[{"empty_layer":1}],)" + rootfs + "}",
           "history[0].empty_layer"},
      }) {
    SCOPED_TRACE(json);
    auto r = ImageConfig::Parse(json);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(r.error().message().find(fragment), std::string::npos) << r.error().message();
  }
}

TEST(ChainIdTest, MatchesSpec) {
  EXPECT_TRUE(ChainId({}).empty());
  Digest a = Digest::Of("a"), b = Digest::Of("b"), c = Digest::Of("c");
  EXPECT_EQ(ChainId({a}), a);
  Digest ab = Digest::Of(a.str() + " " + b.str());
  EXPECT_EQ(ChainId({a, b}), ab);
  EXPECT_EQ(ChainId({a, b, c}), Digest::Of(ab.str() + " " + c.str()));
}

}  // namespace
}  // namespace bld::oci
