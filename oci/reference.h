// Image references, following the docker reference grammar
// (distribution/reference): [domain[:port]/]path[:tag][@digest].
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"
#include "oci/digest.h"

namespace bld::oci {

inline constexpr std::string_view kDefaultDomain = "docker.io";
inline constexpr std::string_view kDefaultTag = "latest";

class Reference final {
 public:
  // Parses and normalises: "busybox" -> docker.io/library/busybox:latest;
  // "localhost:5000/a/b:t@sha256:..." keeps both tag and digest. A reference
  // with only a digest gets no default tag. Upper-case repository, bad tag,
  // bad digest, empty input -> InvalidArgument naming the problem.
  static Result<Reference> Parse(std::string_view s);

  const std::string& domain() const { return domain_; }  // "docker.io", "localhost:5000"
  const std::string& path() const { return path_; }      // "library/busybox"
  const std::string& tag() const { return tag_; }        // may be empty if digest is set
  const std::optional<Digest>& digest() const { return digest_; }

  // "docker.io/library/busybox"
  std::string Repository() const { return domain_ + "/" + path_; }
  // Fully qualified: "docker.io/library/busybox:latest[@sha256:...]".
  std::string str() const;
  // The short form users type: "busybox:latest", "localhost:5000/a/b:t".
  std::string Familiar() const;
  // The host to contact for `domain` (docker.io -> registry-1.docker.io).
  std::string RegistryHost() const;

  Reference WithTag(std::string tag) const;
  Reference WithDigest(Digest d) const;
  bool operator==(const Reference&) const = default;

 private:
  std::string domain_;
  std::string path_;
  std::string tag_;
  std::optional<Digest> digest_;
};

}  // namespace bld::oci
