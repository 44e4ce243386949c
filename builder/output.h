// Where a built image goes besides the store: --output and --push.
#pragma once

#include <string>
#include <vector>

#include "base/error.h"
#include "builder/builder.h"
#include "builder/progress.h"
#include "oci/descriptor.h"
#include "oci/store.h"

namespace bld::builder {

// Writes every options.outputs entry and, with options.push, pushes each tag in
// `names` (fully-qualified store names).
//   oci / docker: an oci-archive / docker-archive file at dest ("-" = stdout)
//   local:        the image's root filesystem into the directory dest
//   registry:     push to name=REF
Status WriteOutputs(const oci::Store& store, const BuildOptions& options,
                    const oci::Descriptor& manifest, const std::vector<std::string>& names,
                    Progress& progress);

}  // namespace bld::builder
