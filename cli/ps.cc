// bld ps [-a] [-q] [--no-trunc] [--filter K=V]... [--format table|json|TEMPLATE]: containers
// (running ones; -a all), newest first.
#include <fnmatch.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/containers.h"
#include "cli/template.h"

namespace bld::cli {

namespace {

struct PsFlags {
  bool all = false, quiet = false, no_trunc = false;
  std::vector<std::string> filters;
  std::string format;
};

std::string Join(const std::vector<std::string>& v, bool no_trunc) {
  std::string s;
  for (const auto& a : v) {
    if (!s.empty()) s += ' ';
    s += a;
  }
  if (no_trunc) return s;
  return s.size() > 30 ? s.substr(0, 27) + "..." : s;
}

// docker's status names: created, running, exited (bld adds failed and lost).
std::string StateName(const ContainerStatus& s) { return s.status; }

struct Filter {
  std::string key, value;
};

Result<std::vector<Filter>> ParseFilters(const std::vector<std::string>& specs) {
  std::vector<Filter> out;
  for (const auto& s : specs) {
    size_t eq = s.find('=');
    if (eq == std::string::npos) return InvalidArgumentError("--filter " + s + ": expected KEY=VALUE");
    Filter f{s.substr(0, eq), s.substr(eq + 1)};
    if (f.key == "label") {
      return InvalidArgumentError("--filter " + s +
                                  ": label filters are not supported yet (bld run has no --label)");
    }
    if (f.key != "status" && f.key != "name" && f.key != "ancestor" && f.key != "id") {
      return InvalidArgumentError("--filter " + s + ": unknown filter (status, name, ancestor, id)");
    }
    out.push_back(std::move(f));
  }
  return out;
}

bool AncestorMatches(const ContainerRecord& r, const std::string& v) {
  if (r.image == v) return true;
  std::string hex = v.starts_with("sha256:") ? v.substr(7) : v;
  std::string id = r.image_id.starts_with("sha256:") ? r.image_id.substr(7) : r.image_id;
  if (hex.size() >= 4 && id.starts_with(hex)) return true;
  // "busybox" matches a container run from "busybox:latest" and the other way round.
  auto strip = [](const std::string& s) {
    size_t colon = s.rfind(':'), slash = s.rfind('/');
    if (s.find('@') == std::string::npos && colon != std::string::npos &&
        (slash == std::string::npos || colon > slash)) {
      return s.substr(0, colon);
    }
    return s;
  };
  return strip(r.image) == strip(v) && (strip(v) == v || strip(r.image) == r.image);
}

int Ps(const GlobalOptions& g, const PsFlags& f) {
  auto filters = ParseFilters(f.filters);
  if (!filters.ok()) return ReportError(filters.error());
  std::string format = f.quiet ? "{{.ID}}" : f.format;
  if (format.empty() || format == "table") {
    format = "table {{.ID}}\\t{{.Image}}\\t{{.Command}}\\t{{.RunningFor}}\\t{{.Status}}\\t{{.Names}}";
  }
  auto tmpl = Template::Parse(format, {{"ID", "CONTAINER ID"}, {"RunningFor", "CREATED"},
                                       {"CreatedAt", "CREATED AT"}});
  if (!tmpl.ok()) return ReportError(tmpl.error());
  std::string root = StoreRoot(g);
  SweepAutoRemoved(root);
  auto list = ListContainers(root);
  if (!list.ok()) return ReportError(list.error());
  std::stable_sort(list->begin(), list->end(), [](const ContainerRecord& a,
                                                  const ContainerRecord& b) {
    return a.created > b.created;
  });
  // A status filter asks for stopped containers too, as in docker.
  bool all = f.all || std::any_of(filters->begin(), filters->end(),
                                  [](const Filter& x) { return x.key == "status"; });
  std::vector<nlohmann::ordered_json> rows;
  for (const auto& r : *list) {
    ContainerStatus s = GetStatus(r);
    if (!all && !s.running()) continue;
    bool keep = true;
    for (const auto& flt : *filters) {
      if (flt.key == "status") keep = keep && StateName(s) == flt.value;
      else if (flt.key == "name") {
        keep = keep && (r.name.find(flt.value) != std::string::npos ||
                        fnmatch(flt.value.c_str(), r.name.c_str(), 0) == 0);
      } else if (flt.key == "id") keep = keep && r.id.starts_with(flt.value);
      else keep = keep && AncestorMatches(r, flt.value);
    }
    if (!keep) continue;
    std::string status = s.status;
    if (s.status == "exited") status = "Exited (" + std::to_string(s.exit_code) + ")";
    else if (s.status == "running") status = "Up";
    else if (s.status == "failed") status = "Failed";
    else if (s.status == "lost") status = "Lost (bld was killed)";
    else if (s.status == "created") status = "Created";
    struct tm tm;
    time_t t = r.created;
    gmtime_r(&t, &tm);
    char created[32];
    std::strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &tm);
    nlohmann::ordered_json j;
    j["Command"] = "\"" + Join(r.command, f.no_trunc) + "\"";
    j["CreatedAt"] = created;
    j["ID"] = f.no_trunc ? r.id : r.id.substr(0, 12);
    j["Image"] = r.image;
    j["Names"] = r.name;
    j["RunningFor"] = HumanAgo(created);
    j["State"] = StateName(s);
    j["Status"] = status;
    rows.push_back(std::move(j));
  }
  auto text = tmpl->Render(rows);
  if (!text.ok()) return ReportError(text.error());
  std::fwrite(text->data(), 1, text->size(), stdout);
  return kExitOk;
}

}  // namespace

Command MakePsCommand() {
  return {"ps", "List containers", [](CLI::App* app, const GlobalOptions* g) {
            auto f = std::make_shared<PsFlags>();
            app->add_flag("-a,--all", f->all, "Show all containers, not only running ones");
            app->add_flag("-q,--quiet", f->quiet, "Only show container IDs");
            app->add_flag("--no-trunc", f->no_trunc, "Show full IDs and commands");
            app->add_option("-f,--filter", f->filters,
                            "status=running|exited|created|failed|lost, name=NAME, "
                            "ancestor=IMAGE, id=PREFIX (repeatable; all must match)");
            app->add_option("--format", f->format,
                            "table (default), json (one object per line) or a Go template "
                            "such as '{{.ID}}\\t{{.Names}}'");
            return [g, f]() { return Ps(*g, *f); };
          }};
}

}  // namespace bld::cli
