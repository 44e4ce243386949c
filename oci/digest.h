// Content digests: "sha256:<64 lower-case hex>".
#pragma once

#include <openssl/evp.h>

#include <compare>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "base/error.h"

namespace bld::oci {

class Digest final {
 public:
  Digest() = default;
  // Parses "sha256:<hex>". Other algorithms, upper-case or wrong-length hex are
  // InvalidArgument naming the problem.
  static Result<Digest> Parse(std::string_view s);
  // From 64 lower-case hex characters.
  static Result<Digest> FromHex(std::string_view hex);
  // sha256 of `data`.
  static Digest Of(std::string_view data);

  bool empty() const { return hex_.empty(); }
  std::string_view algorithm() const { return "sha256"; }
  const std::string& hex() const { return hex_; }
  // "sha256:<hex>"
  std::string str() const { return "sha256:" + hex_; }
  // First 12 hex characters, as `bld images` shows IDs.
  std::string Short() const { return hex_.substr(0, 12); }

  auto operator<=>(const Digest&) const = default;

 private:
  explicit Digest(std::string hex) : hex_(std::move(hex)) {}
  std::string hex_;
};

// Streaming sha256.
class Sha256 final {
 public:
  Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  Sha256(Sha256&&) noexcept = default;
  Sha256& operator=(Sha256&&) noexcept = default;
  void Update(const void* data, size_t n);
  void Update(std::string_view s) { Update(s.data(), s.size()); }
  // Returns the digest of everything written so far; the hasher may not be used after.
  Digest Finish();

 private:
  struct CtxFree {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
  };
  std::unique_ptr<EVP_MD_CTX, CtxFree> ctx_;
};

}  // namespace bld::oci

template <>
struct std::hash<bld::oci::Digest> {
  size_t operator()(const bld::oci::Digest& d) const { return std::hash<std::string>()(d.hex()); }
};
