// Layer diff and apply throughput on a real tree. Driven by bench/snapshot_bench.sh.
//
//   snapshot_bench TREE [--compression gzip|zstd|none] [--level N] [--repeat N] [--threads N]
//                       [--apply-dir DIR]
//
// diff:  TREE -> tar -> compress -> sha256 of tar and of blob, in one pass; the blob is kept
//        in memory (not written), as `tar -c | gzip > /dev/null` would.
// apply: that blob -> decompress -> sha256 -> untar into a fresh directory (default TREE.apply;
//        each repetition uses a new one, removed after timing).
// Prints one line per phase: bytes of tar, seconds, MB/s of tar bytes (MB = 10^6 bytes).
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "base/file.h"
#include "snapshot/apply.h"
#include "snapshot/diff.h"

using namespace bld;
using namespace bld::snapshot;

namespace {

double CpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

double WallSeconds() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

[[noreturn]] void Die(const std::string& m) {
  fprintf(stderr, "snapshot_bench: %s\n", m.c_str());
  exit(1);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2)
    Die("usage: snapshot_bench TREE [--compression gzip|zstd|none] [--level N] [--repeat N] "
        "[--threads N]");
  std::string tree = argv[1];
  DiffOptions o;
  o.compress.threads = 1;
  int repeat = 3;
  std::string apply_dir = tree + ".apply";
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--compression") {
      if (v == "gzip")
        o.compression = oci::Compression::kGzip;
      else if (v == "zstd")
        o.compression = oci::Compression::kZstd;
      else if (v == "none")
        o.compression = oci::Compression::kNone;
      else
        Die("unknown compression " + v);
    } else if (k == "--level") {
      o.compress.level = atoi(v.c_str());
    } else if (k == "--repeat") {
      repeat = atoi(v.c_str());
    } else if (k == "--apply-dir") {
      apply_dir = v;
    } else if (k == "--threads") {
      o.compress.threads = atoi(v.c_str());
    } else {
      Die("unknown option " + k);
    }
  }
  std::string blob;
  DiffResult best;
  double best_wall = 1e30, best_cpu = 0;
  for (int r = 0; r < repeat; ++r) {
    blob.clear();
    double w0 = WallSeconds(), c0 = CpuSeconds();
    auto res = DiffTrees("", tree, o, [&](const void* p, size_t n) {
      blob.append(static_cast<const char*>(p), n);
      return Ok();
    });
    double w = WallSeconds() - w0, c = CpuSeconds() - c0;
    if (!res.ok()) Die(res.error().message());
    if (w < best_wall) {
      best_wall = w;
      best_cpu = c;
      best = *res;
    }
  }
  printf(
      "diff  %-5s tar=%lld blob=%lld entries=%lld wall=%.3fs cpu=%.3fs  %.0f MB/s wall, "
      "%.0f MB/s cpu (ratio %.3f)\n",
      std::string(CompressionName(o.compression)).c_str(),
      static_cast<long long>(best.uncompressed_size), static_cast<long long>(best.descriptor.size),
      static_cast<long long>(best.entries), best_wall, best_cpu,
      static_cast<double>(best.uncompressed_size) / best_wall / 1e6,
      static_cast<double>(best.uncompressed_size) / best_cpu / 1e6,
      static_cast<double>(best.descriptor.size) / static_cast<double>(best.uncompressed_size));

  double apply_best = 1e30, apply_cpu = 0;
  for (int r = 0; r < repeat; ++r) {
    std::string target = apply_dir + "/" + std::to_string(r);
    if (!RemoveAll(target).ok() || !MkdirAll(target).ok()) Die("cannot create " + target);
    size_t pos = 0;
    double w0 = WallSeconds(), c0 = CpuSeconds();
    ApplyOptions ao;
    ao.expected_diff_id = best.diff_id;
    ao.expected_digest = best.descriptor.digest;
    auto res = Apply(
        [&](void* p, size_t n) -> Result<size_t> {
          size_t k = std::min(n, blob.size() - pos);
          memcpy(p, blob.data() + pos, k);
          pos += k;
          return k;
        },
        target, ao);
    double w = WallSeconds() - w0, c = CpuSeconds() - c0;
    if (!res.ok()) Die(res.error().message());
    if (w < apply_best) {
      apply_best = w;
      apply_cpu = c;
    }
    (void)RemoveAll(target);
  }
  printf("apply %-5s tar=%lld wall=%.3fs cpu=%.3fs  %.0f MB/s wall, %.0f MB/s cpu\n",
         std::string(CompressionName(o.compression)).c_str(),
         static_cast<long long>(best.uncompressed_size), apply_best, apply_cpu,
         static_cast<double>(best.uncompressed_size) / apply_best / 1e6,
         static_cast<double>(best.uncompressed_size) / apply_cpu / 1e6);
  return 0;
}
