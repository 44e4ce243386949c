// bld import ROOTFS.tar|- NAME [--change 'CMD ["sh"]']...: a single-layer image
// from a root filesystem tar (plain, gzip, zstd, bzip2 or xz).
//
// The tar is re-written entry by entry (paths normalised, hostile paths
// rejected, atime/ctime dropped) into a gzip layer; one pass computes the
// diff ID and the blob digest.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>

#include <cstdio>
#include <cstring>

#include "base/file.h"
#include "cli/change.h"
#include "cli/commands.h"
#include "oci/image.h"
#include "oci/media_types.h"
#include "snapshot/compression.h"

namespace bld::cli {

namespace {

struct ArchiveReadFree {
  void operator()(archive* a) const { archive_read_free(a); }
};
struct ArchiveWriteFree {
  void operator()(archive* a) const { archive_write_free(a); }
};

// Where libarchive's writer sends the uncompressed layer: hashed for the diff
// ID, then compressed into the store.
struct LayerSink {
  oci::Sha256 diff_hash;
  snapshot::Compressor* compressor = nullptr;
  std::optional<Error> error;
};

la_ssize_t WriteCallback(archive*, void* client, const void* buf, size_t n) {
  auto* sink = static_cast<LayerSink*>(client);
  sink->diff_hash.Update(buf, n);
  Status s = sink->compressor->Write(buf, n);
  if (!s.ok()) {
    sink->error = std::move(s).error();
    return -1;
  }
  return static_cast<la_ssize_t>(n);
}

// "./a/b" -> "a/b"; rejects absolute paths and "..". Returns "" for the root itself.
Result<std::string> CleanEntryPath(const char* raw) {
  std::string p = raw != nullptr ? raw : "";
  if (p.starts_with("/")) {
    return InvalidArgumentError("entry \"" + p + "\" has an absolute path");
  }
  std::string out;
  size_t i = 0;
  while (i <= p.size()) {
    size_t j = p.find('/', i);
    if (j == std::string::npos) j = p.size();
    std::string part = p.substr(i, j - i);
    if (part == "..") return InvalidArgumentError("entry \"" + p + "\" escapes the root with \"..\"");
    if (!part.empty() && part != ".") {
      if (!out.empty()) out += '/';
      out += part;
    }
    i = j + 1;
  }
  return out;
}

struct ImportedLayer {
  oci::Descriptor blob;
  oci::Digest diff_id;
};

Result<ImportedLayer> ImportTar(const oci::Store& store, int in_fd, const std::string& what) {
  std::unique_ptr<archive, ArchiveReadFree> in(archive_read_new());
  archive_read_support_filter_all(in.get());
  archive_read_support_format_tar(in.get());
  archive_read_support_format_gnutar(in.get());
  if (archive_read_open_fd(in.get(), in_fd, 1 << 16) != ARCHIVE_OK) {
    return InvalidArgumentError(what + ": " + archive_error_string(in.get()));
  }
  BLD_ASSIGN_OR_RETURN(auto blob, store.Ingest());
  LayerSink sink;
  BLD_ASSIGN_OR_RETURN(auto compressor,
                       snapshot::Compressor::Create(
                           oci::Compression::kGzip, {},
                           [&blob](const void* d, size_t n) { return blob->Write(d, n); }));
  sink.compressor = compressor.get();
  std::unique_ptr<archive, ArchiveWriteFree> out(archive_write_new());
  archive_write_set_format_pax_restricted(out.get());
  archive_write_set_bytes_per_block(out.get(), 0);  // no padding to 10 KiB blocks
  if (archive_write_open(out.get(), &sink, nullptr, WriteCallback, nullptr) != ARCHIVE_OK) {
    return InternalError(what + ": " + archive_error_string(out.get()));
  }
  auto write_failed = [&](const std::string& ctx) -> Error {
    if (sink.error) return sink.error->Wrap(what + ": " + ctx);
    return InternalError(what + ": " + ctx + ": " + archive_error_string(out.get()));
  };
  int entries = 0;
  std::vector<char> buf(1 << 16);
  for (;;) {
    archive_entry* e;
    int r = archive_read_next_header(in.get(), &e);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) {
      return InvalidArgumentError(what + ": not a valid tar archive: " +
                                  archive_error_string(in.get()));
    }
    BLD_ASSIGN_OR_RETURN(std::string path, CleanEntryPath(archive_entry_pathname(e)));
    if (path.empty()) continue;  // the root directory itself
    if (const char* link = archive_entry_hardlink(e); link != nullptr) {
      auto target = CleanEntryPath(link);
      if (!target.ok()) return std::move(target).error().Wrap(what + ": hard link " + path);
      archive_entry_set_hardlink(e, target->c_str());
    }
    archive_entry_set_pathname(e, path.c_str());
    archive_entry_unset_atime(e);
    archive_entry_unset_ctime(e);
    archive_entry_unset_birthtime(e);
    if (archive_write_header(out.get(), e) < ARCHIVE_WARN) return write_failed(path);
    for (;;) {
      la_ssize_t n = archive_read_data(in.get(), buf.data(), buf.size());
      if (n < 0) {
        return InvalidArgumentError(what + ": reading " + path + ": " +
                                    archive_error_string(in.get()));
      }
      if (n == 0) break;
      if (archive_write_data(out.get(), buf.data(), static_cast<size_t>(n)) != n) {
        return write_failed(path);
      }
    }
    ++entries;
  }
  if (entries == 0) return InvalidArgumentError(what + ": the archive has no entries");
  if (archive_write_close(out.get()) != ARCHIVE_OK) return write_failed("finish");
  BLD_TRY_WRAP(compressor->Finish(), what);
  ImportedLayer layer;
  layer.diff_id = sink.diff_hash.Finish();
  layer.blob.media_type = oci::kMediaTypeOciLayerGzip;
  layer.blob.size = blob->size();
  BLD_ASSIGN_OR_RETURN(layer.blob.digest, blob->Commit());
  return layer;
}

int Import(const GlobalOptions& g, const std::string& source, const std::string& name,
           const std::vector<std::string>& changes) {
  auto store_name = oci::StoreName(name);
  if (!store_name.ok()) return ReportError(store_name.error().Wrap("import"));
  oci::ContainerConfig container;
  for (const auto& c : changes) {
    Status s = ApplyChange(c, &container);
    if (!s.ok()) return ReportError(s.error().Wrap("import: --change"));
  }
  UniqueFd file;
  int fd = 0;
  if (source != "-") {
    auto f = OpenFile(source, O_RDONLY);
    if (!f.ok()) return ReportError(f.error().Wrap("import"));
    file = std::move(*f);
    fd = file.get();
  }
  auto store = OpenStore(g);
  if (!store.ok()) return ReportError(store.error());
  auto lock = (*store)->LockShared();
  if (!lock.ok()) return ReportError(lock.error());
  auto layer = ImportTar(**store, fd, "import " + (source == "-" ? "stdin" : source));
  // A bad tar is bad data, not bad usage: exit 1.
  if (!layer.ok()) return ReportError(layer.error(), kExitFailure);

  oci::ImageConfig config;
  config.created = NowRfc3339();
  oci::Platform host = oci::Platform::Host();
  config.architecture = host.architecture;
  config.os = host.os;
  config.variant = host.variant;
  config.config = std::move(container);
  config.diff_ids = {layer->diff_id};
  oci::HistoryEntry h;
  h.created = config.created;
  h.created_by = "bld import " + source;
  h.comment = "imported from a root filesystem tar";
  config.history.push_back(std::move(h));
  auto manifest = oci::WriteImage(**store, config, {layer->blob});
  if (!manifest.ok()) return ReportError(manifest.error().Wrap("import"));
  Status s = (*store)->SetTag(*store_name, *manifest);
  if (!s.ok()) return ReportError(s.error().Wrap("import"));
  std::printf("%s\n", oci::Digest::Of(config.ToJson()).str().c_str());
  return kExitOk;
}

}  // namespace

Command MakeImportCommand() {
  return {"import", "Create a single-layer image from a root filesystem tar",
          [](CLI::App* app, const GlobalOptions* g) {
            auto source = std::make_shared<std::string>();
            auto name = std::make_shared<std::string>();
            auto changes = std::make_shared<std::vector<std::string>>();
            app->add_option("ROOTFS", *source, "Root filesystem tar, or - for stdin")->required();
            app->add_option("NAME", *name, "Image name")->required();
            app->add_option("-c,--change", *changes,
                            "Dockerfile instruction to apply: CMD, ENTRYPOINT, ENV, WORKDIR, "
                            "USER, LABEL, EXPOSE, VOLUME, STOPSIGNAL");
            return [g, source, name, changes]() { return Import(*g, *source, *name, *changes); };
          }};
}

}  // namespace bld::cli
