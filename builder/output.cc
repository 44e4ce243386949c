#include "builder/output.h"

#include <fcntl.h>
#include <unistd.h>

#include "base/file.h"
#include "oci/archive.h"
#include "oci/image.h"
#include "oci/reference.h"
#include "registry/client.h"
#include "registry/push.h"
#include "snapshot/apply.h"

namespace bld::builder {

namespace {

std::vector<std::pair<std::string, std::string>> SplitCsv(std::string_view s) {
  std::vector<std::pair<std::string, std::string>> out;
  size_t i = 0;
  while (i <= s.size()) {
    size_t j = s.find(',', i);
    if (j == std::string_view::npos) j = s.size();
    std::string part(s.substr(i, j - i));
    if (!part.empty()) {
      size_t eq = part.find('=');
      if (eq == std::string::npos) {
        out.push_back({part, ""});
      } else {
        out.push_back({part.substr(0, eq), part.substr(eq + 1)});
      }
    }
    i = j + 1;
  }
  return out;
}

Status Push(const oci::Store& store, const oci::Descriptor& manifest, const std::string& name,
            bool tls_verify, const BuildOptions& options, Progress& progress) {
  BLD_ASSIGN_OR_RETURN(auto ref, oci::Reference::Parse(name));
  int id = progress.Start("push " + ref.str());
  registry::ClientOptions co;
  co.tls_verify = tls_verify;
  auto client = registry::Client::Create(ref.domain(), std::move(co));
  if (!client.ok()) {
    progress.Failed(id, client.error().message());
    return client.error().Wrap("push " + ref.str());
  }
  registry::PushOptions po;
  po.compression = options.compression;
  po.progress = [&progress, id](const std::string& line) { progress.Output(id, line + "\n"); };
  auto r = registry::Push(**client, store, manifest, ref, po);
  if (!r.ok()) {
    progress.Failed(id, r.error().message());
    return r.error().Wrap("push " + ref.str());
  }
  progress.Done(id);
  return Ok();
}

Status ExportRootfs(const oci::Store& store, const oci::Descriptor& manifest,
                    const std::string& dest) {
  BLD_ASSIGN_OR_RETURN(auto image, oci::LoadImage(store, manifest));
  BLD_TRY(MkdirAll(dest));
  for (size_t i = 0; i < image.manifest.layers.size(); ++i) {
    const auto& layer = image.manifest.layers[i];
    BLD_ASSIGN_OR_RETURN(UniqueFd fd, store.OpenBlob(layer.digest));
    snapshot::ApplyOptions ao;
    ao.whiteouts = snapshot::WhiteoutStyle::kDelete;
    ao.expected_digest = layer.digest;
    if (i < image.config.diff_ids.size()) ao.expected_diff_id = image.config.diff_ids[i];
    ao.ignore_ownership = geteuid() != 0;
    auto r = snapshot::ApplyFd(fd.get(), dest, ao);
    if (!r.ok()) return r.error().Wrap("--output type=local: layer " + layer.digest.str());
  }
  return Ok();
}

}  // namespace

Result<OutputSpec> ParseOutputSpec(std::string_view s) {
  OutputSpec o;
  bool have_type = false;
  for (const auto& [k, v] : SplitCsv(s)) {
    if (k == "type") {
      have_type = true;
      if (v == "oci") {
        o.type = OutputSpec::Type::kOci;
      } else if (v == "docker") {
        o.type = OutputSpec::Type::kDocker;
      } else if (v == "local") {
        o.type = OutputSpec::Type::kLocal;
      } else if (v == "registry" || v == "image") {
        o.type = OutputSpec::Type::kRegistry;
      } else {
        return InvalidArgumentError("--output " + std::string(s) + ": type " + v +
                                    " is not supported (oci, docker, local, registry)");
      }
    } else if (k == "dest") {
      o.dest = v;
    } else if (k == "name") {
      o.name = v;
    } else if (k == "push") {
      if (v != "true") {
        return InvalidArgumentError("--output " + std::string(s) + ": push=" + v +
                                    " is not supported");
      }
    } else if (k == "registry.insecure") {
      o.tls_verify = v != "true";
    } else {
      return InvalidArgumentError("--output " + std::string(s) + ": option " + k +
                                  " is not supported (type, dest, name, registry.insecure)");
    }
  }
  if (!have_type) {
    if (s.find('=') == std::string_view::npos && !s.empty()) {
      // `--output DIR`, as docker: a local export.
      o.type = OutputSpec::Type::kLocal;
      o.dest = std::string(s);
      return o;
    }
    return InvalidArgumentError("--output " + std::string(s) + ": type= is required");
  }
  if (o.type == OutputSpec::Type::kRegistry) {
    if (o.name.empty()) return InvalidArgumentError("--output type=registry needs name=REF");
  } else if (o.dest.empty()) {
    return InvalidArgumentError("--output " + std::string(s) + ": dest= is required");
  }
  return o;
}

Result<SecretSpec> ParseSecretSpec(std::string_view s) {
  SecretSpec sec;
  std::string type;
  for (const auto& [k, v] : SplitCsv(s)) {
    if (k == "id") {
      sec.id = v;
    } else if (k == "src" || k == "source") {
      sec.src = v;
    } else if (k == "env") {
      sec.env = v;
    } else if (k == "type") {
      if (v != "file" && v != "env") {
        return InvalidArgumentError("--secret " + std::string(s) + ": type " + v +
                                    " is not supported (file, env)");
      }
      type = v;
    } else {
      return InvalidArgumentError("--secret " + std::string(s) + ": unknown option " + k);
    }
  }
  if (sec.id.empty())
    return InvalidArgumentError("--secret " + std::string(s) + ": id= is required");
  if (type == "env") {
    // type=env,src=VAR names the variable (buildx).
    if (!sec.src.empty() && sec.env.empty()) sec.env = sec.src;
    sec.src.clear();
    if (sec.env.empty()) sec.env = sec.id;
  } else if (type == "file") {
    if (!sec.env.empty()) {
      return InvalidArgumentError("--secret " + std::string(s) + ": env= with type=file");
    }
    if (sec.src.empty()) sec.src = sec.id;
  } else if (!sec.src.empty() && !sec.env.empty()) {
    return InvalidArgumentError("--secret " + std::string(s) + ": give src= or env=, not both");
  }
  // Neither src nor env: the variable named by the id if set, else the file of that name.
  return sec;
}

Status WriteOutputs(const oci::Store& store, const BuildOptions& options,
                    const oci::Descriptor& manifest, const std::vector<std::string>& names,
                    Progress& progress) {
  for (const auto& out : options.outputs) {
    switch (out.type) {
      case OutputSpec::Type::kOci:
      case OutputSpec::Type::kDocker: {
        std::string name;
        if (!out.name.empty()) {
          BLD_ASSIGN_OR_RETURN(name, oci::StoreName(out.name));
        } else if (!names.empty()) {
          name = names[0];
        }
        auto format = out.type == OutputSpec::Type::kOci ? oci::ArchiveFormat::kOciArchive
                                                         : oci::ArchiveFormat::kDockerArchive;
        int id = progress.Start("export " + std::string(oci::ArchiveFormatName(format)) + " to " +
                                out.dest);
        if (out.dest == "-") {
          BLD_TRY_WRAP(oci::SaveArchive(store, {{name, manifest}}, format, 1), "--output");
        } else {
          std::string tmp = out.dest + ".tmp";
          BLD_ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644));
          Status st = oci::SaveArchive(store, {{name, manifest}}, format, fd.get());
          if (!st.ok()) {
            unlink(tmp.c_str());
            return st.error().Wrap("--output " + out.dest);
          }
          if (fsync(fd.get()) != 0 || rename(tmp.c_str(), out.dest.c_str()) != 0) {
            return ErrnoError("--output " + out.dest);
          }
        }
        progress.Done(id);
        break;
      }
      case OutputSpec::Type::kLocal: {
        int id = progress.Start("export rootfs to " + out.dest);
        BLD_TRY(ExportRootfs(store, manifest, out.dest));
        progress.Done(id);
        break;
      }
      case OutputSpec::Type::kRegistry:
        BLD_TRY(Push(store, manifest, out.name, out.tls_verify && options.tls_verify, options,
                     progress));
        break;
    }
  }
  if (options.push) {
    if (names.empty()) return InvalidArgumentError("--push needs at least one -t name");
    for (const auto& n : names)
      BLD_TRY(Push(store, manifest, n, options.tls_verify, options, progress));
  }
  return Ok();
}

}  // namespace bld::builder
