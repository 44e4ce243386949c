#include "oci/store.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/file.h"
#include "base/temp_dir.h"
#include "oci/media_types.h"

namespace bld::oci {
namespace {

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::Create();
    ASSERT_TRUE(d.ok());
    dir_ = std::make_unique<TempDir>(std::move(*d));
    auto s = Store::Open(dir_->path() + "/store");
    ASSERT_TRUE(s.ok()) << s.error().message();
    store_ = std::move(*s);
  }
  Descriptor Desc(std::string_view data) {
    Descriptor d;
    d.media_type = kMediaTypeOciManifest;
    d.digest = Digest::Of(data);
    d.size = static_cast<int64_t>(data.size());
    return d;
  }
  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(StoreTest, CreatesLayout) {
  EXPECT_TRUE(PathExists(store_->root() + "/oci-layout"));
  EXPECT_TRUE(PathExists(store_->root() + "/index.json"));
  EXPECT_TRUE(IsDirectory(store_->root() + "/blobs/sha256"));
  auto layout = ReadFile(store_->root() + "/oci-layout");
  ASSERT_TRUE(layout.ok());
  EXPECT_EQ(*layout, R"({"imageLayoutVersion":"1.0.0"})");
}

TEST_F(StoreTest, WriteAndReadBlob) {
  auto d = store_->WriteBlob("hello");
  ASSERT_TRUE(d.ok()) << d.error().message();
  EXPECT_EQ(*d, Digest::Of("hello"));
  EXPECT_TRUE(store_->HasBlob(*d));
  auto size = store_->BlobSize(*d);
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, 5);
  auto data = store_->ReadBlob(*d);
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(*data, "hello");
  EXPECT_TRUE(store_->VerifyBlob(*d).ok());
  auto list = store_->ListBlobs();
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), 1u);
}

TEST_F(StoreTest, CommitRejectsWrongDigestAndSize) {
  auto w = store_->Ingest();
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Write("abc").ok());
  auto r = (*w)->Commit(Digest::Of("abd"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("digest mismatch"), std::string::npos);
  EXPECT_FALSE(store_->HasBlob(Digest::Of("abd")));
  EXPECT_FALSE(store_->HasBlob(Digest::Of("abc")));

  auto w2 = store_->Ingest();
  ASSERT_TRUE(w2.ok());
  ASSERT_TRUE((*w2)->Write("abc").ok());
  auto r2 = (*w2)->Commit(Digest::Of("abc"), 4);
  ASSERT_FALSE(r2.ok());
  EXPECT_NE(r2.error().message().find("size mismatch"), std::string::npos);
  auto ingests = ListDir(store_->root() + "/ingest");
  ASSERT_TRUE(ingests.ok());
  EXPECT_TRUE(ingests->empty());
}

TEST_F(StoreTest, AbandonedWriterLeavesNothing) {
  {
    auto w = store_->Ingest();
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Write("partial").ok());
  }
  auto ingests = ListDir(store_->root() + "/ingest");
  ASSERT_TRUE(ingests.ok());
  EXPECT_TRUE(ingests->empty());
}

TEST_F(StoreTest, CorruptBlobIsReportedNotServed) {
  auto d = store_->WriteBlob("good content");
  ASSERT_TRUE(d.ok());
  ASSERT_EQ(::chmod(store_->BlobPath(*d).c_str(), 0644), 0);
  ASSERT_TRUE(WriteFileAtomic(store_->BlobPath(*d), "evil content").ok());
  auto r = store_->ReadBlob(*d);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("corrupt"), std::string::npos);
  EXPECT_NE(r.error().message().find(d->str()), std::string::npos);
  EXPECT_FALSE(store_->VerifyBlob(*d).ok());
}

TEST_F(StoreTest, MovedTagLeavesTheOldImageUntagged) {
  Descriptor a = Desc("a"), b = Desc("b");
  ASSERT_TRUE(store_->SetTag("docker.io/library/x:1", a).ok());
  ASSERT_TRUE(store_->SetTag("docker.io/library/x:1", b).ok());
  auto tags = store_->ListTags();
  ASSERT_TRUE(tags.ok());
  ASSERT_EQ(tags->size(), 2u);
  int untagged_a = 0;
  for (const auto& t : *tags) untagged_a += t.name.empty() && t.target.digest == a.digest;
  EXPECT_EQ(untagged_a, 1);
  // Tagging it again drops the untagged entry.
  ASSERT_TRUE(store_->SetTag("docker.io/library/y:1", a).ok());
  tags = store_->ListTags();
  ASSERT_TRUE(tags.ok());
  for (const auto& t : *tags) EXPECT_FALSE(t.name.empty());
}

TEST_F(StoreTest, Tags) {
  Descriptor a = Desc("a"), b = Desc("b");
  ASSERT_TRUE(store_->SetTag("docker.io/library/x:1", a).ok());
  ASSERT_TRUE(store_->SetTag("docker.io/library/x:2", a).ok());
  ASSERT_TRUE(store_->SetTag("docker.io/library/x:1", b).ok());
  auto r = store_->ResolveTag("docker.io/library/x:1");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->digest, b.digest);
  auto tags = store_->ListTags();
  ASSERT_TRUE(tags.ok());
  EXPECT_EQ(tags->size(), 2u);
  ASSERT_TRUE(store_->RemoveTag("docker.io/library/x:2").ok());
  EXPECT_EQ(store_->RemoveTag("docker.io/library/x:2").error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(store_->ResolveTag("nope").error().code(), ErrorCode::kNotFound);
  // The annotation is what skopeo/umoci read.
  auto index = ReadFile(store_->root() + "/index.json");
  ASSERT_TRUE(index.ok());
  EXPECT_NE(index->find("\"org.opencontainers.image.ref.name\": \"docker.io/library/x:1\""),
            std::string::npos);
}

TEST_F(StoreTest, UntaggedEntryReplacedByTag) {
  Descriptor a = Desc("a");
  ASSERT_TRUE(store_->SetTags({TagEntry{"", a}}).ok());
  ASSERT_TRUE(store_->SetTags({TagEntry{"", a}}).ok());
  auto tags = store_->ListTags();
  ASSERT_TRUE(tags.ok());
  EXPECT_EQ(tags->size(), 1u);
  ASSERT_TRUE(store_->SetTag("docker.io/library/x:1", a).ok());
  tags = store_->ListTags();
  ASSERT_TRUE(tags.ok());
  ASSERT_EQ(tags->size(), 1u);
  EXPECT_EQ((*tags)[0].name, "docker.io/library/x:1");
}

TEST_F(StoreTest, ConcurrentTaggersLoseNothing) {
  constexpr int kProcs = 8, kTags = 10;
  std::vector<pid_t> pids;
  for (int p = 0; p < kProcs; ++p) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      auto s = Store::Open(store_->root());
      if (!s.ok()) _exit(1);
      for (int t = 0; t < kTags; ++t) {
        std::string name = "docker.io/library/p" + std::to_string(p) + ":" + std::to_string(t);
        if (!(*s)->SetTag(name, Desc(name)).ok()) _exit(2);
      }
      _exit(0);
    }
    pids.push_back(pid);
  }
  for (pid_t pid : pids) {
    int status;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  auto tags = store_->ListTags();
  ASSERT_TRUE(tags.ok());
  EXPECT_EQ(tags->size(), static_cast<size_t>(kProcs * kTags));
}

TEST_F(StoreTest, CleanIngestsRemovesOnlyDeadWriters) {
  auto live = store_->Ingest();
  ASSERT_TRUE(live.ok());
  ASSERT_TRUE(WriteFileAtomic(store_->root() + "/ingest/dead", "x").ok());
  auto n = store_->CleanIngests(0);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1);
  ASSERT_TRUE((*live)->Write("y").ok());
  EXPECT_TRUE((*live)->Commit().ok());
}

}  // namespace
}  // namespace bld::oci
