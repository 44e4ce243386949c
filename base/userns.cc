#include "base/userns.h"

#include <charconv>
#include <string>

#include "base/file.h"

namespace bld {

namespace {

struct SelfMaps {
  std::vector<IdMapLine> uid;
  std::vector<IdMapLine> gid;
  bool initial = false;
  bool setgroups_denied = false;
};

// The maps cannot change once the process runs in its namespace: read them once.
const SelfMaps& Self() {
  static const SelfMaps maps = [] {
    SelfMaps m;
    auto u = ReadFile("/proc/self/uid_map");
    auto g = ReadFile("/proc/self/gid_map");
    if (u.ok()) m.uid = ParseIdMap(*u);
    if (g.ok()) m.gid = ParseIdMap(*g);
    m.initial = m.uid.size() == 1 && m.uid[0].inside == 0 && m.uid[0].outside == 0 &&
                m.uid[0].count == 4294967295U;
    auto s = ReadFile("/proc/self/setgroups");
    m.setgroups_denied = s.ok() && s->rfind("deny", 0) == 0;
    return m;
  }();
  return maps;
}

bool ParseU32(std::string_view& s, uint32_t* out) {
  size_t i = s.find_first_not_of(" \t");
  if (i == std::string_view::npos) return false;
  s.remove_prefix(i);
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  if (ec != std::errc()) return false;
  s.remove_prefix(static_cast<size_t>(p - s.data()));
  return true;
}

}  // namespace

std::vector<IdMapLine> ParseIdMap(std::string_view text) {
  std::vector<IdMapLine> out;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    IdMapLine l;
    if (ParseU32(line, &l.inside) && ParseU32(line, &l.outside) && ParseU32(line, &l.count) &&
        line.find_first_not_of(" \t") == std::string_view::npos && l.count > 0) {
      out.push_back(l);
    }
  }
  return out;
}

bool IdMapContains(const std::vector<IdMapLine>& map, uint32_t id) {
  for (const IdMapLine& l : map) {
    if (id >= l.inside && id - l.inside < l.count) return true;
  }
  return false;
}

bool InInitialUserNamespace() { return Self().initial; }
bool UidMapped(uid_t uid) { return Self().initial || IdMapContains(Self().uid, uid); }
bool GidMapped(gid_t gid) { return Self().initial || IdMapContains(Self().gid, gid); }
uint64_t MappedUidCount() {
  uint64_t n = 0;
  for (const IdMapLine& l : Self().uid) n += l.count;
  return n;
}
bool SetgroupsDenied() { return Self().setgroups_denied; }

}  // namespace bld
