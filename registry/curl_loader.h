// libcurl is loaded on first use rather than linked (see curl_loader.cc): bld's start-up does not
// pay for the ~25 libraries behind it.
#pragma once

#include <string>

namespace bld::registry {

// Empty when libcurl is loaded (loading it if it was not yet); otherwise why it could not be.
std::string CurlLoadError();

}  // namespace bld::registry
