#include "base/random.h"

#include <sys/random.h>

#include <cerrno>
#include <vector>

namespace bld {

std::string RandomHex(size_t chars) {
  static const char kHex[] = "0123456789abcdef";
  std::vector<unsigned char> bytes((chars + 1) / 2);
  size_t got = 0;
  while (got < bytes.size()) {
    ssize_t n = ::getrandom(bytes.data() + got, bytes.size() - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;  // cannot happen for small requests on Linux >= 3.17; the rest stays zero
    }
    got += static_cast<size_t>(n);
  }
  std::string out;
  out.reserve(chars);
  for (size_t i = 0; i < chars; ++i) {
    unsigned char b = bytes[i / 2];
    out.push_back(kHex[i % 2 == 0 ? b >> 4 : b & 15]);
  }
  return out;
}

}  // namespace bld
