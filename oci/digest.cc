#include "oci/digest.h"

namespace bld::oci {

namespace {

bool IsLowerHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string ToHex(const unsigned char* p, size_t n) {
  static const char kHex[] = "0123456789abcdef";
  std::string out(n * 2, '\0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kHex[p[i] >> 4];
    out[2 * i + 1] = kHex[p[i] & 15];
  }
  return out;
}

}  // namespace

Result<Digest> Digest::FromHex(std::string_view hex) {
  if (hex.size() != 64) {
    return InvalidArgumentError("invalid digest \"sha256:" + std::string(hex) +
                                "\": sha256 needs 64 hex characters, got " +
                                std::to_string(hex.size()));
  }
  if (!IsLowerHex(hex)) {
    return InvalidArgumentError("invalid digest \"sha256:" + std::string(hex) +
                                "\": only lower-case hex characters are allowed");
  }
  return Digest(std::string(hex));
}

Result<Digest> Digest::Parse(std::string_view s) {
  size_t colon = s.find(':');
  if (colon == std::string_view::npos) {
    return InvalidArgumentError("invalid digest \"" + std::string(s) +
                                "\": expected \"sha256:<hex>\"");
  }
  std::string_view alg = s.substr(0, colon);
  if (alg != "sha256") {
    return InvalidArgumentError("invalid digest \"" + std::string(s) + "\": algorithm \"" +
                                std::string(alg) + "\" is not supported (only sha256)");
  }
  return FromHex(s.substr(colon + 1));
}

Digest Digest::Of(std::string_view data) {
  Sha256 h;
  h.Update(data);
  return h.Finish();
}

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr); }

void Sha256::Update(const void* data, size_t n) { EVP_DigestUpdate(ctx_.get(), data, n); }

Digest Sha256::Finish() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx_.get(), md, &len);
  return *Digest::FromHex(ToHex(md, len));
}

}  // namespace bld::oci
