// bld images [-q] [--no-trunc] [--filter K=V]... [--format table|json|TEMPLATE]: the images
// in the store, newest first.
#include <fnmatch.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/template.h"
#include "oci/image.h"
#include "oci/reference.h"

namespace bld::cli {

namespace {

struct ImagesFlags {
  bool quiet = false, no_trunc = false;
  std::vector<std::string> filters;
  std::string format;
};

struct Row {
  std::string repository = "<none>", tag = "<none>", id, digest, created;
  std::map<std::string, std::string> labels;
  int64_t size = 0;
  bool dangling() const { return repository == "<none>"; }
};

std::string ShortId(const std::string& id, bool no_trunc) {
  if (id.empty()) return "<unreadable>";
  return no_trunc ? id : id.substr(7, 12);
}

// docker's filters: dangling=true|false, label=K[=V], reference=PATTERN, before=IMG, since=IMG.
struct Filter {
  std::string key, value;
};

Result<std::vector<Filter>> ParseFilters(const std::vector<std::string>& specs) {
  std::vector<Filter> out;
  for (const auto& s : specs) {
    size_t eq = s.find('=');
    if (eq == std::string::npos) {
      return InvalidArgumentError("--filter " + s + ": expected KEY=VALUE");
    }
    Filter f{s.substr(0, eq), s.substr(eq + 1)};
    if (f.key == "dangling" && f.value != "true" && f.value != "false") {
      return InvalidArgumentError("--filter " + s + ": dangling takes true or false");
    }
    if (f.key != "dangling" && f.key != "label" && f.key != "reference" && f.key != "before" &&
        f.key != "since") {
      return InvalidArgumentError("--filter " + s +
                                  ": unknown filter (dangling, label, reference, before, since)");
    }
    out.push_back(std::move(f));
  }
  return out;
}

bool ReferenceMatches(const Row& r, const std::string& pattern) {
  if (r.dangling()) return false;
  // As docker: the pattern matches the name as the user wrote it ("busybox", "busybox:1")
  // or the full one ("docker.io/library/busybox").
  std::string full = r.repository + ":" + r.tag;
  std::vector<std::string> names = {r.repository, full};
  for (const char* prefix : {"docker.io/library/", "docker.io/"}) {
    if (r.repository.starts_with(prefix)) {
      std::string shorter = r.repository.substr(std::string(prefix).size());
      names.push_back(shorter);
      names.push_back(shorter + ":" + r.tag);
      break;
    }
  }
  for (const auto& n : names) {
    if (fnmatch(pattern.c_str(), n.c_str(), 0) == 0) return true;
  }
  return false;
}

int Images(const GlobalOptions& g, const ImagesFlags& f) {
  auto filters = ParseFilters(f.filters);
  if (!filters.ok()) return ReportError(filters.error());
  std::string format = f.format;
  if (f.quiet) format = "{{.ID}}";
  if (format.empty() || format == "table") {
    format = "table {{.Repository}}\\t{{.Tag}}\\t{{.ID}}\\t{{.CreatedSince}}\\t{{.Size}}";
  }
  auto tmpl = Template::Parse(format, {{"ID", "IMAGE ID"}, {"CreatedSince", "CREATED"},
                                       {"CreatedAt", "CREATED AT"}});
  if (!tmpl.ok()) return ReportError(tmpl.error());
  auto store = OpenStore(g);
  if (!store.ok()) return ReportError(store.error());
  auto entries = (*store)->ListTags();
  if (!entries.ok()) return ReportError(entries.error());
  std::vector<Row> rows;
  for (const auto& e : *entries) {
    Row row;
    row.digest = e.target.digest.str();
    if (!e.name.empty()) {
      auto ref = oci::Reference::Parse(e.name);
      if (ref.ok()) {
        row.repository = ref->Repository();
        row.tag = ref->tag().empty() ? "<none>" : ref->tag();
      } else {
        row.repository = e.name;
      }
    }
    auto image = oci::LoadImage(**store, e.target);
    if (image.ok()) {
      row.id = image->id().str();
      row.created = image->config.created;
      row.labels = image->config.config ? image->config.config->labels
                                        : std::map<std::string, std::string>{};
      row.size = image->manifest.config.size;
      for (const auto& l : image->manifest.layers) row.size += l.size;
    } else {
      // Show the entry anyway so the user can rmi it; say what is wrong.
      std::fprintf(stderr, "bld: warning: %s: %s\n",
                   e.name.empty() ? row.digest.c_str() : e.name.c_str(),
                   image.error().message().c_str());
    }
    rows.push_back(std::move(row));
  }
  // Newest first, as docker lists them (RFC 3339 UTC times sort as strings).
  std::stable_sort(rows.begin(), rows.end(),
                   [](const Row& a, const Row& b) { return a.created > b.created; });
  // before/since name an image; compare creation times.
  auto created_of = [&](const std::string& name) -> Result<std::string> {
    BLD_ASSIGN_OR_RETURN(oci::ResolvedImage r, oci::ResolveImage(**store, name));
    return r.image.config.created;
  };
  std::vector<nlohmann::ordered_json> out;
  for (const auto& r : rows) {
    bool keep = true;
    for (const auto& flt : *filters) {
      if (flt.key == "dangling") {
        keep = keep && (r.dangling() == (flt.value == "true"));
      } else if (flt.key == "label") {
        size_t eq = flt.value.find('=');
        std::string k = flt.value.substr(0, eq);
        auto it = r.labels.find(k);
        keep = keep && it != r.labels.end() &&
               (eq == std::string::npos || it->second == flt.value.substr(eq + 1));
      } else if (flt.key == "reference") {
        keep = keep && ReferenceMatches(r, flt.value);
      } else {
        auto t = created_of(flt.value);
        if (!t.ok()) return ReportError(t.error().Wrap("--filter " + flt.key));
        keep = keep && (flt.key == "before" ? r.created < *t : r.created > *t);
      }
    }
    if (!keep) continue;
    nlohmann::ordered_json j;
    j["Containers"] = "N/A";
    j["CreatedAt"] = r.created;
    j["CreatedSince"] = HumanAgo(r.created);
    j["Digest"] = r.digest;
    j["ID"] = ShortId(r.id, f.no_trunc);
    j["Repository"] = r.repository;
    j["Size"] = HumanSize(r.size);
    j["Tag"] = r.tag;
    j["Labels"] = r.labels;
    out.push_back(std::move(j));
  }
  auto text = tmpl->Render(out);
  if (!text.ok()) return ReportError(text.error());
  std::fwrite(text->data(), 1, text->size(), stdout);
  return kExitOk;
}

}  // namespace

Command MakeImagesCommand() {
  return {"images", "List images in the store, newest first",
          [](CLI::App* app, const GlobalOptions* g) {
            auto f = std::make_shared<ImagesFlags>();
            app->add_flag("-q,--quiet", f->quiet, "Only show image IDs");
            app->add_flag("--no-trunc", f->no_trunc, "Show full image IDs (sha256:...)");
            app->add_option("-f,--filter", f->filters,
                            "dangling=true|false, label=K[=V], reference=PATTERN, before=IMAGE, "
                            "since=IMAGE (repeatable; all must match)");
            app->add_option("--format", f->format,
                            "table (default), json (one object per line) or a Go template "
                            "such as '{{.Repository}}:{{.Tag}}'");
            return [g, f]() { return Images(*g, *f); };
          }};
}

}  // namespace bld::cli
