// Random names for temporary files, snapshots and containers.
#pragma once

#include <cstddef>
#include <string>

namespace bld {

// `chars` lower-case hex characters from the kernel's random source (getrandom(2)):
// distinct in forked children too, unlike a seeded generator copied by fork().
std::string RandomHex(size_t chars);

}  // namespace bld
