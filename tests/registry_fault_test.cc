// Faults: connections dropped mid-transfer (a proxy in front of docker-registry),
// a registry serving a blob whose content does not match its digest, and a hostile
// registry of our own on 127.0.0.1 (trickling, slow, endless and lying answers).
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <thread>

#include "base/file.h"
#include "base/temp_dir.h"
#include "oci/manifest.h"
#include "oci/reference.h"
#include "oci/store.h"
#include "tests/registry_fixture.h"
#include "tests/testutil.h"

namespace bld::testing {
namespace {

class RegistryFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!PathExists(kRegistryBinary)) GTEST_SKIP() << "needs docker-registry";
    auto d = TempDir::Create();
    ASSERT_TRUE(d.ok());
    tmp_.emplace(std::move(*d));
    setenv("REGISTRY_AUTH_FILE", (tmp_->path() + "/auth.json").c_str(), 1);
    setenv("DOCKER_CONFIG", (tmp_->path() + "/docker").c_str(), 1);
    auto r = TestRegistry::Start();
    ASSERT_TRUE(r.ok()) << r.error().message();
    registry_ = std::move(*r);
    // An image with one 2 MB layer, pushed straight to the registry.
    auto s = oci::Store::Open(Root("src"));
    ASSERT_TRUE(s.ok());
    image_ = WriteRandomImage(**s, 1, 41, 2 << 20);
    ASSERT_TRUE(
        (*s)->SetTag(oci::Reference::Parse(registry_->host() + "/fault/app:v1")->str(), image_)
            .ok());
    auto push = RunBld(Root("src"), {"push", registry_->host() + "/fault/app:v1"});
    ASSERT_EQ(push.exit_code, 0) << push.err;
    layer_ = oci::Manifest::Parse(*(*s)->ReadBlob(image_.digest))->layers[0].digest;
  }
  std::string Root(const std::string& name) { return tmp_->path() + "/" + name; }
  // Nothing of the image in the store at `root`, and no partial ingest left.
  void ExpectNothingStored(const std::string& root) {
    auto s = oci::Store::Open(root);
    ASSERT_TRUE(s.ok());
    EXPECT_FALSE((*s)->HasBlob(layer_));
    EXPECT_FALSE((*s)->HasBlob(image_.digest));
    auto tags = (*s)->ListTags();
    ASSERT_TRUE(tags.ok());
    EXPECT_TRUE(tags->empty());
    auto ingest = ListDir(root + "/ingest");
    if (ingest.ok()) EXPECT_TRUE(ingest->empty());
  }

  std::optional<TempDir> tmp_;
  std::unique_ptr<TestRegistry> registry_;
  oci::Descriptor image_;
  oci::Digest layer_;
};

TEST_F(RegistryFaultTest, DroppedConnectionsAreRetriedThenFailClearly) {
  auto proxy = FaultProxy::Start(registry_->port(), 100000);
  ASSERT_TRUE(proxy.ok()) << proxy.error().message();
  std::string via = "127.0.0.1:" + std::to_string((*proxy)->port());
  auto pull = RunBld(Root("dst"), {"pull", via + "/fault/app:v1"});
  EXPECT_EQ(pull.exit_code, 1);
  EXPECT_NE(pull.err.find("blob " + layer_.str()), std::string::npos) << pull.err;
  EXPECT_NE(pull.err.find("after 5 tries"), std::string::npos) << pull.err;
  EXPECT_NE(pull.err.find("retrying"), std::string::npos) << pull.err;
  EXPECT_EQ((*proxy)->drops(), 5);
  ExpectNothingStored(Root("dst"));
}

TEST_F(RegistryFaultTest, TransientDropIsSurvived) {
  auto proxy = FaultProxy::Start(registry_->port(), 100000, 1);
  ASSERT_TRUE(proxy.ok()) << proxy.error().message();
  std::string via = "127.0.0.1:" + std::to_string((*proxy)->port());
  auto pull = RunBld(Root("dst"), {"pull", via + "/fault/app:v1"});
  ASSERT_EQ(pull.exit_code, 0) << pull.err;
  EXPECT_EQ((*proxy)->drops(), 1);
  auto s = oci::Store::Open(Root("dst"));
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE((*s)->VerifyBlob(layer_).ok());
}

TEST_F(RegistryFaultTest, BlobWithWrongDigestIsRefused) {
  // Corrupt the registry's copy of the layer, keeping its size.
  std::string path = registry_->BlobDataPath(layer_.hex());
  auto data = ReadFile(path);
  ASSERT_TRUE(data.ok()) << data.error().message();
  (*data)[1000] = static_cast<char>((*data)[1000] ^ 0x55);
  ASSERT_TRUE(WriteFileAtomic(path, *data).ok());

  auto pull = RunBld(Root("dst"), {"pull", registry_->host() + "/fault/app:v1"});
  EXPECT_EQ(pull.exit_code, 1);
  EXPECT_NE(pull.err.find("blob " + layer_.str() + " does not match its descriptor; not stored"),
            std::string::npos)
      << pull.err;
  ExpectNothingStored(Root("dst"));
}

TEST_F(RegistryFaultTest, ManifestNotMatchingDockerContentDigestIsRefused) {
  // Other bytes (still a valid manifest) behind the tag: the registry's
  // Docker-Content-Digest header still names the pushed manifest.
  std::string path = registry_->BlobDataPath(image_.digest.hex());
  auto data = ReadFile(path);
  ASSERT_TRUE(data.ok()) << data.error().message();
  ASSERT_TRUE(WriteFileAtomic(path, *data + "\n").ok());

  auto pull = RunBld(Root("dst"), {"pull", registry_->host() + "/fault/app:v1"});
  EXPECT_EQ(pull.exit_code, 1) << pull.err;
  EXPECT_NE(pull.err.find("Docker-Content-Digest says " + image_.digest.str()), std::string::npos)
      << pull.err;
  ExpectNothingStored(Root("dst"));
}

TEST_F(RegistryFaultTest, RegistryStoppedFailsClearly) {
  registry_->Stop();
  auto pull = RunBld(Root("dst"), {"pull", registry_->host() + "/fault/app:v1"});
  EXPECT_EQ(pull.exit_code, 1);
  EXPECT_NE(pull.err.find("cannot reach the registry"), std::string::npos) << pull.err;
  ExpectNothingStored(Root("dst"));
}

// A registry that answers /v2/ politely and then misbehaves as told. Every connection
// ends within 60 s and 256 MiB, whatever the client does.
class HostileRegistry final : public TcpServer {
 public:
  enum class Mode {
    kTrickle,        // a manifest at 5 bytes a second
    kSlow,           // a 3 MiB manifest at 40 KiB/s (above the low-speed limit)
    kEndless,        // a chunked manifest that never ends, as fast as it goes
    kEndlessError,   // a 500 whose chunked body never ends
    kRejectPush,     // every blob "exists"; the manifest PUT gets a 400 with garbage
  };
  static std::unique_ptr<HostileRegistry> Start(Mode mode) {
    auto r = std::unique_ptr<HostileRegistry>(new HostileRegistry(mode));
    EXPECT_TRUE(r->Listen().ok());
    return r;
  }
  ~HostileRegistry() override {
    done_ = true;
    Stop();
  }
  std::string host() const { return "127.0.0.1:" + std::to_string(port()); }
  int64_t manifest_bytes_sent() const { return sent_; }
  int manifest_requests() const { return manifest_requests_; }

 private:
  explicit HostileRegistry(Mode mode) : mode_(mode) {}

  bool Send(int fd, std::string_view data) {
    while (!data.empty()) {
      pollfd p{fd, POLLOUT, 0};
      if (::poll(&p, 1, 1000) <= 0 || done_ || Expired()) return false;
      ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }
  bool Expired() const { return std::chrono::steady_clock::now() > deadline_; }
  // Sends `body` of the manifest in pieces of `piece` bytes, `pause` apart.
  void SendSlowly(int fd, const std::string& body, size_t piece, std::chrono::milliseconds pause) {
    for (size_t at = 0; at < body.size(); at += piece) {
      if (!Send(fd, std::string_view(body).substr(at, piece))) return;
      sent_ += static_cast<int64_t>(std::min(piece, body.size() - at));
      std::this_thread::sleep_for(pause);
    }
  }
  void SendEndlessChunks(int fd) {
    std::string chunk(65536, ' ');
    std::string framed = "10000\r\n" + chunk + "\r\n";
    while (sent_ < (256 << 20)) {
      if (!Send(fd, framed)) return;
      sent_ += static_cast<int64_t>(chunk.size());
    }
  }

  void Serve(UniqueFd conn) override {
    deadline_ = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    for (int requests = 0; requests < 100; ++requests) {
      std::string req;
      while (req.find("\r\n\r\n") == std::string::npos && req.size() < 65536) {
        pollfd p{conn.get(), POLLIN, 0};
        if (::poll(&p, 1, 1000) <= 0) {
          if (done_ || Expired()) return;
          continue;
        }
        char buf[4096];
        ssize_t n = ::read(conn.get(), buf, sizeof buf);
        if (n <= 0) return;
        req.append(buf, static_cast<size_t>(n));
      }
      std::string line = req.substr(0, req.find("\r\n"));
      bool head = line.starts_with("HEAD ");
      if (line.find(" /v2/ ") != std::string::npos) {
        if (!Send(conn.get(), "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")) return;
        continue;
      }
      if (mode_ == Mode::kRejectPush) {
        std::string answer;
        if (line.find("/blobs/") != std::string::npos) {
          answer = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
        } else {
          // A PUT body follows the headers; this server does not care to read it.
          answer = "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n"
                   "Content-Length: 9\r\nConnection: close\r\n\r\n{\"errors\"";
        }
        if (!Send(conn.get(), answer)) return;
        if (answer.find("close") != std::string::npos) return;
        continue;
      }
      if (line.find("/manifests/") == std::string::npos) {
        Send(conn.get(), "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
        continue;
      }
      ++manifest_requests_;
      const std::string type = "Content-Type: application/vnd.oci.image.manifest.v1+json\r\n";
      switch (mode_) {
        case Mode::kTrickle:
        case Mode::kSlow: {
          std::string body(mode_ == Mode::kTrickle ? 1000 : 3 << 20, ' ');
          if (!Send(conn.get(), "HTTP/1.1 200 OK\r\n" + type + "Content-Length: " +
                                    std::to_string(body.size()) + "\r\n\r\n")) {
            return;
          }
          if (head) continue;
          if (mode_ == Mode::kTrickle) {
            SendSlowly(conn.get(), body, 1, std::chrono::milliseconds(200));
          } else {
            SendSlowly(conn.get(), body, 4096, std::chrono::milliseconds(100));
          }
          return;
        }
        case Mode::kEndless:
        case Mode::kEndlessError:
          if (!Send(conn.get(), std::string(mode_ == Mode::kEndless ? "HTTP/1.1 200 OK\r\n"
                                                                    : "HTTP/1.1 500 Oops\r\n") +
                                    type + "Transfer-Encoding: chunked\r\n\r\n")) {
            return;
          }
          if (head) {
            Send(conn.get(), "0\r\n\r\n");
            continue;
          }
          SendEndlessChunks(conn.get());
          return;
        case Mode::kRejectPush:
          return;
      }
    }
  }

  const Mode mode_;
  std::atomic<bool> done_{false};
  std::atomic<int64_t> sent_{0};
  std::atomic<int> manifest_requests_{0};
  // Per connection (one thread each); set at the start of Serve.
  static thread_local std::chrono::steady_clock::time_point deadline_;
};
thread_local std::chrono::steady_clock::time_point HostileRegistry::deadline_;

class HostileRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::Create();
    ASSERT_TRUE(d.ok());
    tmp_.emplace(std::move(*d));
    setenv("REGISTRY_AUTH_FILE", (tmp_->path() + "/auth.json").c_str(), 1);
    setenv("DOCKER_CONFIG", (tmp_->path() + "/docker").c_str(), 1);
  }
  void TearDown() override {
    unsetenv("BLD_REGISTRY_LOW_SPEED");
    unsetenv("BLD_REGISTRY_DEADLINE");
  }
  // `bld pull` (or any verb) under timeout(1): a hang fails the test instead of the suite.
  CommandResult Bld(const std::vector<std::string>& args, double* seconds = nullptr) {
    std::vector<std::string> argv = {"timeout", "120", BldBinary(), "--root",
                                     tmp_->path() + "/root"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto t0 = std::chrono::steady_clock::now();
    auto r = bld::testing::Run(argv);
    if (seconds != nullptr) {
      *seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
    return r;
  }
  std::optional<TempDir> tmp_;
};

TEST_F(HostileRegistryTest, TrickleIsAbortedByTheLowSpeedLimitThenRetried) {
  setenv("BLD_REGISTRY_LOW_SPEED", "1024:1", 1);
  auto reg = HostileRegistry::Start(HostileRegistry::Mode::kTrickle);
  double took = 0;
  auto pull = Bld({"pull", reg->host() + "/x/app:v1"}, &took);
  EXPECT_EQ(pull.exit_code, 1) << pull.err;
  EXPECT_NE(pull.err.find("manifest v1"), std::string::npos) << pull.err;
  EXPECT_NE(pull.err.find("Operation too slow"), std::string::npos) << pull.err;
  EXPECT_NE(pull.err.find("after 5 tries"), std::string::npos) << pull.err;
  EXPECT_EQ(reg->manifest_requests(), 5);
  // 5 tries of about 1 s plus the backoff between them; the body alone takes 200 s.
  EXPECT_LT(took, 60) << pull.err;
}

TEST_F(HostileRegistryTest, SteadySlowTransferEndsAtItsDeadline) {
  // Over the low-speed limit, but 3 MiB at 40 KiB/s is 75 s: the deadline (1 s plus the
  // 4 MiB manifest cap at 4 MiB/s, i.e. 2 s) ends each try.
  setenv("BLD_REGISTRY_DEADLINE", "1:4194304", 1);
  auto reg = HostileRegistry::Start(HostileRegistry::Mode::kSlow);
  double took = 0;
  auto pull = Bld({"pull", reg->host() + "/x/app:v1"}, &took);
  EXPECT_EQ(pull.exit_code, 1) << pull.err;
  EXPECT_NE(pull.err.find("timed out after"), std::string::npos) << pull.err;
  EXPECT_NE(pull.err.find("after 5 tries"), std::string::npos) << pull.err;
  EXPECT_LT(took, 60) << pull.err;
}

TEST_F(HostileRegistryTest, EndlessManifestIsCutAtTheCapWhileStreaming) {
  auto reg = HostileRegistry::Start(HostileRegistry::Mode::kEndless);
  auto pull = Bld({"pull", reg->host() + "/x/app:v1"});
  EXPECT_EQ(pull.exit_code, 1) << pull.err;
  EXPECT_NE(pull.err.find("manifest v1"), std::string::npos) << pull.err;
  EXPECT_NE(pull.err.find("exceeds the limit of 4194304 bytes"), std::string::npos) << pull.err;
  // Not retried (the answer will not shrink), and read no further than the cap (plus
  // what the sockets buffer): the body was never all in memory.
  EXPECT_EQ(reg->manifest_requests(), 1);
  EXPECT_LT(reg->manifest_bytes_sent(), 32 << 20);
}

TEST_F(HostileRegistryTest, EndlessErrorBodyIsBounded) {
  auto reg = HostileRegistry::Start(HostileRegistry::Mode::kEndlessError);
  auto pull = Bld({"pull", reg->host() + "/x/app:v1"});
  EXPECT_EQ(pull.exit_code, 1) << pull.err;
  EXPECT_NE(pull.err.find("exceeds the limit of"), std::string::npos) << pull.err;
  EXPECT_LT(reg->manifest_bytes_sent(), 64 << 20);
}

TEST_F(HostileRegistryTest, PushRejectedWithGarbageExitsOne) {
  ASSERT_TRUE(ImportBusybox(tmp_->path() + "/root", "busybox"));
  auto reg = HostileRegistry::Start(HostileRegistry::Mode::kRejectPush);
  auto push = Bld({"push", "busybox", reg->host() + "/x/app:v1"});
  EXPECT_EQ(push.exit_code, 1) << push.err;
  EXPECT_NE(push.err.find("manifests/v1"), std::string::npos) << push.err;
}

}  // namespace
}  // namespace bld::testing
