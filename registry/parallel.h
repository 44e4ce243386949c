// Runs independent blob transfers on a few threads.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "base/error.h"

namespace bld::registry {

// Calls fn(i) for i in [0, n) on up to `workers` threads. After the first
// error no new items are started; returns that error once all threads stopped.
inline Status ParallelFor(size_t n, int workers, const std::function<Status(size_t)>& fn) {
  std::atomic<size_t> next{0};
  std::mutex mu;
  std::optional<Error> first;
  auto work = [&] {
    for (;;) {
      {
        std::lock_guard<std::mutex> l(mu);
        if (first) return;
      }
      size_t i = next++;
      if (i >= n) return;
      Status s = fn(i);
      if (!s.ok()) {
        std::lock_guard<std::mutex> l(mu);
        if (!first) first = s.error();
      }
    }
  };
  size_t threads = std::min<size_t>(n, static_cast<size_t>(std::max(1, workers)));
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  if (first) return *first;
  return Ok();
}

}  // namespace bld::registry
