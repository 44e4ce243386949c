// Streaming layer compression: gzip (ISA-L igzip, block-parallel, gzip-compatible output;
// zlib-compatible decompression by ISA-L inflate), zstd (multi-threaded compression), none.
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
  // Compressing threads; 0 = one per online CPU, 1 = compress on the calling thread.
  // gzip: blocks of 1 MiB deflated in parallel and joined into one gzip member (as pigz);
  // the sink is then called from a thread of the compressor, one call at a time, in order.
  // zstd: libzstd's own workers.
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

// Runs a source on its own thread, up to `depth` chunks of `chunk` bytes ahead of the
// reader: decompression and hashing overlap with what the reader does with the bytes (layer
// apply: file writes). The source is called only from that thread, and never again once Next
// has returned the end of the stream or an error; the destructor stops the thread (after a
// source call in progress returns).
class ReadAhead {
 public:
  ReadAhead(ByteSource source, size_t chunk = 256 * 1024, int depth = 4);
  ~ReadAhead();
  ReadAhead(const ReadAhead&) = delete;
  ReadAhead& operator=(const ReadAhead&) = delete;

  // The next chunk, valid until the next call; empty at the end of the stream. The source's
  // error, once; after an error or the end, empty.
  Result<std::string_view> Next();

 private:
  struct State;
  std::unique_ptr<State> s_;
};

// Compression recognised from the first bytes of a blob (gzip 1f 8b, zstd 28 b5 2f fd),
// kNone otherwise.
oci::Compression SniffCompression(std::string_view head);
std::string_view CompressionName(oci::Compression c);

}  // namespace bld::snapshot
