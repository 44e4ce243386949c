// oci/archive against the real tools: skopeo reads what SaveArchive writes,
// LoadArchive reads what skopeo writes (from an image made with umoci).
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "base/file.h"
#include "base/temp_dir.h"
#include "oci/archive.h"
#include "oci/config.h"
#include "oci/image.h"
#include "oci/manifest.h"
#include "oci/media_types.h"
#include "oci/store.h"
#include "tests/testutil.h"

namespace bld::oci {
namespace {

using bld::testing::HaveProgram;
// testing::Test has a Run() of its own.
CommandResult Tool(const std::vector<std::string>& argv) { return bld::testing::Run(argv); }

la_ssize_t Append(struct archive*, void* client, const void* buf, size_t n) {
  static_cast<std::string*>(client)->append(static_cast<const char*>(buf), n);
  return static_cast<la_ssize_t>(n);
}

// A small layer tar with one file, compressed with `c`.
std::string LayerTar(const std::string& name, const std::string& content, Compression c) {
  std::string out;
  struct archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  if (c == Compression::kGzip) archive_write_add_filter_gzip(a);
  if (c == Compression::kZstd) archive_write_add_filter_zstd(a);
  // Same length with and without compression (no padding of the last block).
  archive_write_set_bytes_in_last_block(a, 1);
  archive_write_open(a, &out, nullptr, Append, nullptr);
  struct archive_entry* e = archive_entry_new();
  archive_entry_set_pathname(e, name.c_str());
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, 0644);
  archive_entry_set_size(e, static_cast<la_int64_t>(content.size()));
  archive_write_header(a, e);
  archive_write_data(a, content.data(), content.size());
  archive_entry_free(e);
  archive_write_close(a);
  archive_write_free(a);
  return out;
}

class ArchiveInteropTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* p : {"skopeo", "umoci"}) {
      if (!HaveProgram(p)) GTEST_SKIP() << "needs " << p << " (apt-get install " << p << ")";
    }
    auto dir = TempDir::Create();
    ASSERT_TRUE(dir.ok());
    dir_ = std::make_unique<TempDir>(std::move(*dir));
    auto store = Store::Open(dir_->path() + "/store");
    ASSERT_TRUE(store.ok()) << store.error().message();
    store_ = std::move(*store);
  }

  // An image with a gzip and a zstd layer, written into the store by hand.
  Descriptor PutImage(std::vector<Digest>* diff_ids) {
    Manifest m;
    m.media_type = std::string(kMediaTypeOciManifest);
    ImageConfig config;
    config.config = ContainerConfig();
    config.config->cmd = std::vector<std::string>{"sh"};
    config.config->env = {"PATH=/bin"};
    int i = 0;
    for (Compression c : {Compression::kGzip, Compression::kZstd}) {
      std::string name = "file" + std::to_string(i++);
      config.diff_ids.push_back(
          Digest::Of(LayerTar(name, "content of " + name, Compression::kNone)));
      std::string blob = LayerTar(name, "content of " + name, c);
      m.layers.push_back(Descriptor{std::string(OciLayerMediaType(c)), *store_->WriteBlob(blob),
                                    static_cast<int64_t>(blob.size())});
    }
    *diff_ids = config.diff_ids;
    std::string cj = config.ToJson();
    m.config = Descriptor{std::string(kMediaTypeOciConfig), *store_->WriteBlob(cj),
                          static_cast<int64_t>(cj.size())};
    std::string mj = m.ToJson();
    return Descriptor{m.media_type, *store_->WriteBlob(mj), static_cast<int64_t>(mj.size())};
  }

  std::string SaveTo(const std::vector<SaveItem>& items, ArchiveFormat f) {
    std::string path = dir_->path() + "/" + std::string(ArchiveFormatName(f)) + ".tar";
    auto fd = OpenFile(path, O_WRONLY | O_CREAT | O_TRUNC);
    EXPECT_TRUE(fd.ok());
    Status s = SaveArchive(*store_, items, f, fd->get());
    EXPECT_TRUE(s.ok()) << s.error().message();
    return path;
  }

  Result<std::vector<TagEntry>> LoadFrom(const std::string& path) {
    auto fd = OpenFile(path, O_RDONLY);
    if (!fd.ok()) return fd.error();
    return LoadArchive(*store_, fd->get());
  }

  // An image made by umoci (one layer with /etc/hello), as an OCI layout.
  std::string UmociImage() {
    std::string layout = dir_->path() + "/umoci";
    std::string src = dir_->path() + "/src";
    EXPECT_TRUE(MkdirAll(src + "/etc").ok());
    EXPECT_TRUE(WriteFileAtomic(src + "/etc/hello", "hello from umoci\n").ok());
    for (const auto& argv : std::vector<std::vector<std::string>>{
             {"umoci", "init", "--layout", layout},
             {"umoci", "new", "--image", layout + ":t"},
             {"umoci", "insert", "--image", layout + ":t", src + "/etc", "/etc"},
             {"umoci", "config", "--image", layout + ":t", "--config.cmd", "sh", "--config.env",
              "A=b"}}) {
      auto r = Tool(argv);
      EXPECT_EQ(r.exit_code, 0) << argv[1] << ": " << r.err;
    }
    return layout;
  }

  void ExpectLoadedImage(const TagEntry& t, const std::string& name) {
    EXPECT_EQ(t.name, name);
    auto image = LoadImage(*store_, t.target);
    ASSERT_TRUE(image.ok()) << image.error().message();
    ASSERT_TRUE(image->config.config.has_value());
    EXPECT_EQ(image->config.config->GetEnv("A"), "b");
    ASSERT_EQ(image->manifest.layers.size(), image->config.diff_ids.size());
    ASSERT_EQ(image->manifest.layers.size(), 1u);
    for (const Descriptor& l : image->manifest.layers)
      EXPECT_TRUE(store_->VerifyBlob(l.digest).ok());
    EXPECT_TRUE(store_->VerifyBlob(image->manifest.config.digest).ok());
  }

  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(ArchiveInteropTest, SkopeoCopiesOurOciArchive) {
  std::vector<Digest> diff_ids;
  Descriptor image = PutImage(&diff_ids);
  const std::string name = "docker.io/library/busybox:latest";
  std::string archive = SaveTo({{name, image}}, ArchiveFormat::kOciArchive);
  std::string dest = dir_->path() + "/copied";
  // Without a name (the only image) and by the name we wrote.
  auto r = Tool({"skopeo", "copy", "oci-archive:" + archive, "oci:" + dest + ":first"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Tool({"skopeo", "copy", "oci-archive:" + archive + ":" + name, "oci:" + dest + ":second"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Tool({"skopeo", "inspect", "oci:" + dest + ":second"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["Digest"], image.digest.str());  // copied byte for byte
  EXPECT_EQ(j["Layers"].size(), 2u);
  auto inspect = Tool({"skopeo", "inspect", "oci-archive:" + archive});
  ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
}

TEST_F(ArchiveInteropTest, SkopeoReadsOurDockerArchive) {
  std::vector<Digest> diff_ids;
  Descriptor image = PutImage(&diff_ids);
  std::string archive =
      SaveTo({{"docker.io/library/busybox:latest", image}, {"localhost:5000/x/y:1", image}},
             ArchiveFormat::kDockerArchive);
  auto r = Tool({"skopeo", "inspect", "docker-archive:" + archive});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["Layers"].size(), 2u);
  // Uncompressed layers: their digests are the diff IDs.
  EXPECT_EQ(j["Layers"][0], diff_ids[0].str());
  EXPECT_EQ(j["Layers"][1], diff_ids[1].str());
  // skopeo can pick an image by its RepoTag and copy it out.
  std::string dest = dir_->path() + "/copied";
  r = Tool({"skopeo", "copy", "docker-archive:" + archive + ":localhost:5000/x/y:1",
            "oci:" + dest + ":x"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Tool(
      {"skopeo", "copy", "docker-archive:" + archive + ":busybox:latest", "oci:" + dest + ":y"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(ArchiveInteropTest, LoadsSkopeoOciArchive) {
  std::string layout = UmociImage();
  std::string archive = dir_->path() + "/skopeo-oci.tar";
  auto r =
      Tool({"skopeo", "copy", "oci:" + layout + ":t", "oci-archive:" + archive + ":busybox:1.0"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto loaded = LoadFrom(archive);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message();
  ASSERT_EQ(loaded->size(), 1u);
  ExpectLoadedImage((*loaded)[0], "docker.io/library/busybox:1.0");
  // Saved again by us, skopeo still reads it.
  std::string again = SaveTo({{"docker.io/library/busybox:1.0", (*loaded)[0].target}},
                             ArchiveFormat::kDockerArchive);
  r = Tool({"skopeo", "inspect", "docker-archive:" + again});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(ArchiveInteropTest, LoadsSkopeoDockerArchive) {
  std::string layout = UmociImage();
  std::string archive = dir_->path() + "/skopeo-docker.tar";
  auto r = Tool({"skopeo", "copy", "oci:" + layout + ":t",
                 "docker-archive:" + archive + ":example.com/team/app:v2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto loaded = LoadFrom(archive);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message();
  ASSERT_EQ(loaded->size(), 1u);
  ExpectLoadedImage((*loaded)[0], "example.com/team/app:v2");
  // The loaded image (uncompressed OCI layers) goes back out through skopeo.
  std::string ours =
      SaveTo({{"example.com/team/app:v2", (*loaded)[0].target}}, ArchiveFormat::kOciArchive);
  std::string dest = dir_->path() + "/copied";
  r = Tool({"skopeo", "copy", "oci-archive:" + ours, "oci:" + dest + ":x"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  // umoci unpacks what skopeo copied out of our archive.
  if (bld::testing::IsRoot()) {
    r = Tool({"umoci", "unpack", "--image", dest + ":x", dir_->path() + "/bundle"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(*ReadFile(dir_->path() + "/bundle/rootfs/etc/hello"), "hello from umoci\n");
  }
}

}  // namespace
}  // namespace bld::oci
