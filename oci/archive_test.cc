#include "oci/archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <gtest/gtest.h>

#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "base/file.h"
#include "base/temp_dir.h"
#include "oci/config.h"
#include "oci/manifest.h"
#include "oci/media_types.h"

namespace bld::oci {
namespace {

struct TarEntry {
  std::string path;
  std::string data;
  char type = 'f';  // 'f' file, 'd' dir, 'l' symlink (data = target), 'h' hard link
};

int WriteToString(struct archive*, void* client, const void* buf, size_t n) {
  static_cast<std::string*>(client)->append(static_cast<const char*>(buf), n);
  return static_cast<int>(n);
}
la_ssize_t WriteToStringCb(struct archive* a, void* client, const void* buf, size_t n) {
  return WriteToString(a, client, buf, n);
}

// A tar (optionally gzip/zstd-compressed) holding `entries`, deterministic.
std::string MakeTar(const std::vector<TarEntry>& entries, Compression c = Compression::kNone) {
  std::string out;
  struct archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  if (c == Compression::kGzip) archive_write_add_filter_gzip(a);
  if (c == Compression::kZstd) archive_write_add_filter_zstd(a);
  archive_write_set_bytes_in_last_block(a, 1);
  EXPECT_EQ(archive_write_open(a, &out, nullptr, WriteToStringCb, nullptr), ARCHIVE_OK);
  for (const TarEntry& t : entries) {
    struct archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, t.path.c_str());
    archive_entry_set_mtime(e, 1000, 0);
    if (t.type == 'd') {
      archive_entry_set_filetype(e, AE_IFDIR);
      archive_entry_set_perm(e, 0755);
    } else if (t.type == 'l') {
      archive_entry_set_filetype(e, AE_IFLNK);
      archive_entry_set_symlink(e, t.data.c_str());
      archive_entry_set_perm(e, 0777);
    } else if (t.type == 'h') {
      archive_entry_set_filetype(e, AE_IFREG);
      archive_entry_set_hardlink(e, t.data.c_str());
      archive_entry_set_perm(e, 0644);
    } else {
      archive_entry_set_filetype(e, AE_IFREG);
      archive_entry_set_perm(e, 0644);
      archive_entry_set_size(e, static_cast<la_int64_t>(t.data.size()));
    }
    EXPECT_EQ(archive_write_header(a, e), ARCHIVE_OK) << archive_error_string(a);
    if (t.type == 'f' && !t.data.empty()) {
      EXPECT_EQ(archive_write_data(a, t.data.data(), t.data.size()),
                static_cast<la_ssize_t>(t.data.size()));
    }
    archive_entry_free(e);
  }
  EXPECT_EQ(archive_write_close(a), ARCHIVE_OK);
  archive_write_free(a);
  return out;
}

// Regular files (and symlink targets as "->target") of a tar.
std::map<std::string, std::string> ReadTar(const std::string& data) {
  std::map<std::string, std::string> out;
  struct archive* a = archive_read_new();
  archive_read_support_filter_all(a);
  archive_read_support_format_tar(a);
  EXPECT_EQ(archive_read_open_memory(a, data.data(), data.size()), ARCHIVE_OK);
  struct archive_entry* e;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    std::string path = archive_entry_pathname(e);
    if (archive_entry_filetype(e) == AE_IFLNK) {
      out[path] = std::string("->") + archive_entry_symlink(e);
    } else if (archive_entry_filetype(e) == AE_IFREG) {
      std::string content;
      char buf[65536];
      la_ssize_t n;
      while ((n = archive_read_data(a, buf, sizeof buf)) > 0) content.append(buf, n);
      out[path] = content;
    }
  }
  archive_read_free(a);
  return out;
}

struct TestImage {
  Descriptor manifest;
  Digest config;
  std::vector<Digest> diff_ids;
  std::vector<std::string> layer_tars;  // uncompressed
};

TestImage PutImage(const Store& store, const std::string& seed,
                   std::vector<Compression> compressions = {Compression::kGzip}) {
  TestImage img;
  Manifest m;
  m.media_type = std::string(kMediaTypeOciManifest);
  ImageConfig config;
  config.config = ContainerConfig();
  config.config->cmd = std::vector<std::string>{"sh"};
  config.config->env = {"SEED=" + seed};
  for (size_t i = 0; i < compressions.size(); ++i) {
    std::vector<TarEntry> files = {
        {"etc/", "", 'd'},
        {"etc/" + seed + std::to_string(i), seed + " layer " + std::to_string(i)}};
    std::string tar = MakeTar(files);
    std::string blob = MakeTar(files, compressions[i]);
    img.layer_tars.push_back(tar);
    img.diff_ids.push_back(Digest::Of(tar));
    config.diff_ids.push_back(Digest::Of(tar));
    Descriptor l;
    l.media_type = std::string(OciLayerMediaType(compressions[i]));
    l.digest = *store.WriteBlob(blob);
    l.size = static_cast<int64_t>(blob.size());
    m.layers.push_back(l);
  }
  std::string config_json = config.ToJson();
  m.config.media_type = std::string(kMediaTypeOciConfig);
  m.config.digest = *store.WriteBlob(config_json);
  m.config.size = static_cast<int64_t>(config_json.size());
  img.config = m.config.digest;
  std::string manifest_json = m.ToJson();
  img.manifest.media_type = m.media_type;
  img.manifest.digest = *store.WriteBlob(manifest_json);
  img.manifest.size = static_cast<int64_t>(manifest_json.size());
  return img;
}

class ArchiveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = TempDir::Create();
    ASSERT_TRUE(dir.ok());
    dir_ = std::make_unique<TempDir>(std::move(*dir));
    auto src = Store::Open(dir_->path() + "/src");
    ASSERT_TRUE(src.ok()) << src.error().message();
    src_ = std::move(*src);
    auto dst = Store::Open(dir_->path() + "/dst");
    ASSERT_TRUE(dst.ok()) << dst.error().message();
    dst_ = std::move(*dst);
  }

  std::string Save(const std::vector<SaveItem>& items, ArchiveFormat f) {
    std::string path = dir_->path() + "/out-" + std::to_string(counter_++) + ".tar";
    auto fd = OpenFile(path, O_WRONLY | O_CREAT | O_TRUNC);
    EXPECT_TRUE(fd.ok());
    Status s = SaveArchive(*src_, items, f, fd->get());
    EXPECT_TRUE(s.ok()) << s.error().message();
    return *ReadFile(path);
  }

  Result<std::vector<TagEntry>> Load(const std::string& data) {
    std::string path = dir_->path() + "/in-" + std::to_string(counter_++) + ".tar";
    EXPECT_TRUE(WriteFileAtomic(path, data).ok());
    auto fd = OpenFile(path, O_RDONLY);
    EXPECT_TRUE(fd.ok());
    return LoadArchive(*dst_, fd->get());
  }

  // The destination store has no blobs, no tags and no ingest leftovers.
  void ExpectDstUnchanged() {
    auto blobs = dst_->ListBlobs();
    ASSERT_TRUE(blobs.ok());
    EXPECT_TRUE(blobs->empty()) << blobs->size() << " blobs";
    auto tags = dst_->ListTags();
    ASSERT_TRUE(tags.ok());
    EXPECT_TRUE(tags->empty());
    auto ingests = ListDir(dst_->root() + "/ingest");
    ASSERT_TRUE(ingests.ok());
    EXPECT_TRUE(ingests->empty()) << ingests->size() << " ingest files left";
  }

  void ExpectLoadFails(const std::string& data, const std::string& fragment) {
    auto r = Load(data);
    ASSERT_FALSE(r.ok()) << "loaded " << r->size() << " images";
    std::cerr << "  load error: " << r.error().message() << "\n";
    EXPECT_NE(r.error().message().find(fragment), std::string::npos) << r.error().message();
    ExpectDstUnchanged();
  }

  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<Store> src_, dst_;
  int counter_ = 0;
};

TEST_F(ArchiveTest, FormatNames) {
  EXPECT_EQ(*ParseArchiveFormat("oci-archive"), ArchiveFormat::kOciArchive);
  EXPECT_EQ(*ParseArchiveFormat("docker-archive"), ArchiveFormat::kDockerArchive);
  EXPECT_EQ(ArchiveFormatName(ArchiveFormat::kDockerArchive), "docker-archive");
  auto bad = ParseArchiveFormat("tar");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("\"tar\""), std::string::npos);
}

TEST_F(ArchiveTest, OciArchiveLayoutAndRoundTrip) {
  TestImage img = PutImage(*src_, "a", {Compression::kGzip, Compression::kZstd});
  const std::string name = "docker.io/library/busybox:latest";
  std::string tar = Save({{name, img.manifest}}, ArchiveFormat::kOciArchive);
  auto files = ReadTar(tar);
  ASSERT_TRUE(files.count("oci-layout"));
  ASSERT_TRUE(files.count("index.json"));
  EXPECT_EQ(files.size(), 2u + 4u);  // manifest, config, two layers
  auto index = Index::Parse(files["index.json"]);
  ASSERT_TRUE(index.ok()) << index.error().message();
  ASSERT_EQ(index->manifests.size(), 1u);
  EXPECT_EQ(index->manifests[0].digest, img.manifest.digest);
  EXPECT_EQ(index->manifests[0].annotations.at("org.opencontainers.image.ref.name"), name);
  for (const auto& [path, data] : files) {
    if (path.rfind("blobs/sha256/", 0) == 0) {
      EXPECT_EQ("blobs/sha256/" + Digest::Of(data).hex(), path);
    }
  }

  auto loaded = Load(tar);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message();
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ((*loaded)[0].name, name);
  EXPECT_EQ((*loaded)[0].target, img.manifest);
  auto src_blobs = src_->ListBlobs();
  auto dst_blobs = dst_->ListBlobs();
  std::sort(src_blobs->begin(), src_blobs->end());
  std::sort(dst_blobs->begin(), dst_blobs->end());
  EXPECT_EQ(*src_blobs, *dst_blobs);
  for (const Digest& d : *dst_blobs) EXPECT_TRUE(dst_->VerifyBlob(d).ok());
  // Load does not tag.
  EXPECT_TRUE(dst_->ListTags()->empty());
}

TEST_F(ArchiveTest, DockerArchiveLayoutAndRoundTrip) {
  TestImage img =
      PutImage(*src_, "b", {Compression::kGzip, Compression::kZstd, Compression::kNone});
  std::string tar = Save(
      {{"docker.io/library/busybox:1.0", img.manifest}, {"localhost:5000/a/b:t", img.manifest}},
      ArchiveFormat::kDockerArchive);
  auto files = ReadTar(tar);
  ASSERT_TRUE(files.count("manifest.json"));
  auto mj = nlohmann::json::parse(files["manifest.json"]);
  ASSERT_EQ(mj.size(), 1u);  // one image, two tags
  EXPECT_EQ(mj[0]["Config"], img.config.hex() + ".json");
  EXPECT_EQ(mj[0]["RepoTags"], nlohmann::json({"busybox:1.0", "localhost:5000/a/b:t"}));
  ASSERT_EQ(mj[0]["Layers"].size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    std::string path = mj[0]["Layers"][i];
    EXPECT_EQ(path, img.diff_ids[i].hex() + "/layer.tar");
    // Layers are uncompressed: content is exactly the diff ID's tar.
    EXPECT_EQ(files[path], img.layer_tars[i]);
  }
  EXPECT_EQ(Digest::Of(files[img.config.hex() + ".json"]), img.config);

  auto loaded = Load(tar);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message();
  ASSERT_EQ(loaded->size(), 2u);
  EXPECT_EQ((*loaded)[0].name, "docker.io/library/busybox:1.0");
  EXPECT_EQ((*loaded)[1].name, "localhost:5000/a/b:t");
  EXPECT_EQ((*loaded)[0].target, (*loaded)[1].target);
  auto m = Manifest::Parse(*dst_->ReadBlob((*loaded)[0].target.digest));
  ASSERT_TRUE(m.ok()) << m.error().message();
  EXPECT_EQ(m->config.digest, img.config);  // image ID preserved
  ASSERT_EQ(m->layers.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(m->layers[i].media_type, kMediaTypeOciLayer);
    EXPECT_EQ(m->layers[i].digest, img.diff_ids[i]);
    EXPECT_EQ(*dst_->ReadBlob(m->layers[i].digest), img.layer_tars[i]);
  }
  // Loading the same archive again yields the same manifest.
  auto again = Load(tar);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)[0].target, (*loaded)[0].target);
  // And the loaded image saves again as the same docker-archive content.
}

TEST_F(ArchiveTest, SeveralImagesAndUntagged) {
  TestImage a = PutImage(*src_, "a");
  TestImage b = PutImage(*src_, "b");
  std::string oci = Save({{"docker.io/library/a:1", a.manifest},
                          {"docker.io/library/a:2", a.manifest},
                          {"", b.manifest}},
                         ArchiveFormat::kOciArchive);
  auto loaded = Load(oci);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message();
  ASSERT_EQ(loaded->size(), 3u);
  EXPECT_EQ((*loaded)[0].name, "docker.io/library/a:1");
  EXPECT_EQ((*loaded)[1].name, "docker.io/library/a:2");
  EXPECT_EQ((*loaded)[2].name, "");
  EXPECT_EQ((*loaded)[2].target.digest, b.manifest.digest);

  std::string docker = Save({{"docker.io/library/a:1", a.manifest}, {"", b.manifest}},
                            ArchiveFormat::kDockerArchive);
  auto mj = nlohmann::json::parse(ReadTar(docker)["manifest.json"]);
  ASSERT_EQ(mj.size(), 2u);
  EXPECT_TRUE(mj[1]["RepoTags"].empty());
  auto loaded2 = Load(docker);
  ASSERT_TRUE(loaded2.ok()) << loaded2.error().message();
  ASSERT_EQ(loaded2->size(), 2u);
  EXPECT_EQ((*loaded2)[1].name, "");
}

TEST_F(ArchiveTest, IndexTargets) {
  TestImage host = PutImage(*src_, "host");
  TestImage other = PutImage(*src_, "other");
  Index idx;
  idx.media_type = std::string(kMediaTypeOciIndex);
  Descriptor h = host.manifest;
  h.platform = Platform::Host();
  Descriptor o = other.manifest;
  o.platform = *Platform::Parse("linux/s390x");
  if (Platform::Host().architecture == "s390x") o.platform = *Platform::Parse("linux/riscv64");
  idx.manifests = {o, h};
  std::string idx_json = idx.ToJson();
  Descriptor target{std::string(kMediaTypeOciIndex), *src_->WriteBlob(idx_json),
                    static_cast<int64_t>(idx_json.size())};
  // oci-archive keeps the whole index.
  auto loaded =
      Load(Save({{"docker.io/library/multi:latest", target}}, ArchiveFormat::kOciArchive));
  ASSERT_TRUE(loaded.ok()) << loaded.error().message();
  EXPECT_EQ((*loaded)[0].target.digest, target.digest);
  EXPECT_TRUE(dst_->HasBlob(other.manifest.digest));
  // docker-archive picks the host's manifest.
  auto files =
      ReadTar(Save({{"docker.io/library/multi:latest", target}}, ArchiveFormat::kDockerArchive));
  auto mj = nlohmann::json::parse(files["manifest.json"]);
  EXPECT_EQ(mj[0]["Config"], host.config.hex() + ".json");
}

TEST_F(ArchiveTest, SaveReportsMissingAndCorruptBlobs) {
  TestImage img = PutImage(*src_, "c");
  auto m = Manifest::Parse(*src_->ReadBlob(img.manifest.digest));
  ASSERT_TRUE(m.ok());
  // Corrupt the layer in place (same size).
  std::string layer_path = src_->BlobPath(m->layers[0].digest);
  std::string content = *ReadFile(layer_path);
  content[content.size() / 2] ^= 0x55;
  ASSERT_TRUE(WriteFileAtomic(layer_path, content).ok());
  for (ArchiveFormat f : {ArchiveFormat::kOciArchive, ArchiveFormat::kDockerArchive}) {
    auto fd = OpenFile(dir_->path() + "/corrupt.tar", O_WRONLY | O_CREAT | O_TRUNC);
    Status s = SaveArchive(*src_, {{"docker.io/library/c:latest", img.manifest}}, f, fd->get());
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.error().message().find(m->layers[0].digest.str()), std::string::npos)
        << s.error().message();
  }
  ASSERT_TRUE(src_->DeleteBlob(m->layers[0].digest).ok());
  for (ArchiveFormat f : {ArchiveFormat::kOciArchive, ArchiveFormat::kDockerArchive}) {
    auto fd = OpenFile(dir_->path() + "/missing.tar", O_WRONLY | O_CREAT | O_TRUNC);
    Status s = SaveArchive(*src_, {{"docker.io/library/c:latest", img.manifest}}, f, fd->get());
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.error().message().find(m->layers[0].digest.str()), std::string::npos)
        << s.error().message();
    EXPECT_NE(s.error().message().find("docker.io/library/c:latest"), std::string::npos)
        << s.error().message();
  }
}

TEST_F(ArchiveTest, LoadsDocker25StyleArchive) {
  // `docker save` since Docker 25: an OCI layout whose index.json names the
  // image in io.containerd.image.name (ref.name holds only the tag), plus a
  // legacy manifest.json. The OCI layout wins.
  TestImage img = PutImage(*src_, "d25");
  auto files = ReadTar(Save({{"", img.manifest}}, ArchiveFormat::kOciArchive));
  auto index = Index::Parse(files["index.json"]);
  ASSERT_TRUE(index.ok());
  index->manifests[0].annotations = {{"io.containerd.image.name", "docker.io/library/foo:1"},
                                     {"org.opencontainers.image.ref.name", "1"}};
  files["index.json"] = index->ToJson();
  files["manifest.json"] =
      R"([{"Config":"blobs/sha256/)" + img.config.hex() + R"(","RepoTags":["foo:1"],"Layers":[]}])";
  std::vector<TarEntry> entries;
  for (const auto& [path, data] : files) entries.push_back({path, data});
  auto loaded = Load(MakeTar(entries));
  ASSERT_TRUE(loaded.ok()) << loaded.error().message();
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ((*loaded)[0].name, "docker.io/library/foo:1");
  EXPECT_EQ((*loaded)[0].target.digest, img.manifest.digest);
  EXPECT_TRUE((*loaded)[0].target.annotations.empty());
}

TEST_F(ArchiveTest, LoadsCompressedArchives) {
  TestImage img = PutImage(*src_, "z");
  std::string tar =
      Save({{"docker.io/library/z:latest", img.manifest}}, ArchiveFormat::kOciArchive);
  std::vector<TarEntry> entries;
  for (const auto& [path, data] : ReadTar(tar)) entries.push_back({path, data});
  auto loaded = Load(MakeTar(entries, Compression::kGzip));
  ASSERT_TRUE(loaded.ok()) << loaded.error().message();
  EXPECT_EQ((*loaded)[0].target.digest, img.manifest.digest);
}

TEST_F(ArchiveTest, DockerArchiveWithSymlinkedLayers) {
  // The layout skopeo writes: <diffid>.tar plus legacy <id>/layer.tar symlinks.
  TestImage img = PutImage(*src_, "s", {Compression::kNone});
  auto files =
      ReadTar(Save({{"docker.io/library/s:latest", img.manifest}}, ArchiveFormat::kDockerArchive));
  std::string hex = img.diff_ids[0].hex();
  std::vector<TarEntry> entries = {
      {"manifest.json", R"([{"Config":")" + img.config.hex() +
                            R"(.json","RepoTags":["s:latest"],"Layers":["legacy/layer.tar"]}])"},
      {img.config.hex() + ".json", files[img.config.hex() + ".json"]},
      {hex + ".tar", img.layer_tars[0]},
      {"legacy/", "", 'd'},
      {"legacy/layer.tar", "../" + hex + ".tar", 'l'},
  };
  auto loaded = Load(MakeTar(entries));
  ASSERT_TRUE(loaded.ok()) << loaded.error().message();
  EXPECT_EQ((*loaded)[0].name, "docker.io/library/s:latest");
  EXPECT_TRUE(dst_->HasBlob(img.diff_ids[0]));
}

TEST_F(ArchiveTest, LargeLayersGoThroughIngest) {
  // A layer above the in-memory limit (4 MiB) is staged in an ingest file.
  std::string big(5 << 20, '\0');
  uint32_t x = 12345;
  for (char& c : big) {
    x = x * 1103515245 + 12345;
    c = static_cast<char>(x >> 24);
  }
  std::string tar = MakeTar({{"big", big}});
  Manifest m;
  m.media_type = std::string(kMediaTypeOciManifest);
  ImageConfig config;
  config.diff_ids = {Digest::Of(tar)};
  std::string cj = config.ToJson();
  m.config = {std::string(kMediaTypeOciConfig), *src_->WriteBlob(cj),
              static_cast<int64_t>(cj.size())};
  m.layers = {
      {std::string(kMediaTypeOciLayer), *src_->WriteBlob(tar), static_cast<int64_t>(tar.size())}};
  std::string mj = m.ToJson();
  Descriptor target{m.media_type, *src_->WriteBlob(mj), static_cast<int64_t>(mj.size())};

  for (ArchiveFormat f : {ArchiveFormat::kOciArchive, ArchiveFormat::kDockerArchive}) {
    SCOPED_TRACE(ArchiveFormatName(f));
    std::string archive = Save({{"docker.io/library/big:latest", target}}, f);
    // Corrupt a byte in the middle of the big entry: nothing lands in the store.
    std::string bad = archive;
    size_t pos = bad.find(big.substr(0, 64));
    ASSERT_NE(pos, std::string::npos);
    bad[pos + (3 << 20)] ^= 1;
    ExpectLoadFails(bad, f == ArchiveFormat::kOciArchive ? "is corrupt" : "hashes to");

    auto loaded = Load(archive);
    ASSERT_TRUE(loaded.ok()) << loaded.error().message();
    EXPECT_TRUE(dst_->HasBlob(Digest::Of(tar)));
    EXPECT_TRUE(dst_->VerifyBlob(Digest::Of(tar)).ok());
    EXPECT_TRUE(ListDir(dst_->root() + "/ingest")->empty());
    auto blobs = dst_->ListBlobs();
    ASSERT_TRUE(blobs.ok());
    for (const Digest& d : *blobs) ASSERT_TRUE(dst_->DeleteBlob(d).ok());
  }
}

TEST_F(ArchiveTest, RejectsPathEscapes) {
  TestImage img = PutImage(*src_, "e");
  auto files =
      ReadTar(Save({{"docker.io/library/e:latest", img.manifest}}, ArchiveFormat::kOciArchive));
  std::vector<TarEntry> base;
  for (const auto& [path, data] : files) base.push_back({path, data});

  auto with = [&](TarEntry extra) {
    std::vector<TarEntry> e = {extra};
    for (const TarEntry& b : base) e.push_back(b);
    return MakeTar(e);
  };
  ExpectLoadFails(with({"../evil", "x"}), "\"../evil\" escapes the archive root");
  ExpectLoadFails(with({"blobs/../../evil", "x"}), "escapes the archive root");
  ExpectLoadFails(with({"/etc/evil", "x"}), "\"/etc/evil\" is an absolute path");
  ExpectLoadFails(with({"link", "../../etc/passwd", 'l'}), "escapes the archive root");
  ExpectLoadFails(with({"link", "/etc/passwd", 'l'}), "points outside the archive");
  ExpectLoadFails(with({"hard", "../x", 'h'}), "escapes the archive root");
}

TEST_F(ArchiveTest, RejectsTruncatedArchive) {
  TestImage img = PutImage(*src_, "t");
  std::string tar =
      Save({{"docker.io/library/t:latest", img.manifest}}, ArchiveFormat::kOciArchive);
  // Cut inside the last blob's content.
  ExpectLoadFails(tar.substr(0, tar.size() - 1024 - 700), "truncated");
  // Cut at a header boundary: the archive just lacks blobs.
  ExpectLoadFails(tar.substr(0, 512 * 3), "");
  ExpectLoadFails("", "");
  ExpectLoadFails(std::string(3000, 'x'), "not a tar archive");
}

TEST_F(ArchiveTest, RejectsDigestMismatchAndMissingBlobs) {
  TestImage img = PutImage(*src_, "d");
  auto files =
      ReadTar(Save({{"docker.io/library/d:latest", img.manifest}}, ArchiveFormat::kOciArchive));
  auto m = Manifest::Parse(files["blobs/sha256/" + img.manifest.digest.hex()]);
  ASSERT_TRUE(m.ok());
  const std::string layer_path = "blobs/sha256/" + m->layers[0].digest.hex();

  auto rebuild = [&](const std::map<std::string, std::string>& f) {
    std::vector<TarEntry> e;
    for (const auto& [path, data] : f) e.push_back({path, data});
    return MakeTar(e);
  };
  auto corrupt = files;
  corrupt[layer_path][10] ^= 1;
  ExpectLoadFails(rebuild(corrupt), "archive blob " + layer_path + " is corrupt");

  auto missing = files;
  missing.erase(layer_path);
  ExpectLoadFails(rebuild(missing), "archive is missing blob " + m->layers[0].digest.str());

  auto bad_size = files;
  bad_size[layer_path] += "x";
  ExpectLoadFails(rebuild(bad_size), "bytes, its descriptor says");

  auto bad_name = files;
  auto index = Index::Parse(files["index.json"]);
  index->manifests[0].annotations["org.opencontainers.image.ref.name"] = "Bad/Name:x";
  bad_name["index.json"] = index->ToJson();
  ExpectLoadFails(rebuild(bad_name), "must be lowercase");

  auto no_index = files;
  no_index.erase("index.json");
  ExpectLoadFails(rebuild(no_index), "not an oci-archive or docker-archive");
}

TEST_F(ArchiveTest, RejectsBadDockerArchives) {
  TestImage img = PutImage(*src_, "x", {Compression::kNone});
  auto files =
      ReadTar(Save({{"docker.io/library/x:latest", img.manifest}}, ArchiveFormat::kDockerArchive));
  const std::string layer = img.diff_ids[0].hex() + "/layer.tar";
  const std::string config = img.config.hex() + ".json";
  auto rebuild = [&](const std::map<std::string, std::string>& f) {
    std::vector<TarEntry> e;
    for (const auto& [path, data] : f) e.push_back({path, data});
    return MakeTar(e);
  };
  auto corrupt = files;
  corrupt[layer][100] ^= 1;
  ExpectLoadFails(rebuild(corrupt), "layer " + layer + " hashes to");

  auto missing = files;
  missing.erase(layer);
  ExpectLoadFails(rebuild(missing), "archive is missing layer " + layer);

  auto bad_config = files;
  bad_config[config] += " ";
  ExpectLoadFails(rebuild(bad_config), "config " + config + " is corrupt");

  auto bad_json = files;
  bad_json["manifest.json"] = "{";
  ExpectLoadFails(rebuild(bad_json), "manifest.json: malformed JSON");

  auto escape = files;
  escape["manifest.json"] =
      R"([{"Config":"../)" + config + R"(","RepoTags":["x:latest"],"Layers":[]}])";
  ExpectLoadFails(rebuild(escape), "escapes the archive root");

  auto bad_tag = files;
  bad_tag["manifest.json"] =
      R"([{"Config":")" + config + R"(","RepoTags":["x:-bad"],"Layers":[")" + layer + R"("]}])";
  ExpectLoadFails(rebuild(bad_tag), "invalid tag \"-bad\"");
}

}  // namespace
}  // namespace bld::oci
