#include "snapshot/unpack.h"

#include <unistd.h>


#include "base/log.h"
#include "base/random.h"
#include "oci/config.h"
#include "oci/store.h"

namespace bld::snapshot {

namespace {

std::string UniqueKey(const std::string& chain) {
  return "extract-" + RandomHex(16) + " " + chain;
}

Status UnpackLayer(const oci::Store& store, const oci::Descriptor& layer,
                   const oci::Digest& diff_id, const std::string& parent, const std::string& chain,
                   Snapshotter& sn, const UnpackOptions& options) {
  oci::Compression c;
  if (!oci::LayerCompression(layer.media_type, &c)) {
    return InvalidArgumentError("unsupported layer media type " + layer.media_type);
  }
  BLD_ASSIGN_OR_RETURN(UniqueFd blob, store.OpenBlob(layer.digest));
  std::string key = UniqueKey(chain);
  BLD_TRY(sn.Prepare(key, parent));
  auto apply = [&]() -> Status {
    BLD_ASSIGN_OR_RETURN(std::string dir, sn.ApplyDir(key));
    ApplyOptions ao;
    ao.whiteouts = sn.whiteout_style();
    ao.compression = c;
    ao.expected_diff_id = diff_id;
    ao.expected_digest = layer.digest;
    ao.ignore_ownership = options.ignore_ownership;
    BLD_ASSIGN_OR_RETURN(ApplyResult r, ApplyFd(blob.get(), dir, ao));
    if (r.size != layer.size) {
      return InvalidArgumentError("layer size " + std::to_string(r.size) + " != descriptor size " +
                                  std::to_string(layer.size));
    }
    return sn.Commit(chain, key);
  };
  Status s = apply();
  if (!s.ok()) {
    (void)sn.Remove(key);
    if (s.error().Is(ErrorCode::kAlreadyExists) && sn.Stat(chain).ok()) return Ok();  // raced
    return s;
  }
  return Ok();
}

}  // namespace

Result<std::string> Unpack(const oci::Store& store, const std::vector<oci::Descriptor>& layers,
                           const std::vector<oci::Digest>& diff_ids, Snapshotter& sn,
                           const UnpackOptions& options) {
  if (layers.size() != diff_ids.size()) {
    return InvalidArgumentError("image has " + std::to_string(layers.size()) + " layers but " +
                                std::to_string(diff_ids.size()) + " diff IDs");
  }
  std::string parent;
  std::vector<oci::Digest> prefix;
  for (size_t i = 0; i < layers.size(); ++i) {
    prefix.push_back(diff_ids[i]);
    std::string chain = oci::ChainId(prefix).str();
    auto st = sn.Stat(chain);
    if (!st.ok() || st->kind != Kind::kCommitted) {
      BLD_TRY_WRAP(UnpackLayer(store, layers[i], diff_ids[i], parent, chain, sn, options),
                   "unpack layer " + std::to_string(i + 1) + "/" + std::to_string(layers.size()) +
                       " " + layers[i].digest.str());
      BLD_LOG(kDebug) << "unpacked layer " << layers[i].digest.str() << " as " << chain;
    }
    parent = chain;
  }
  return parent;
}

}  // namespace bld::snapshot
