#include "snapshot/compression.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <random>
#include <string>

#include "base/child_process.h"

namespace bld::snapshot {
namespace {

std::string Compress(oci::Compression c, const std::string& in, CompressOptions o = {}) {
  std::string out;
  auto comp = Compressor::Create(c, o, [&](const void* p, size_t n) {
    out.append(static_cast<const char*>(p), n);
    return Ok();
  });
  EXPECT_TRUE(comp.ok());
  // Uneven write sizes.
  size_t pos = 0, step = 1;
  while (pos < in.size()) {
    size_t n = std::min(step, in.size() - pos);
    EXPECT_TRUE((*comp)->Write(in.data() + pos, n).ok());
    pos += n;
    step = step * 3 + 7;
  }
  EXPECT_TRUE((*comp)->Finish().ok());
  return out;
}

Result<std::string> Decompress(oci::Compression c, const std::string& in, size_t chunk = 4096) {
  size_t pos = 0;
  BLD_ASSIGN_OR_RETURN(auto dec, Decompressor::Create(c, [&](void* p, size_t n) -> Result<size_t> {
                         size_t k = std::min({n, chunk, in.size() - pos});
                         memcpy(p, in.data() + pos, k);
                         pos += k;
                         return k;
                       }));
  std::string out;
  char buf[10000];
  for (;;) {
    BLD_ASSIGN_OR_RETURN(size_t n, dec->Read(buf, sizeof buf));
    if (n == 0) break;
    out.append(buf, n);
  }
  return out;
}

std::string Sample(size_t n) {
  std::mt19937 rng(42);
  std::string s;
  const char* words[] = {"layer ", "snapshot ", "overlay ", "whiteout ", "\n", "diff "};
  while (s.size() < n) {
    if (rng() % 5 == 0) {
      s.push_back(static_cast<char>(rng()));
    } else {
      s += words[rng() % 6];
    }
  }
  s.resize(n);
  return s;
}

class CompressionTest : public ::testing::TestWithParam<oci::Compression> {};

TEST_P(CompressionTest, RoundTrip) {
  for (size_t n : {size_t{0}, size_t{1}, size_t{1000}, size_t{3 << 20}}) {
    std::string in = Sample(n);
    std::string z = Compress(GetParam(), in);
    EXPECT_EQ(SniffCompression(z.substr(0, 8)), n == 0 && GetParam() == oci::Compression::kNone
                                                    ? oci::Compression::kNone
                                                    : GetParam());
    auto out = Decompress(GetParam(), z);
    ASSERT_TRUE(out.ok()) << out.error().message();
    EXPECT_EQ(*out, in) << n;
  }
}

INSTANTIATE_TEST_SUITE_P(All, CompressionTest,
                         ::testing::Values(oci::Compression::kNone, oci::Compression::kGzip,
                                           oci::Compression::kZstd),
                         [](const auto& info) { return std::string(CompressionName(info.param)); });

TEST(Compression, GzipIsReadableByGunzip) {
  std::string in = Sample(500000);
  std::string z = Compress(oci::Compression::kGzip, in);
  auto r = RunCommand({"gzip", "-dc"}, z);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 0) << r->err;
  EXPECT_EQ(r->out, in);
}

// zlib's own inflate of a gzip stream (all members); nullopt if zlib finds it invalid.
std::optional<std::string> ZlibGunzip(const std::string& z) {
  z_stream s{};
  if (inflateInit2(&s, 16 + MAX_WBITS) != Z_OK) return std::nullopt;
  std::string out;
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(z.data()));
  s.avail_in = static_cast<uInt>(z.size());
  char buf[65536];
  int rc;
  do {
    s.next_out = reinterpret_cast<Bytef*>(buf);
    s.avail_out = sizeof buf;
    rc = inflate(&s, Z_NO_FLUSH);
    out.append(buf, sizeof buf - s.avail_out);
  } while (rc == Z_OK);
  bool whole = rc == Z_STREAM_END && s.avail_in == 0;
  inflateEnd(&s);
  if (!whole) return std::nullopt;
  return out;
}

std::string Random(size_t n) {
  std::mt19937 rng(7);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

// Block-parallel gzip (threads > 1): one gzip member made of independently deflated blocks.
// Sizes around the 1 MiB block boundary, compressible and incompressible data.
TEST(Compression, ParallelGzipIsOneValidStream) {
  constexpr size_t kMiB = 1 << 20;
  for (int threads : {2, 4}) {
    for (size_t n : {size_t{0}, size_t{1}, kMiB - 1, kMiB, kMiB + 1, 5 * kMiB + 12345}) {
      for (bool random : {false, true}) {
        std::string in = random ? Random(n) : Sample(n);
        std::string z = Compress(oci::Compression::kGzip, in, {.threads = threads});
        SCOPED_TRACE("threads " + std::to_string(threads) + " size " + std::to_string(n) +
                     (random ? " random" : " text"));
        auto zl = ZlibGunzip(z);
        ASSERT_TRUE(zl.has_value()) << "zlib rejects the stream";
        EXPECT_TRUE(*zl == in);
        auto ours = Decompress(oci::Compression::kGzip, z, 100000);
        ASSERT_TRUE(ours.ok()) << ours.error().message();
        EXPECT_TRUE(*ours == in);
        auto t = RunCommand({"gzip", "-t"}, z);  // checks the CRC and length trailer too
        ASSERT_TRUE(t.ok());
        EXPECT_EQ(t->exit_code, 0) << t->err;
      }
    }
  }
}

TEST(Compression, ParallelGzipRatioCloseToSerial) {
  std::string in = Sample(6 << 20);
  size_t serial = Compress(oci::Compression::kGzip, in, {.threads = 1}).size();
  size_t parallel = Compress(oci::Compression::kGzip, in, {.threads = 2}).size();
  // Each block starts with the previous block's tail as its dictionary.
  EXPECT_LT(static_cast<double>(parallel), 1.02 * static_cast<double>(serial));
}

TEST(Compression, ParallelGzipStopsAtASinkError) {
  int calls = 0;
  auto comp = Compressor::Create(oci::Compression::kGzip, {.threads = 2},
                                 [&](const void*, size_t) -> Status {
                                   ++calls;
                                   return InternalError("disk full");
                                 });
  ASSERT_TRUE(comp.ok());
  std::string in = Random(8 << 20);
  Status s = Ok();
  for (size_t pos = 0; pos < in.size() && s.ok(); pos += 65536) {
    s = (*comp)->Write(in.data() + pos, 65536);
  }
  if (s.ok()) s = (*comp)->Finish();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message(), "disk full");
  EXPECT_EQ(calls, 1);  // nothing reaches the sink after its error
}

TEST(ReadAhead, DeliversTheStreamInOrderThenItsEnd) {
  std::string in = Sample(3 << 20);
  size_t pos = 0;
  ReadAhead ra(
      [&](void* p, size_t n) -> Result<size_t> {
        size_t k = std::min({n, size_t{10000}, in.size() - pos});
        memcpy(p, in.data() + pos, k);
        pos += k;
        return k;
      },
      65536, 3);
  std::string out;
  for (;;) {
    auto c = ra.Next();
    ASSERT_TRUE(c.ok());
    if (c->empty()) break;
    out.append(*c);
  }
  EXPECT_TRUE(out == in);
  auto again = ra.Next();
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->empty());
}

TEST(ReadAhead, PassesTheSourceErrorOnAfterTheDataBeforeIt) {
  int calls = 0;
  ReadAhead ra(
      [&](void* p, size_t n) -> Result<size_t> {
        if (++calls > 2) return InternalError("read layer blob: EIO");
        memset(p, 'x', n);
        return n;
      },
      1000, 2);
  size_t got = 0;
  Result<std::string_view> c = std::string_view();
  while ((c = ra.Next()).ok() && !c->empty()) got += c->size();
  EXPECT_EQ(got, 2000u);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().message(), "read layer blob: EIO");
}

TEST(ReadAhead, StopsWhenTheReaderGivesUpEarly) {
  // An endless source: the destructor must stop the thread, not wait for the end.
  auto ra = std::make_unique<ReadAhead>([](void* p, size_t n) -> Result<size_t> {
    memset(p, 'y', n);
    return n;
  });
  ASSERT_TRUE(ra->Next().ok());
  ra.reset();
}

TEST(Compression, ZstdIsReadableByZstdCli) {
  std::string in = Sample(500000);
  std::string z = Compress(oci::Compression::kZstd, in, {.level = 3, .threads = 2});
  auto r = RunCommand({"zstd", "-dc"}, z);
  if (!r.ok()) GTEST_SKIP() << "zstd CLI not installed";
  EXPECT_EQ(r->exit_code, 0) << r->err;
  EXPECT_EQ(r->out, in);
}

TEST(Compression, ReadsConcatenatedGzipMembers) {
  std::string a = Sample(70000), b = Sample(1234);
  std::string z = Compress(oci::Compression::kGzip, a) + Compress(oci::Compression::kGzip, b);
  auto out = Decompress(oci::Compression::kGzip, z, 1000);
  ASSERT_TRUE(out.ok()) << out.error().message();
  EXPECT_EQ(*out, a + b);
}

TEST(Compression, RejectsTruncatedAndCorruptStreams) {
  std::string in = Sample(200000);
  for (auto c : {oci::Compression::kGzip, oci::Compression::kZstd}) {
    std::string z = Compress(c, in);
    auto t = Decompress(c, z.substr(0, z.size() / 2));
    EXPECT_FALSE(t.ok()) << CompressionName(c);
    std::string bad = z;
    for (size_t i = 20; i < 60; ++i) bad[i] ^= 0x5a;
    auto b = Decompress(c, bad);
    EXPECT_FALSE(b.ok() && *b == in) << CompressionName(c);
    auto g = Decompress(c, z + "garbage");
    EXPECT_FALSE(g.ok()) << CompressionName(c);
  }
}

TEST(Compression, RejectsBadLevels) {
  auto sink = [](const void*, size_t) { return Ok(); };
  EXPECT_FALSE(Compressor::Create(oci::Compression::kGzip, {.level = 9}, sink).ok());
  EXPECT_FALSE(Compressor::Create(oci::Compression::kZstd, {.level = 99}, sink).ok());
}

}  // namespace
}  // namespace bld::snapshot
