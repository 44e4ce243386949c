// Cache keys: sha256 of a versioned canonical encoding of a step.
//
// A key is built from named inputs in a fixed order ("version", "platform",
// "parent", the step's semantic fields, the content digests of what it reads).
// Each input is encoded as <name-length>:<name><value-length>:<value>, so no
// two different input lists encode alike. The same named inputs, each reduced
// to its own sha256, are what `--explain` compares between builds to say which
// one changed. mtimes never enter a key. Pure: no I/O.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "oci/digest.h"

namespace bld::builder {

class CacheKey final {
 public:
  // `version` names the encoding ("bld.run.v1"); it is the first input.
  explicit CacheKey(std::string_view version);

  // Adds an input. Names must be unique within a key (a repeated name is a
  // programming error and aborts in debug builds; the later value is kept for
  // --explain and both enter the key).
  void Add(std::string_view name, std::string_view value);

  // The key: sha256 of the encoding of every input in the order added.
  oci::Digest Digest() const;
  // name -> sha256 hex of the value, for --explain.
  const std::map<std::string, std::string>& InputDigests() const { return inputs_; }

 private:
  std::string encoding_;
  std::map<std::string, std::string> inputs_;
};

// Which inputs differ between two InputDigests maps: "changed: X", "added: Y",
// "removed: Z" entries, in name order.
std::vector<std::string> DiffInputs(const std::map<std::string, std::string>& before,
                                    const std::map<std::string, std::string>& after);

}  // namespace bld::builder
