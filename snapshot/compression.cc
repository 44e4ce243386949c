#include "snapshot/compression.h"

#include <isa-l/igzip_lib.h>
#include <zstd.h>

#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace bld::snapshot {

namespace {

constexpr size_t kOutBuf = 256 * 1024;
constexpr size_t kInBuf = 256 * 1024;

class NoneCompressor final : public Compressor {
 public:
  explicit NoneCompressor(ByteSink sink) : sink_(std::move(sink)) {}
  Status Write(const void* data, size_t n) override { return n ? sink_(data, n) : Ok(); }
  Status Finish() override { return Ok(); }

 private:
  ByteSink sink_;
};

class GzipCompressor final : public Compressor {
 public:
  GzipCompressor(int level, ByteSink sink) : sink_(std::move(sink)), out_(kOutBuf) {
    isal_deflate_init(&s_);
    s_.gzip_flag = IGZIP_GZIP;
    s_.level = static_cast<uint32_t>(level);
    size_t lb = 0;
    switch (level) {
      case 1:
        lb = ISAL_DEF_LVL1_DEFAULT;
        break;
      case 2:
        lb = ISAL_DEF_LVL2_DEFAULT;
        break;
      case 3:
        lb = ISAL_DEF_LVL3_DEFAULT;
        break;
      default:
        lb = 0;
    }
    level_buf_.resize(lb);
    s_.level_buf = lb ? level_buf_.data() : nullptr;
    s_.level_buf_size = static_cast<uint32_t>(lb);
    s_.flush = NO_FLUSH;
    s_.end_of_stream = 0;
  }

  Status Write(const void* data, size_t n) override {
    s_.next_in = static_cast<uint8_t*>(const_cast<void*>(data));
    s_.avail_in = static_cast<uint32_t>(n);
    return Run();
  }

  Status Finish() override {
    s_.next_in = nullptr;
    s_.avail_in = 0;
    s_.end_of_stream = 1;
    return Run();
  }

 private:
  Status Run() {
    do {
      s_.next_out = out_.data();
      s_.avail_out = static_cast<uint32_t>(out_.size());
      int rc = isal_deflate(&s_);
      if (rc != COMP_OK) return InternalError("igzip deflate failed: code " + std::to_string(rc));
      size_t produced = out_.size() - s_.avail_out;
      if (produced) BLD_TRY(sink_(out_.data(), produced));
      if (s_.end_of_stream && s_.internal_state.state == ZSTATE_END) break;
    } while (s_.avail_in > 0 || s_.avail_out == 0 || s_.end_of_stream);
    return Ok();
  }

  ByteSink sink_;
  isal_zstream s_{};
  std::vector<uint8_t> level_buf_;
  std::vector<uint8_t> out_;
};

class ZstdCompressor final : public Compressor {
 public:
  ZstdCompressor(ZSTD_CCtx* ctx, ByteSink sink)
      : ctx_(ctx), sink_(std::move(sink)), out_(kOutBuf) {}
  ~ZstdCompressor() override { ZSTD_freeCCtx(ctx_); }

  Status Write(const void* data, size_t n) override {
    ZSTD_inBuffer in{data, n, 0};
    while (in.pos < in.size) BLD_TRY(Step(&in, ZSTD_e_continue));
    return Ok();
  }

  Status Finish() override {
    ZSTD_inBuffer in{nullptr, 0, 0};
    for (;;) {
      BLD_ASSIGN_OR_RETURN(size_t remaining, Step(&in, ZSTD_e_end));
      if (remaining == 0) return Ok();
    }
  }

 private:
  Result<size_t> Step(ZSTD_inBuffer* in, ZSTD_EndDirective end) {
    ZSTD_outBuffer o{out_.data(), out_.size(), 0};
    size_t r = ZSTD_compressStream2(ctx_, &o, in, end);
    if (ZSTD_isError(r))
      return InternalError(std::string("zstd compress: ") + ZSTD_getErrorName(r));
    if (o.pos) BLD_TRY(sink_(out_.data(), o.pos));
    return r;
  }

  ZSTD_CCtx* ctx_;
  ByteSink sink_;
  std::vector<uint8_t> out_;
};

class NoneDecompressor final : public Decompressor {
 public:
  explicit NoneDecompressor(ByteSource src) : src_(std::move(src)) {}
  Result<size_t> Read(void* buf, size_t n) override { return src_(buf, n); }

 private:
  ByteSource src_;
};

// Shared input buffering for the decompressors.
class InputBuffer {
 public:
  explicit InputBuffer(ByteSource src) : src_(std::move(src)), buf_(kInBuf) {}
  // Refills when empty. Returns false at end of input.
  Result<bool> Fill() {
    if (pos_ < len_) return true;
    if (eof_) return false;
    BLD_ASSIGN_OR_RETURN(size_t n, src_(buf_.data(), buf_.size()));
    pos_ = 0;
    len_ = n;
    if (n == 0) eof_ = true;
    return n > 0;
  }
  uint8_t* data() { return buf_.data() + pos_; }
  size_t avail() const { return len_ - pos_; }
  void Consume(size_t n) { pos_ += n; }

 private:
  ByteSource src_;
  std::vector<uint8_t> buf_;
  size_t pos_ = 0, len_ = 0;
  bool eof_ = false;
};

class GzipDecompressor final : public Decompressor {
 public:
  explicit GzipDecompressor(ByteSource src) : in_(std::move(src)) {
    isal_inflate_init(&st_);
    st_.crc_flag = ISAL_GZIP;
  }

  Result<size_t> Read(void* buf, size_t n) override {
    if (n == 0) return size_t{0};
    for (;;) {
      if (finished_member_) {
        // Another member may follow; anything else is an error.
        BLD_ASSIGN_OR_RETURN(bool more, in_.Fill());
        if (!more) return size_t{0};
        if (in_.avail() < 2) {
          // A member header never straddles like this in practice; read one more chunk.
          uint8_t first = in_.data()[0];
          if (first != 0x1f) return InvalidArgumentError("gzip stream: trailing garbage after end");
        } else if (in_.data()[0] != 0x1f || in_.data()[1] != 0x8b) {
          return InvalidArgumentError("gzip stream: trailing garbage after end");
        }
        isal_inflate_reset(&st_);
        st_.crc_flag = ISAL_GZIP;
        finished_member_ = false;
      }
      BLD_ASSIGN_OR_RETURN(bool have_input, in_.Fill());
      st_.next_in = in_.data();
      st_.avail_in = static_cast<uint32_t>(in_.avail());
      st_.next_out = static_cast<uint8_t*>(buf);
      st_.avail_out = static_cast<uint32_t>(n);
      int rc = isal_inflate(&st_);
      in_.Consume(in_.avail() - st_.avail_in);
      if (rc < 0)
        return InvalidArgumentError("gzip stream is corrupt (igzip code " + std::to_string(rc) +
                                    ")");
      size_t produced = n - st_.avail_out;
      if (st_.block_state == ISAL_BLOCK_FINISH) finished_member_ = true;
      if (produced > 0) return produced;
      if (!have_input && !finished_member_) {
        return InvalidArgumentError("gzip stream is truncated");
      }
    }
  }

 private:
  InputBuffer in_;
  inflate_state st_{};
  bool finished_member_ = false;
};

class ZstdDecompressor final : public Decompressor {
 public:
  ZstdDecompressor(ZSTD_DCtx* ctx, ByteSource src) : ctx_(ctx), in_(std::move(src)) {}
  ~ZstdDecompressor() override { ZSTD_freeDCtx(ctx_); }

  Result<size_t> Read(void* buf, size_t n) override {
    if (n == 0) return size_t{0};
    for (;;) {
      BLD_ASSIGN_OR_RETURN(bool have_input, in_.Fill());
      if (!have_input && frame_done_) return size_t{0};
      ZSTD_inBuffer in{in_.data(), in_.avail(), 0};
      ZSTD_outBuffer out{buf, n, 0};
      size_t r = ZSTD_decompressStream(ctx_, &out, &in);
      in_.Consume(in.pos);
      if (ZSTD_isError(r)) {
        return InvalidArgumentError(std::string("zstd stream is corrupt: ") + ZSTD_getErrorName(r));
      }
      frame_done_ = (r == 0);
      if (out.pos > 0) return out.pos;
      if (!have_input) return InvalidArgumentError("zstd stream is truncated");
    }
  }

 private:
  ZSTD_DCtx* ctx_;
  InputBuffer in_;
  bool frame_done_ = true;
};

}  // namespace

Result<std::unique_ptr<Compressor>> Compressor::Create(oci::Compression c, const CompressOptions& o,
                                                       ByteSink sink) {
  switch (c) {
    case oci::Compression::kNone:
      return std::unique_ptr<Compressor>(new NoneCompressor(std::move(sink)));
    case oci::Compression::kGzip: {
      int level = o.level < 0 ? 1 : o.level;
      if (level > 3) {
        return InvalidArgumentError("gzip level " + std::to_string(level) +
                                    " out of range (igzip supports 0..3)");
      }
      return std::unique_ptr<Compressor>(new GzipCompressor(level, std::move(sink)));
    }
    case oci::Compression::kZstd: {
      int level = o.level < 0 ? 3 : o.level;
      if (level < 1 || level > ZSTD_maxCLevel()) {
        return InvalidArgumentError("zstd level " + std::to_string(level) + " out of range (1.." +
                                    std::to_string(ZSTD_maxCLevel()) + ")");
      }
      ZSTD_CCtx* ctx = ZSTD_createCCtx();
      if (!ctx) return InternalError("zstd: cannot allocate a compression context");
      ZSTD_CCtx_setParameter(ctx, ZSTD_c_compressionLevel, level);
      ZSTD_CCtx_setParameter(ctx, ZSTD_c_checksumFlag, 1);
      int threads = o.threads;
      if (threads <= 0)
        threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
      if (threads > 1) {
        // Fails harmlessly (single-threaded) when libzstd was built without threads.
        ZSTD_CCtx_setParameter(ctx, ZSTD_c_nbWorkers, threads);
      }
      return std::unique_ptr<Compressor>(new ZstdCompressor(ctx, std::move(sink)));
    }
  }
  return InvalidArgumentError("unknown compression");
}

Result<std::unique_ptr<Decompressor>> Decompressor::Create(oci::Compression c, ByteSource source) {
  switch (c) {
    case oci::Compression::kNone:
      return std::unique_ptr<Decompressor>(new NoneDecompressor(std::move(source)));
    case oci::Compression::kGzip:
      return std::unique_ptr<Decompressor>(new GzipDecompressor(std::move(source)));
    case oci::Compression::kZstd: {
      ZSTD_DCtx* ctx = ZSTD_createDCtx();
      if (!ctx) return InternalError("zstd: cannot allocate a decompression context");
      return std::unique_ptr<Decompressor>(new ZstdDecompressor(ctx, std::move(source)));
    }
  }
  return InvalidArgumentError("unknown compression");
}

oci::Compression SniffCompression(std::string_view head) {
  if (head.size() >= 2 && static_cast<uint8_t>(head[0]) == 0x1f &&
      static_cast<uint8_t>(head[1]) == 0x8b) {
    return oci::Compression::kGzip;
  }
  if (head.size() >= 4 && static_cast<uint8_t>(head[0]) == 0x28 &&
      static_cast<uint8_t>(head[1]) == 0xb5 && static_cast<uint8_t>(head[2]) == 0x2f &&
      static_cast<uint8_t>(head[3]) == 0xfd) {
    return oci::Compression::kZstd;
  }
  return oci::Compression::kNone;
}

std::string_view CompressionName(oci::Compression c) {
  switch (c) {
    case oci::Compression::kNone:
      return "none";
    case oci::Compression::kGzip:
      return "gzip";
    case oci::Compression::kZstd:
      return "zstd";
  }
  return "unknown";
}

}  // namespace bld::snapshot
