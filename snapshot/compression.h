// Streaming layer compression: gzip (ISA-L igzip, gzip-compatible output; zlib-compatible
// decompression by ISA-L inflate), zstd (multi-threaded compression) and none.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>

#include "base/error.h"
#include "oci/media_types.h"

namespace bld::snapshot {

// Receives output bytes; an error stops the stream.
using ByteSink = std::function<Status(const void* data, size_t n)>;
// Fills `buf` with up to `n` bytes; returns 0 at end of stream.
using ByteSource = std::function<Result<size_t>(void* buf, size_t n)>;

struct CompressOptions {
  // gzip: ISA-L level 0..3 (1 is igzip's default: fast, ratio close to gzip -3..-6).
  // zstd: 1..19.
  int level = -1;  // -1: the format's default (gzip 1, zstd 3)
  // zstd worker threads; 0 = one per online CPU, 1 = compress on the calling thread.
  int threads = 0;
};

// A compressing stream writing into a sink.
class Compressor {
 public:
  virtual ~Compressor() = default;
  // InvalidArgument for an out-of-range level.
  static Result<std::unique_ptr<Compressor>> Create(oci::Compression c, const CompressOptions& o,
                                                    ByteSink sink);
  virtual Status Write(const void* data, size_t n) = 0;
  // Flushes and writes the trailer. The compressor may not be used after.
  virtual Status Finish() = 0;
};

// A decompressing stream reading from a source. Trailing garbage after a gzip member or a
// zstd frame that is not another member/frame is an error; concatenated members are read.
class Decompressor {
 public:
  virtual ~Decompressor() = default;
  static Result<std::unique_ptr<Decompressor>> Create(oci::Compression c, ByteSource source);
  // Returns 0 at the end of the (uncompressed) stream.
  virtual Result<size_t> Read(void* buf, size_t n) = 0;
};

// Compression recognised from the first bytes of a blob (gzip 1f 8b, zstd 28 b5 2f fd),
// kNone otherwise.
oci::Compression SniffCompression(std::string_view head);
std::string_view CompressionName(oci::Compression c);

}  // namespace bld::snapshot
