// Dockerfile-style config changes, as `bld import --change` takes them.
#pragma once

#include <string>

#include "base/error.h"
#include "oci/config.h"

namespace bld::cli {

// Applies one instruction (CMD, ENTRYPOINT, ENV, WORKDIR, USER, LABEL, EXPOSE,
// VOLUME, STOPSIGNAL) to `config`. Other instructions are InvalidArgument
// saying so.
Status ApplyChange(const std::string& instruction, oci::ContainerConfig* config);

}  // namespace bld::cli
