#include "snapshot/compression.h"

#include <isa-l/crc.h>
#include <isa-l/igzip_lib.h>
#include <zlib.h>
#include <zstd.h>

#include <condition_variable>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
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

size_t IgzipLevelBufSize(int level) {
  switch (level) {
    case 1:
      return ISAL_DEF_LVL1_DEFAULT;
    case 2:
      return ISAL_DEF_LVL2_DEFAULT;
    case 3:
      return ISAL_DEF_LVL3_DEFAULT;
    default:
      return 0;
  }
}

class GzipCompressor final : public Compressor {
 public:
  GzipCompressor(int level, ByteSink sink) : sink_(std::move(sink)), out_(kOutBuf) {
    isal_deflate_init(&s_);
    s_.gzip_flag = IGZIP_GZIP;
    s_.level = static_cast<uint32_t>(level);
    size_t lb = IgzipLevelBufSize(level);
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

// gzip on all cores, as pigz does: the input is cut into blocks that worker threads deflate
// independently (each primed with the previous block's last 32 KiB as its dictionary, so
// the ratio stays close to one stream's), each ended by a sync flush so that they join,
// byte-aligned, into one deflate stream inside one gzip member; the last block carries the
// final bit. CRCs are computed per block and combined. An emitter thread hands the blocks to
// the sink in order, so the caller's thread only cuts blocks; the sink runs on the emitter
// thread, one call at a time. A sink error is returned by the next Write or by Finish.
class ParallelGzipCompressor final : public Compressor {
 public:
  static constexpr size_t kBlock = 1 << 20;
  static constexpr size_t kDict = 32 * 1024;

  ParallelGzipCompressor(int level, int threads, ByteSink sink)
      : level_(level), sink_(std::move(sink)), max_in_flight_(2 * threads + 2) {
    current_ = std::make_shared<Job>();
    for (int i = 0; i < threads; ++i) workers_.emplace_back([this] { Work(); });
    emitter_ = std::thread([this] { Emit(); });
  }

  ~ParallelGzipCompressor() override { Stop(); }

  Status Write(const void* data, size_t n) override {
    const char* p = static_cast<const char*>(data);
    while (n > 0) {
      size_t room = current_->dict + kBlock - current_->in.size();
      size_t k = std::min(n, room);
      current_->in.insert(current_->in.end(), p, p + k);
      p += k;
      n -= k;
      if (current_->in.size() == current_->dict + kBlock) BLD_TRY(Submit(false));
    }
    return SinkStatus();
  }

  Status Finish() override {
    BLD_TRY(Submit(true));
    {
      std::unique_lock l(mu_);
      cv_.wait(l, [&] { return jobs_.empty() || error_.has_value(); });
      if (error_) return *error_;
    }
    Stop();
    uint8_t trailer[8];
    for (int i = 0; i < 4; ++i) trailer[i] = static_cast<uint8_t>(crc_ >> (8 * i));
    for (int i = 0; i < 4; ++i) trailer[4 + i] = static_cast<uint8_t>(isize_ >> (8 * i));
    return sink_(trailer, sizeof trailer);
  }

 private:
  struct Job {
    std::vector<uint8_t> in;  // dictionary (the previous block's tail), then the block
    size_t dict = 0;
    bool last = false;
    bool started = false, done = false;
    std::unique_ptr<uint8_t[]> out;  // not zero-filled: it is written before it is read
    size_t out_cap = 0, out_len = 0;
    uint32_t crc = 0;
    std::optional<Error> error;
  };

  Status SinkStatus() {
    std::lock_guard l(mu_);
    if (error_) return *error_;
    return Ok();
  }

  Status Submit(bool last) {
    std::shared_ptr<Job> job = std::move(current_);
    job->last = last;
    {
      // Jobs are recycled: no allocation and page faults per block.
      std::lock_guard l(mu_);
      if (spare_.empty()) {
        current_ = std::make_shared<Job>();
      } else {
        current_ = std::move(spare_.back());
        spare_.pop_back();
      }
    }
    if (!last) {
      size_t d = std::min(kDict, job->in.size() - job->dict);
      current_->in.assign(job->in.end() - static_cast<ptrdiff_t>(d), job->in.end());
      current_->dict = d;
    }
    std::unique_lock l(mu_);
    cv_.wait(l, [&] { return jobs_.size() < max_in_flight_ || error_.has_value(); });
    if (error_) return *error_;
    jobs_.push_back(std::move(job));
    cv_.notify_all();
    return Ok();
  }

  void Work() {
    isal_zstream s{};
    std::vector<uint8_t> level_buf(IgzipLevelBufSize(level_));
    for (;;) {
      std::shared_ptr<Job> job;
      {
        std::unique_lock l(mu_);
        cv_.wait(l, [&] { return stop_ || NextJob() != nullptr; });
        if (stop_) return;
        job = NextJob();
        job->started = true;
      }
      Compress(s, level_buf, *job);
      std::lock_guard l(mu_);
      job->done = true;
      cv_.notify_all();
    }
  }

  // The oldest job no worker has taken (under mu_).
  std::shared_ptr<Job> NextJob() {
    for (auto& j : jobs_) {
      if (!j->started) return j;
    }
    return nullptr;
  }

  void Compress(isal_zstream& s, std::vector<uint8_t>& level_buf, Job& job) {
    uint8_t* data = job.in.data() + job.dict;
    size_t n = job.in.size() - job.dict;
    job.crc = crc32_gzip_refl(0, data, n);
    isal_deflate_init(&s);
    s.gzip_flag = IGZIP_DEFLATE;  // raw deflate: the header and trailer are ours
    s.level = static_cast<uint32_t>(level_);
    s.level_buf = level_buf.empty() ? nullptr : level_buf.data();
    s.level_buf_size = static_cast<uint32_t>(level_buf.size());
    if (job.dict > 0 &&
        isal_deflate_set_dict(&s, job.in.data(), static_cast<uint32_t>(job.dict)) != COMP_OK) {
      job.error = InternalError("igzip: cannot set the block dictionary");
      return;
    }
    s.next_in = data;
    s.avail_in = static_cast<uint32_t>(n);
    s.flush = job.last ? NO_FLUSH : SYNC_FLUSH;
    s.end_of_stream = job.last ? 1 : 0;
    size_t produced = 0;
    if (job.out_cap < n + n / 8 + 1024) Grow(job, n + n / 8 + 1024, 0);
    for (;;) {
      s.next_out = job.out.get() + produced;
      s.avail_out = static_cast<uint32_t>(job.out_cap - produced);
      int rc = isal_deflate(&s);
      if (rc != COMP_OK) {
        job.error = InternalError("igzip deflate failed: code " + std::to_string(rc));
        return;
      }
      produced = job.out_cap - s.avail_out;
      bool finished =
          job.last ? s.internal_state.state == ZSTATE_END : s.avail_in == 0 && s.avail_out > 0;
      if (finished) break;
      Grow(job, job.out_cap * 2, produced);
    }
    job.out_len = produced;
  }

  static void Grow(Job& job, size_t cap, size_t keep) {
    std::unique_ptr<uint8_t[]> out(new uint8_t[cap]);
    if (keep) memcpy(out.get(), job.out.get(), keep);
    job.out = std::move(out);
    job.out_cap = cap;
  }

  void Emit() {
    for (;;) {
      std::shared_ptr<Job> job;
      {
        std::unique_lock l(mu_);
        cv_.wait(l, [&] { return stop_ || (!jobs_.empty() && jobs_.front()->done); });
        if (stop_) return;
        job = jobs_.front();
        if (error_) {  // nothing more reaches the sink after an error
          jobs_.pop_front();
          cv_.notify_all();
          continue;
        }
      }
      Status st = job->error ? Status(*job->error) : Ok();
      if (st.ok() && !header_written_) {
        static constexpr uint8_t kHeader[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff};
        st = sink_(kHeader, sizeof kHeader);
        header_written_ = true;
      }
      if (st.ok() && job->out_len) st = sink_(job->out.get(), job->out_len);
      size_t n = job->in.size() - job->dict;
      crc_ = static_cast<uint32_t>(crc32_combine(crc_, job->crc, static_cast<z_off_t>(n)));
      isize_ += static_cast<uint32_t>(n);
      std::lock_guard l(mu_);
      jobs_.pop_front();
      if (!st.ok() && !error_) error_ = st.error();
      job->in.clear();
      job->dict = job->out_len = 0;
      job->started = job->done = false;
      job->error.reset();
      spare_.push_back(std::move(job));
      cv_.notify_all();
    }
  }

  void Stop() {
    {
      std::lock_guard l(mu_);
      if (stopped_) return;
      stop_ = stopped_ = true;
      cv_.notify_all();
    }
    for (auto& t : workers_) t.join();
    emitter_.join();
  }

  const int level_;
  ByteSink sink_;
  const size_t max_in_flight_;
  std::shared_ptr<Job> current_;  // the block being filled (caller's thread only)
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Job>> jobs_;  // submitted, in stream order
  std::vector<std::shared_ptr<Job>> spare_;
  std::optional<Error> error_;
  bool stop_ = false, stopped_ = false;
  // Emitter thread only.
  bool header_written_ = false;
  uint32_t crc_ = 0;
  uint32_t isize_ = 0;
  std::vector<std::thread> workers_;
  std::thread emitter_;
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

int ThreadCount(const CompressOptions& o) {
  if (o.threads > 0) return o.threads;
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

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
      int threads = ThreadCount(o);
      if (threads == 1) {
        return std::unique_ptr<Compressor>(new GzipCompressor(level, std::move(sink)));
      }
      return std::unique_ptr<Compressor>(
          new ParallelGzipCompressor(level, threads, std::move(sink)));
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
      int threads = ThreadCount(o);
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

struct ReadAhead::State {
  ByteSource source;
  size_t chunk;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::vector<char>> full, free;  // chunks read / chunks to fill
  std::vector<char> current;                 // the reader's chunk
  std::optional<Error> error;
  bool eof = false, stop = false, finished = false;
  std::thread thread;

  void Produce() {
    for (;;) {
      std::vector<char> buf;
      {
        std::unique_lock l(mu);
        cv.wait(l, [&] { return stop || !free.empty(); });
        if (stop) return;
        buf = std::move(free.front());
        free.pop_front();
      }
      buf.resize(chunk);
      auto n = source(buf.data(), buf.size());
      std::lock_guard l(mu);
      if (!n.ok()) {
        error = n.error();
        cv.notify_all();
        return;
      }
      if (*n == 0) {
        eof = true;
        cv.notify_all();
        return;
      }
      buf.resize(*n);
      full.push_back(std::move(buf));
      cv.notify_all();
    }
  }
};

ReadAhead::ReadAhead(ByteSource source, size_t chunk, int depth) : s_(new State) {
  s_->source = std::move(source);
  s_->chunk = chunk;
  for (int i = 0; i < depth; ++i) s_->free.emplace_back();
  State* st = s_.get();
  s_->thread = std::thread([st] { st->Produce(); });
}

ReadAhead::~ReadAhead() {
  {
    std::lock_guard l(s_->mu);
    s_->stop = true;
    s_->cv.notify_all();
  }
  s_->thread.join();
}

Result<std::string_view> ReadAhead::Next() {
  std::unique_lock l(s_->mu);
  if (!s_->current.empty()) s_->free.push_back(std::move(s_->current));
  s_->current.clear();
  s_->cv.notify_all();
  if (s_->finished) return std::string_view();
  s_->cv.wait(l, [&] { return !s_->full.empty() || s_->eof || s_->error.has_value(); });
  if (!s_->full.empty()) {
    s_->current = std::move(s_->full.front());
    s_->full.pop_front();
    return std::string_view(s_->current.data(), s_->current.size());
  }
  s_->finished = true;
  if (s_->error) return *std::exchange(s_->error, std::nullopt);
  return std::string_view();
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
