#include "builder/cache_key.h"

namespace bld::builder {

namespace {
void AppendField(std::string* out, std::string_view s) {
  out->append(std::to_string(s.size()));
  out->push_back(':');
  out->append(s);
}
}  // namespace

CacheKey::CacheKey(std::string_view version) { Add("version", version); }

void CacheKey::Add(std::string_view name, std::string_view value) {
  AppendField(&encoding_, name);
  AppendField(&encoding_, value);
  inputs_[std::string(name)] = oci::Digest::Of(value).hex();
}

oci::Digest CacheKey::Digest() const { return oci::Digest::Of(encoding_); }

std::vector<std::string> DiffInputs(const std::map<std::string, std::string>& before,
                                    const std::map<std::string, std::string>& after) {
  std::vector<std::string> out;
  auto b = before.begin();
  auto a = after.begin();
  while (b != before.end() || a != after.end()) {
    if (a == after.end() || (b != before.end() && b->first < a->first)) {
      out.push_back("removed: " + b->first);
      ++b;
    } else if (b == before.end() || a->first < b->first) {
      out.push_back("added: " + a->first);
      ++a;
    } else {
      if (a->second != b->second) out.push_back("changed: " + a->first);
      ++a;
      ++b;
    }
  }
  return out;
}

}  // namespace bld::builder
