#include "oci/media_types.h"

namespace bld::oci {

namespace {
// Uncompressed layers as Docker 25+ writes them into `docker save` OCI layouts.
constexpr std::string_view kMediaTypeDockerLayerTar =
    "application/vnd.docker.image.rootfs.diff.tar";
constexpr std::string_view kMediaTypeOciLayerNondistributable =
    "application/vnd.oci.image.layer.nondistributable.v1.tar";
constexpr std::string_view kMediaTypeOciLayerNondistributableZstd =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd";
}  // namespace

bool IsIndexMediaType(std::string_view mt) {
  return mt == kMediaTypeOciIndex || mt == kMediaTypeDockerManifestList;
}

bool IsManifestMediaType(std::string_view mt) {
  return mt == kMediaTypeOciManifest || mt == kMediaTypeDockerManifest;
}

bool IsLayerMediaType(std::string_view mt) {
  Compression c;
  return LayerCompression(mt, &c);
}

bool LayerCompression(std::string_view mt, Compression* out) {
  if (mt == kMediaTypeOciLayer || mt == kMediaTypeOciLayerNondistributable ||
      mt == kMediaTypeDockerLayerTar) {
    *out = Compression::kNone;
    return true;
  }
  if (mt == kMediaTypeOciLayerGzip || mt == kMediaTypeOciLayerNondistributableGzip ||
      mt == kMediaTypeDockerLayerGzip || mt == kMediaTypeDockerLayerForeignGzip) {
    *out = Compression::kGzip;
    return true;
  }
  if (mt == kMediaTypeOciLayerZstd || mt == kMediaTypeOciLayerNondistributableZstd ||
      mt == kMediaTypeDockerLayerZstd) {
    *out = Compression::kZstd;
    return true;
  }
  return false;
}

std::string_view OciLayerMediaType(Compression c) {
  switch (c) {
    case Compression::kNone:
      return kMediaTypeOciLayer;
    case Compression::kGzip:
      return kMediaTypeOciLayerGzip;
    case Compression::kZstd:
      return kMediaTypeOciLayerZstd;
  }
  return kMediaTypeOciLayer;
}

std::string_view DockerLayerMediaType(Compression c) {
  switch (c) {
    case Compression::kNone:
      return kMediaTypeOciLayer;
    case Compression::kGzip:
      return kMediaTypeDockerLayerGzip;
    case Compression::kZstd:
      return kMediaTypeDockerLayerZstd;
  }
  return kMediaTypeOciLayer;
}

}  // namespace bld::oci
