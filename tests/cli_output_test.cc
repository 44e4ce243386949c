// docker's output contracts on the bld binary: -q, --no-trunc, --filter, --format templates
// and JSON lines on images, ps, inspect, version; and the scripts docker users write.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "base/temp_dir.h"
#include "tests/testutil.h"

namespace bld::testing {
namespace {

std::vector<std::string> Lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

class CliOutputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::Create("", "bld-cli-output-");
    ASSERT_TRUE(d.ok());
    dir_ = std::make_unique<TempDir>(std::move(*d));
    root_ = dir_->path() + "/root";
    ASSERT_TRUE(ImportBusybox(root_, "busybox"));
    std::string tar = BusyboxRootfsTar();
    ASSERT_EQ(Bld({"import", tar, "app:1", "--change", "LABEL a=b"}).exit_code, 0);
    old_id_ = Trim(Bld({"inspect", "--format", "{{.Id}}", "app:1"}).out);
    // The tag moves: the old image stays as <none> until pruned.
    ASSERT_EQ(Bld({"import", tar, "app:1", "--change", "LABEL a=c"}).exit_code, 0);
  }
  static std::string Trim(std::string s) {
    while (!s.empty() && s.back() == '\n') s.pop_back();
    return s;
  }
  CommandResult Bld(const std::vector<std::string>& args) { return RunBld(root_, args); }
  std::unique_ptr<TempDir> dir_;
  std::string root_, old_id_;
};

TEST_F(CliOutputTest, ImagesQuietNoTruncAndTemplates) {
  ASSERT_TRUE(old_id_.starts_with("sha256:")) << old_id_;
  auto q = Bld({"images", "-q"});
  ASSERT_EQ(q.exit_code, 0) << q.err;
  auto ids = Lines(q.out);
  ASSERT_EQ(ids.size(), 3u) << q.out;
  for (const auto& id : ids) EXPECT_TRUE(std::regex_match(id, std::regex("[0-9a-f]{12}"))) << id;
  auto full = Lines(Bld({"images", "-q", "--no-trunc"}).out);
  ASSERT_EQ(full.size(), 3u);
  for (const auto& id : full) {
    EXPECT_TRUE(std::regex_match(id, std::regex("sha256:[0-9a-f]{64}"))) << id;
  }
  auto names = Bld({"images", "--format", "{{.Repository}}:{{.Tag}}"});
  ASSERT_EQ(names.exit_code, 0) << names.err;
  // Newest first: the moved tag's image, then the one it left, then busybox.
  EXPECT_EQ(Lines(names.out).size(), 3u);
  EXPECT_NE(names.out.find("docker.io/library/app:1\n"), std::string::npos) << names.out;
  EXPECT_NE(names.out.find("<none>:<none>\n"), std::string::npos) << names.out;
  EXPECT_NE(names.out.find("docker.io/library/busybox:latest\n"), std::string::npos);
  auto table = Bld({"images", "--format", "table {{.ID}}\\t{{.Tag}}"});
  auto rows = Lines(table.out);
  ASSERT_EQ(rows.size(), 4u) << table.out;
  EXPECT_TRUE(rows[0].starts_with("IMAGE ID       TAG")) << rows[0];
  // The default table has docker's columns.
  EXPECT_TRUE(std::regex_search(Lines(Bld({"images"}).out)[0],
                                std::regex("^REPOSITORY +TAG +IMAGE ID +CREATED +SIZE$")));
  auto bad = Bld({"images", "--format", "{{.Nope}}"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("can't evaluate field Nope"), std::string::npos) << bad.err;
}

TEST_F(CliOutputTest, ImagesJsonLinesWithDockersKeys) {
  auto j = Bld({"images", "--format", "json"});
  ASSERT_EQ(j.exit_code, 0) << j.err;
  auto lines = Lines(j.out);
  ASSERT_EQ(lines.size(), 3u) << j.out;
  for (const auto& l : lines) {
    auto o = nlohmann::json::parse(l, nullptr, false);
    ASSERT_TRUE(o.is_object()) << l;
    for (const char* key : {"ID", "Repository", "Tag", "CreatedAt", "CreatedSince", "Size",
                            "Digest"}) {
      EXPECT_TRUE(o.contains(key)) << key << " in " << l;
    }
  }
}

TEST_F(CliOutputTest, ImagesFilters) {
  auto f = [&](const std::string& filter) {
    auto r = Bld({"images", "--filter", filter, "--format", "{{.Repository}}:{{.Tag}}"});
    EXPECT_EQ(r.exit_code, 0) << filter << ": " << r.err;
    return r.out;
  };
  EXPECT_EQ(f("dangling=true"), "<none>:<none>\n");
  EXPECT_EQ(Lines(f("dangling=false")).size(), 2u);
  EXPECT_EQ(f("label=a=c"), "docker.io/library/app:1\n");
  EXPECT_EQ(f("label=a=b"), "<none>:<none>\n");
  EXPECT_EQ(Lines(f("label=a")).size(), 2u);
  EXPECT_EQ(f("reference=busybox"), "docker.io/library/busybox:latest\n");
  EXPECT_EQ(f("reference=app:*"), "docker.io/library/app:1\n");
  EXPECT_EQ(f("reference=nothing*"), "");
  auto bad = Bld({"images", "--filter", "colour=red"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("unknown filter"), std::string::npos) << bad.err;
  auto missing = Bld({"images", "--filter", "since=no-such-image"});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.err.find("no-such-image"), std::string::npos) << missing.err;
}

TEST_F(CliOutputTest, InspectAndVersionFormats) {
  auto id = Bld({"inspect", "--format", "{{.Id}}", "busybox"});
  ASSERT_EQ(id.exit_code, 0) << id.err;
  EXPECT_TRUE(std::regex_match(Trim(id.out), std::regex("sha256:[0-9a-f]{64}"))) << id.out;
  auto tags = Bld({"inspect", "-f", "{{range .RepoTags}}{{.}} {{end}}", "busybox", "app:1"});
  EXPECT_EQ(tags.out, "docker.io/library/busybox:latest \ndocker.io/library/app:1 \n");
  auto cfg = Bld({"inspect", "--format", "{{json .Config.Cmd}}", "busybox"});
  EXPECT_EQ(cfg.out, "[\"sh\"]\n");
  auto v = Bld({"version", "--format", "{{.Client.Version}}"});
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_EQ("bld version " + v.out, Bld({"version"}).out);
  auto info = Bld({"info", "--format", "{{.Images}} {{.Containers}}"});
  EXPECT_EQ(info.exit_code, 0) << info.err;
  EXPECT_EQ(info.out, "3 0\n");
}

TEST_F(CliOutputTest, History) {
  auto h = Bld({"history", "busybox"});
  ASSERT_EQ(h.exit_code, 0) << h.err;
  auto rows = Lines(h.out);
  ASSERT_GE(rows.size(), 2u) << h.out;
  EXPECT_TRUE(std::regex_search(rows[0],
                                std::regex("^IMAGE +CREATED +CREATED BY +SIZE +COMMENT$")))
      << rows[0];
  std::string id = Trim(Bld({"inspect", "--format", "{{.Id}}", "busybox"}).out);
  EXPECT_EQ(Lines(Bld({"image", "history", "-q", "busybox"}).out)[0], id.substr(7, 12));
  EXPECT_EQ(Lines(Bld({"history", "-q", "--no-trunc", "busybox"}).out)[0], id);
  auto j = Bld({"history", "--format", "json", "busybox"});
  auto first = nlohmann::json::parse(Lines(j.out)[0], nullptr, false);
  ASSERT_TRUE(first.is_object()) << j.out;
  for (const char* key : {"Comment", "CreatedAt", "CreatedBy", "CreatedSince", "ID", "Size"}) {
    EXPECT_TRUE(first.contains(key)) << key;
  }
}

// The scripts of acceptance 2, as a user types them.
TEST_F(CliOutputTest, DockerScripts) {
  if (!IsRoot()) GTEST_SKIP() << "bld run needs root here";
  // The old image is still runnable by ID.
  auto by_id = Bld({"run", "--rm", old_id_.substr(7, 12), "echo", "old"});
  EXPECT_EQ(by_id.exit_code, 0) << by_id.err;
  EXPECT_EQ(by_id.out, "old\n");
  ASSERT_EQ(Bld({"run", "-d", "--name", "one", "busybox", "sleep", "60"}).exit_code, 0);
  ASSERT_EQ(Bld({"run", "--name", "two", "busybox", "true"}).exit_code, 0);
  auto ps = Bld({"ps", "-a", "--format", "{{.Names}} {{.State}}"});
  auto states = Lines(ps.out);
  std::sort(states.begin(), states.end());  // created in the same second: any order
  EXPECT_EQ(states, (std::vector<std::string>{"one running", "two exited"})) << ps.out;
  EXPECT_EQ(Bld({"ps", "--filter", "status=exited", "--format", "{{.Names}}"}).out, "two\n");
  EXPECT_EQ(Bld({"ps", "-q", "--filter", "name=one"}).out.size(), 13u);
  EXPECT_EQ(Bld({"ps", "-a", "--filter", "ancestor=busybox", "-q"}).out.size(), 26u);
  EXPECT_EQ(Bld({"ps", "-a", "--filter", "ancestor=app:1", "-q"}).out, "");
  // An image a container uses is not removed without -f.
  auto used = Bld({"rmi", "busybox"});
  EXPECT_EQ(used.exit_code, 1);
  EXPECT_NE(used.err.find("uses the image"), std::string::npos) << used.err;
  EXPECT_NE(used.err.find("-f"), std::string::npos) << used.err;
  EXPECT_EQ(Bld({"images", "-q", "--filter", "reference=busybox"}).out.size(), 13u);
  std::string bld = BldBinary() + " --root '" + root_ + "'";
  auto script = bld::testing::Run({"sh", "-ec",
                     bld + " rm -f $(" + bld + " ps -aq)\n" +
                     bld + " rmi $(" + bld + " images -q --filter dangling=true)\n" +
                     bld + " inspect --format '{{.Id}}' busybox\n" +
                     bld + " images --format '{{.Repository}}:{{.Tag}}'\n"});
  EXPECT_EQ(script.exit_code, 0) << script.err;
  auto out = Lines(script.out);
  ASSERT_EQ(out.size(), 6u) << script.out;  // 2 removed, 1 deleted, the ID, 2 names
  EXPECT_EQ(Bld({"ps", "-aq"}).out, "");
  EXPECT_EQ(Bld({"images", "-q", "--filter", "dangling=true"}).out, "");
  EXPECT_EQ(out[3], Trim(Bld({"inspect", "--format", "{{.Id}}", "busybox"}).out));
  EXPECT_EQ(out[4] + "\n" + out[5] + "\n",
            Bld({"images", "--format", "{{.Repository}}:{{.Tag}}"}).out);
}

}  // namespace
}  // namespace bld::testing
