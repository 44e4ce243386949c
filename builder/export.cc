#include "builder/export.h"

#include <archive.h>
#include <archive_entry.h>
#include <unistd.h>

#include <memory>

#include "snapshot/compression.h"

namespace bld::builder {

namespace {

constexpr size_t kBuf = 256 * 1024;

struct ArchiveReadFree {
  void operator()(archive* a) const { archive_read_free(a); }
};
struct ArchiveWriteFree {
  void operator()(archive* a) const { archive_write_free(a); }
};

// The conversion pipeline: decompressed tar bytes in, (rewritten) tar -> diff ID ->
// compressor -> blob digest -> store writer.
struct Pipeline {
  std::unique_ptr<oci::BlobWriter> blob;
  std::unique_ptr<snapshot::Compressor> comp;
  oci::Sha256 tar_hash;
  Status error = Ok();

  Status Tar(const void* p, size_t n) {
    tar_hash.Update(p, n);
    return comp->Write(p, n);
  }
};

// libarchive callbacks over a Decompressor / the pipeline.
struct ReadState {
  snapshot::Decompressor* d;
  std::string buf;
  Status error = Ok();
};
la_ssize_t ReadCallback(archive* a, void* user, const void** out) {
  auto* r = static_cast<ReadState*>(user);
  r->buf.resize(kBuf);
  auto n = r->d->Read(r->buf.data(), r->buf.size());
  if (!n.ok()) {
    r->error = n.error();
    archive_set_error(a, EIO, "%s", n.error().message().c_str());
    return -1;
  }
  *out = r->buf.data();
  return static_cast<la_ssize_t>(*n);
}
la_ssize_t WriteCallback(archive* a, void* user, const void* data, size_t n) {
  auto* p = static_cast<Pipeline*>(user);
  Status st = p->Tar(data, n);
  if (!st.ok()) {
    p->error = st;
    archive_set_error(a, EIO, "%s", st.error().message().c_str());
    return -1;
  }
  return static_cast<la_ssize_t>(n);
}

Status RewriteTar(snapshot::Decompressor& d, Pipeline& p, int64_t clamp) {
  ReadState rs{&d, {}, Ok()};
  std::unique_ptr<archive, ArchiveReadFree> in(archive_read_new());
  std::unique_ptr<archive, ArchiveWriteFree> out(archive_write_new());
  if (!in || !out) return InternalError("libarchive: out of memory");
  archive_read_support_format_tar(in.get());
  archive_read_support_format_gnutar(in.get());
  if (archive_read_open(in.get(), &rs, nullptr, ReadCallback, nullptr) != ARCHIVE_OK) {
    return rs.error.ok()
               ? InternalError(std::string("read layer: ") + archive_error_string(in.get()))
               : rs.error;
  }
  // The same tar dialect as snapshot/diff.cc writes: pax, xattrs as SCHILY.
  if (archive_write_set_format_pax_restricted(out.get()) != ARCHIVE_OK ||
      archive_write_set_format_option(out.get(), "pax", "xattrheader", "SCHILY") != ARCHIVE_OK ||
      archive_write_set_bytes_per_block(out.get(), 0) != ARCHIVE_OK ||
      archive_write_open(out.get(), &p, nullptr, WriteCallback, nullptr) != ARCHIVE_OK) {
    return InternalError(std::string("tar writer: ") + archive_error_string(out.get()));
  }
  std::string buf(kBuf, '\0');
  for (;;) {
    archive_entry* e = nullptr;
    int r = archive_read_next_header(in.get(), &e);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) {
      if (!rs.error.ok()) return rs.error;
      return FailedPreconditionError(std::string("read layer: ") + archive_error_string(in.get()));
    }
    if (archive_entry_mtime(e) > clamp) archive_entry_set_mtime(e, clamp, 0);
    archive_entry_set_mtime(e, archive_entry_mtime(e), 0);
    archive_entry_unset_atime(e);
    archive_entry_unset_ctime(e);
    archive_entry_unset_birthtime(e);
    if (archive_write_header(out.get(), e) < ARCHIVE_WARN) {
      if (!p.error.ok()) return p.error;
      return InternalError(std::string("write layer: ") + archive_error_string(out.get()));
    }
    for (;;) {
      la_ssize_t n = archive_read_data(in.get(), buf.data(), buf.size());
      if (n == 0) break;
      if (n < 0) {
        if (!rs.error.ok()) return rs.error;
        return FailedPreconditionError(std::string("read layer: ") +
                                       archive_error_string(in.get()));
      }
      if (archive_write_data(out.get(), buf.data(), static_cast<size_t>(n)) != n) {
        if (!p.error.ok()) return p.error;
        return InternalError(std::string("write layer: ") + archive_error_string(out.get()));
      }
    }
  }
  if (archive_write_close(out.get()) != ARCHIVE_OK) {
    if (!p.error.ok()) return p.error;
    return InternalError(std::string("write layer: ") + archive_error_string(out.get()));
  }
  return Ok();
}

std::string ConversionKey(const oci::Digest& blob, oci::Compression c,
                          std::optional<int64_t> clamp) {
  return "bld.convert.v1\n" + blob.str() + "\n" + std::string(snapshot::CompressionName(c)) + "\n" +
         (clamp ? std::to_string(*clamp) : std::string());
}

}  // namespace

Result<std::pair<oci::Descriptor, oci::Digest>> ConvertLayer(const oci::Store& store,
                                                             const oci::Descriptor& layer,
                                                             oci::Compression compression,
                                                             std::optional<int64_t> clamp_mtime) {
  const std::string what = "layer " + layer.digest.str();
  oci::Compression from = oci::Compression::kNone;
  if (!oci::LayerCompression(layer.media_type, &from)) {
    return FailedPreconditionError(what + ": unknown media type " + layer.media_type);
  }
  BLD_ASSIGN_OR_RETURN(UniqueFd fd, store.OpenBlob(layer.digest));
  oci::Sha256 blob_hash;
  int raw = fd.get();
  auto source = [raw, &blob_hash](void* buf, size_t n) -> Result<size_t> {
    for (;;) {
      ssize_t k = read(raw, buf, n);
      if (k < 0 && errno == EINTR) continue;
      if (k < 0) return ErrnoError("read");
      blob_hash.Update(buf, static_cast<size_t>(k));
      return static_cast<size_t>(k);
    }
  };
  BLD_ASSIGN_OR_RETURN(auto dec, snapshot::Decompressor::Create(from, source));
  Pipeline p;
  BLD_ASSIGN_OR_RETURN(p.blob, store.Ingest());
  oci::BlobWriter* blob = p.blob.get();
  BLD_ASSIGN_OR_RETURN(p.comp, snapshot::Compressor::Create(
                                   compression, {}, [blob](const void* d, size_t n) -> Status {
                                     return blob->Write(d, n);
                                   }));
  if (clamp_mtime) {
    Status st = RewriteTar(*dec, p, *clamp_mtime);
    if (!st.ok()) return st.error().Wrap(what);
  } else {
    std::string buf(kBuf, '\0');
    for (;;) {
      auto n = dec->Read(buf.data(), buf.size());
      if (!n.ok()) return n.error().Wrap(what);
      if (*n == 0) break;
      BLD_TRY_WRAP(p.Tar(buf.data(), *n), what);
    }
  }
  // The source blob was read to its end: it must match its digest.
  {
    char extra[4096];
    for (;;) {
      auto n = source(extra, sizeof(extra));
      if (!n.ok()) return n.error().Wrap(what);
      if (*n == 0) break;
    }
  }
  if (blob_hash.Finish() != layer.digest) {
    return FailedPreconditionError(what + ": the stored blob does not match its digest");
  }
  BLD_TRY_WRAP(p.comp->Finish(), what);
  int64_t size = p.blob->size();
  BLD_ASSIGN_OR_RETURN(oci::Digest digest, p.blob->Commit());
  oci::Descriptor d;
  d.media_type = std::string(oci::OciLayerMediaType(compression));
  d.digest = digest;
  d.size = size;
  return std::make_pair(d, p.tar_hash.Finish());
}

Result<ExportedLayers> ExportLayers(const oci::Store& store, const BuildCache& cache,
                                    const std::vector<oci::Descriptor>& layers,
                                    const std::vector<oci::Digest>& diff_ids, size_t base_layers,
                                    const ExportOptions& options) {
  ExportedLayers out;
  for (size_t i = 0; i < layers.size(); ++i) {
    const oci::Descriptor& l = layers[i];
    const bool ours = i >= base_layers;
    oci::Compression have = oci::Compression::kNone;
    bool known = oci::LayerCompression(l.media_type, &have);
    oci::Compression want = options.compression ? *options.compression
                            : ours              ? oci::Compression::kGzip
                                                : have;
    std::optional<int64_t> clamp = ours ? options.source_date_epoch : std::nullopt;
    if (known && want == have && !clamp) {
      out.layers.push_back(l);
      out.diff_ids.push_back(diff_ids[i]);
      continue;
    }
    const std::string key = ConversionKey(l.digest, want, clamp);
    auto rec = cache.LookupConversion(key);
    if (rec && store.HasBlob(rec->first.digest)) {
      out.layers.push_back(rec->first);
      out.diff_ids.push_back(rec->second);
      continue;
    }
    BLD_ASSIGN_OR_RETURN(auto converted, ConvertLayer(store, l, want, clamp));
    if (!clamp && converted.second != diff_ids[i]) {
      return FailedPreconditionError("layer " + l.digest.str() + ": its content is " +
                                     converted.second.str() + ", not the diff ID " +
                                     diff_ids[i].str() + " the image names");
    }
    (void)cache.StoreConversion(key, converted.first, converted.second);
    out.layers.push_back(converted.first);
    out.diff_ids.push_back(converted.second);
  }
  return out;
}

}  // namespace bld::builder
