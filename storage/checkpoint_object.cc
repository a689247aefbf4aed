#include "storage/checkpoint_object.h"

#include <algorithm>
#include <map>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "glog/logging.h"
#include "runtime/status.h"
#include "storage/checkpoint_parts.h"
#include "storage/object_path.h"
#include "storage/s3/s3_client.h"
#include "storage/shard/crc32c.h"
#include "storage/weights_file.h"

namespace ty::object_checkpoints {
namespace {

// Objects under `dir` by checkpoint step: name within step-<S>/ -> size.
using StepObjects = std::map<int64_t, std::map<std::string, int64_t>, std::greater<>>;

// `dir` as parse_s3_url spells it (s3://b//ckpt/ -> s3://b/ckpt), so that listed URLs
// start with it.
std::string normalized(const std::string& dir) {
  auto url = parse_s3_url(dir);
  if (!url.ok()) return dir;
  while (!url->key.empty() && url->key.back() == '/') url->key.pop_back();
  return url->str();
}

absl::StatusOr<StepObjects> list_steps(const std::string& dir) {
  TY_ASSIGN_OR_RETURN(std::vector<ListedPath> listed, list_tree(dir));
  StepObjects out;
  const std::string root = join_path(dir, "");
  for (const ListedPath& p : listed) {
    const std::string rel = p.path.substr(root.size());
    const size_t slash = rel.find('/');
    int64_t step = 0;
    if (slash == std::string::npos || !parse_checkpoint_step_name(rel.substr(0, slash), &step)) continue;
    out[step][rel.substr(slash + 1)] = p.size;
  }
  return out;
}

std::string step_dir(const std::string& dir, int64_t step) { return join_path(dir, checkpoint_step_name(step)); }

void remove_step(const std::string& dir, int64_t step, const std::map<std::string, int64_t>& objects) {
  const std::string at = step_dir(dir, step);
  // The MANIFEST first: from then on the step is torn, whatever else is left.
  if (objects.count("MANIFEST")) {
    if (absl::Status st = remove_path(join_path(at, "MANIFEST")); !st.ok() && !absl::IsNotFound(st)) {
      LOG(WARNING) << "checkpoint retention: " << st.message();
      return;
    }
  }
  for (const auto& [name, size] : objects)
    if (name != "MANIFEST") (void)remove_path(join_path(at, name));
}

}  // namespace

absl::Status write(const std::string& given, int64_t step, int rank, int world, const NamedTensors& tensors,
                   std::chrono::milliseconds wait_for_ranks, uint64_t run_nonce) {
  const std::string dir = normalized(given);
  const std::string at = step_dir(dir, step);
  uint32_t crc = 0;
  int64_t size = 0;
  TY_RETURN_IF_ERROR(save_weights(join_path(at, checkpoint_rank_file(rank)), tensors, &crc, &size));
  TY_RETURN_IF_ERROR(write_whole(join_path(at, checkpoint_rank_file(rank) + ".sum"),
                                 absl::StrCat(size, " ", crc, " ", run_nonce, "\n")));
  checkpoint_kill_point("after_rank_file", step);
  if (rank != 0) return absl::OkStatus();

  const auto deadline = std::chrono::steady_clock::now() + wait_for_ranks;
  std::vector<ManifestEntry> entries;
  for (int r = 0; r < world; ++r) {
    const std::string side = join_path(at, checkpoint_rank_file(r) + ".sum");
    int64_t rsize = -1;
    uint32_t rcrc = 0;
    uint64_t nonce = 0;
    for (;;) {  // this launch's sidecar of rank r, bounded in time
      absl::StatusOr<std::string> text = read_whole(side);
      if (text.ok()) {
        const std::vector<std::string> f = absl::StrSplit(*text, absl::ByAnyChar(" \n"), absl::SkipEmpty());
        if (f.size() == 3 && absl::SimpleAtoi(f[0], &rsize) && absl::SimpleAtoi(f[1], &rcrc) &&
            absl::SimpleAtoi(f[2], &nonce) && nonce == run_nonce)
          break;
      }
      if (!text.ok() && !absl::IsNotFound(text.status())) return text.status();
      if (std::chrono::steady_clock::now() > deadline)
        return absl::DeadlineExceededError(absl::StrCat(at, ": rank ", r, " did not upload its checkpoint file"));
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    entries.push_back({checkpoint_rank_file(r), rsize, rcrc});
  }
  // Every file is there at the size its rank stated (HEAD: a listing may lag behind).
  TY_ASSIGN_OR_RETURN(std::shared_ptr<S3Client> client, shared_s3_client());
  for (const ManifestEntry& e : entries) {
    TY_ASSIGN_OR_RETURN(S3Url url, parse_s3_url(join_path(at, e.name)));
    TY_ASSIGN_OR_RETURN(S3ObjectInfo info, client->head(url));
    if (info.size != e.size)
      return absl::UnavailableError(absl::StrCat(url.str(), ": ", info.size, " bytes, not the ", e.size,
                                                 " its rank's sidecar states"));
  }
  TY_RETURN_IF_ERROR(write_whole(join_path(at, "MANIFEST"), manifest_text(world, entries)));
  checkpoint_kill_point("after_manifest_rename", step);
  return absl::OkStatus();
}

void remove_partial(const std::string& given) {
  const std::string dir = normalized(given);
  auto listed = list_steps(dir);
  if (!listed.ok()) return;
  for (const auto& [step, objects] : *listed)
    if (!objects.count("MANIFEST")) remove_step(dir, step, objects);
}

void prune(const std::string& given, int keep) {
  const std::string dir = normalized(given);
  auto listed = list_steps(dir);
  if (!listed.ok()) {
    LOG(WARNING) << "checkpoint retention: " << listed.status().message();
    return;
  }
  int kept = 0;
  for (const auto& [step, objects] : *listed) {  // newest first
    if (!objects.count("MANIFEST")) continue;
    if (++kept > std::max(keep, 1)) remove_step(dir, step, objects);
  }
}

FoundCheckpoint find_latest(const std::string& given, VerifyShare share, int64_t at_most) {
  const std::string dir = normalized(given);
  FoundCheckpoint found;
  auto listed = list_steps(dir);
  if (!listed.ok()) {
    found.error = listed.status();
    return found;
  }
  std::shared_ptr<S3Client> client;
  for (const auto& [step, objects] : *listed) {
    if (step > at_most) continue;
    const std::string at = step_dir(dir, step);
    auto verified = [&]() -> absl::StatusOr<int> {
      if (!objects.count("MANIFEST")) return absl::NotFoundError(absl::StrCat(at, ": no MANIFEST (torn checkpoint)"));
      TY_ASSIGN_OR_RETURN(std::string text, read_whole(join_path(at, "MANIFEST")));
      int world = 0;
      TY_ASSIGN_OR_RETURN(std::vector<ManifestEntry> files, parse_manifest(join_path(at, "MANIFEST"), text, &world));
      for (size_t i = 0; i < files.size(); ++i) {
        const ManifestEntry& f = files[i];
        if (!share.reads(static_cast<int>(i))) {  // another rank reads it: here its size (HEAD)
          if (!client) {
            TY_ASSIGN_OR_RETURN(client, shared_s3_client());
          }
          TY_ASSIGN_OR_RETURN(S3Url url, parse_s3_url(join_path(at, f.name)));
          TY_ASSIGN_OR_RETURN(S3ObjectInfo info, client->head(url));
          if (info.size != f.size)
            return absl::DataLossError(absl::StrCat(url.str(), ": size ", info.size,
                                                    " does not match the manifest (", f.size, ")"));
          continue;
        }
        TY_ASSIGN_OR_RETURN(std::string bytes, read_whole(join_path(at, f.name)));
        const uint32_t got = crc32c(bytes.data(), bytes.size());
        if (static_cast<int64_t>(bytes.size()) != f.size || got != f.crc)
          return absl::DataLossError(absl::StrCat(join_path(at, f.name), ": size ", bytes.size(), " and CRC32C ", got,
                                                  " do not match the manifest (", f.size, ", ", f.crc, ")"));
      }
      return world;
    }();
    // Torn (no MANIFEST, a file gone) or corrupt: the next older one. Anything else (the
    // store failing, access denied) is no reason to take an older one.
    if (!verified.ok() && !absl::IsNotFound(verified.status()) && !absl::IsDataLoss(verified.status())) {
      found.error = verified.status();
      return found;
    }
    if (!verified.ok()) {
      found.skipped.push_back(std::string(verified.status().message()));
      continue;
    }
    found.dir = at;
    found.step = step;
    found.world = *verified;
    return found;
  }
  return found;
}

}  // namespace ty::object_checkpoints
