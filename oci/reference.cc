#include "oci/reference.h"

#include <cctype>

namespace bld::oci {

namespace {

// Mirrors distribution/reference (regexp.go, normalize.go).
constexpr size_t kNameTotalLengthMax = 255;
constexpr size_t kMaxTagLength = 128;

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool IsAlnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }
bool IsWordChar(char c) { return IsAlnum(c) || c == '_'; }
bool HasUpper(std::string_view s) {
  for (char c : s) {
    if (c >= 'A' && c <= 'Z') return true;
  }
  return false;
}

// domain-component := /([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])/
bool IsDomainComponent(std::string_view s) {
  if (s.empty() || !IsAlnum(s.front()) || !IsAlnum(s.back())) return false;
  for (char c : s) {
    if (!IsAlnum(c) && c != '-') return false;
  }
  return true;
}

// host [':' port], host := domain-name | '[' IPv6 ']'
bool IsValidDomain(std::string_view d) {
  std::string_view host = d;
  if (!d.empty() && d.front() == '[') {
    size_t close = d.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    for (char c : d.substr(1, close - 1)) {
      if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':') return false;
    }
    host = {};
    d = d.substr(close + 1);
    if (!d.empty() && d.front() != ':') return false;
  } else {
    size_t colon = d.find(':');
    host = d.substr(0, colon);
    d = colon == std::string_view::npos ? std::string_view() : d.substr(colon);
    size_t start = 0;
    while (true) {
      size_t dot = host.find('.', start);
      if (!IsDomainComponent(host.substr(start, dot == host.npos ? host.npos : dot - start))) {
        return false;
      }
      if (dot == host.npos) break;
      start = dot + 1;
    }
  }
  if (d.empty()) return true;
  std::string_view port = d.substr(1);  // after ':'
  if (port.empty()) return false;
  for (char c : port) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// path-component := alpha-numeric [separator alpha-numeric]*
// separator := /[_.]|__|[-]*/
bool IsPathComponent(std::string_view s) {
  if (s.empty() || !IsLowerAlnum(s.front()) || !IsLowerAlnum(s.back())) return false;
  size_t i = 0;
  while (i < s.size()) {
    if (IsLowerAlnum(s[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < s.size() && !IsLowerAlnum(s[j])) ++j;
    std::string_view sep = s.substr(i, j - i);
    bool ok = sep == "." || sep == "_" || sep == "__" ||
              sep.find_first_not_of('-') == std::string_view::npos;
    if (!ok) return false;
    i = j;
  }
  return true;
}

// tag := /[\w][\w.-]{0,127}/
bool IsValidTag(std::string_view t) {
  if (t.empty() || t.size() > kMaxTagLength || !IsWordChar(t.front())) return false;
  for (char c : t) {
    if (!IsWordChar(c) && c != '.' && c != '-') return false;
  }
  return true;
}

bool IsHex64(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

Result<Reference> Reference::Parse(std::string_view s) {
  const std::string quoted = "\"" + std::string(s) + "\"";
  auto invalid = [&](std::string_view why) {
    return InvalidArgumentError("invalid reference " + quoted + ": " + std::string(why));
  };
  if (s.empty()) return InvalidArgumentError("invalid reference \"\": empty reference");
  if (IsHex64(s)) {
    return invalid("cannot specify 64-byte hexadecimal strings as a repository name");
  }
  Reference ref;
  std::string_view rest = s;
  // '@' cannot occur in a name or tag: the first one starts the digest.
  size_t at = rest.find('@');
  if (at != std::string_view::npos) {
    auto d = Digest::Parse(rest.substr(at + 1));
    if (!d.ok()) return invalid(d.error().message());
    ref.digest_ = *d;
    rest = rest.substr(0, at);
  }
  // A ':' after the last '/' starts the tag (a ':' before it is a port).
  size_t colon = rest.rfind(':');
  size_t slash = rest.rfind('/');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    std::string_view tag = rest.substr(colon + 1);
    if (!IsValidTag(tag)) {
      return invalid("invalid tag \"" + std::string(tag) +
                     "\" (a tag is up to 128 letters, digits, '_', '.' and '-', not starting "
                     "with '.' or '-')");
    }
    ref.tag_ = std::string(tag);
    rest = rest.substr(0, colon);
  }
  if (rest.empty()) return invalid("empty repository name");
  // splitDockerDomain: the first component is a domain if it contains '.' or
  // ':', is "localhost", or has upper-case letters (which a path cannot).
  size_t first_slash = rest.find('/');
  std::string_view remainder = rest;
  std::string domain(kDefaultDomain);
  if (first_slash != std::string_view::npos) {
    std::string_view first = rest.substr(0, first_slash);
    if (first.find_first_of(".:") != std::string_view::npos || first == "localhost" ||
        HasUpper(first)) {
      domain = std::string(first);
      remainder = rest.substr(first_slash + 1);
      if (!IsValidDomain(domain)) return invalid("invalid registry domain \"" + domain + "\"");
    }
  }
  if (domain == "index.docker.io") domain = std::string(kDefaultDomain);
  if (HasUpper(remainder)) {
    return invalid("repository name \"" + std::string(remainder) + "\" must be lowercase");
  }
  std::string path(remainder);
  if (domain == kDefaultDomain && path.find('/') == std::string::npos) path = "library/" + path;
  size_t start = 0;
  while (true) {
    size_t next = path.find('/', start);
    std::string_view component =
        std::string_view(path).substr(start, next == std::string::npos ? path.npos : next - start);
    if (!IsPathComponent(component)) {
      return invalid("invalid repository path component \"" + std::string(component) +
                     "\" (lower-case letters and digits, separated by '.', '_', '__' or '-')");
    }
    if (next == std::string::npos) break;
    start = next + 1;
  }
  if (domain.size() + 1 + path.size() > kNameTotalLengthMax) {
    return invalid("repository name must not be longer than 255 characters");
  }
  ref.domain_ = std::move(domain);
  ref.path_ = std::move(path);
  if (ref.tag_.empty() && !ref.digest_) ref.tag_ = std::string(kDefaultTag);
  return ref;
}

std::string Reference::str() const {
  std::string s = Repository();
  if (!tag_.empty()) s += ":" + tag_;
  if (digest_) s += "@" + digest_->str();
  return s;
}

std::string Reference::Familiar() const {
  std::string s;
  if (domain_ == kDefaultDomain) {
    constexpr std::string_view kLibrary = "library/";
    if (path_.compare(0, kLibrary.size(), kLibrary) == 0 &&
        path_.find('/', kLibrary.size()) == std::string::npos) {
      s = path_.substr(kLibrary.size());
    } else {
      s = path_;
    }
  } else {
    s = Repository();
  }
  if (!tag_.empty()) s += ":" + tag_;
  if (digest_) s += "@" + digest_->str();
  return s;
}

std::string Reference::RegistryHost() const {
  if (domain_ == kDefaultDomain) return "registry-1.docker.io";
  return domain_;
}

Reference Reference::WithTag(std::string tag) const {
  Reference r = *this;
  r.tag_ = std::move(tag);
  return r;
}

Reference Reference::WithDigest(Digest d) const {
  Reference r = *this;
  r.digest_ = std::move(d);
  return r;
}

}  // namespace bld::oci
