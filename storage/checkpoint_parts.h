// What the two checkpoint stores (a directory, checkpoint.cc; an object-store prefix,
// checkpoint_object.cc) share: names, the MANIFEST's text, and the fault-injection kill points.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace ty {

// step-0000000040
std::string checkpoint_step_name(int64_t step);
// The step of a name of that form; false for anything else (a backup copy, a .partial).
bool parse_checkpoint_step_name(const std::string& name, int64_t* step);
// rank-00003.bin
std::string checkpoint_rank_file(int rank);

struct ManifestEntry {
  std::string name;
  int64_t size = 0;
  uint32_t crc = 0;
};
// "world W" then one "file NAME SIZE CRC" line per rank.
std::string manifest_text(int world, const std::vector<ManifestEntry>& files);
// Its world size and entries; an error naming `where` when malformed or when the files are
// not one per rank.
absl::StatusOr<std::vector<ManifestEntry>> parse_manifest(const std::string& where, const std::string& text,
                                                          int* world);

// Fault-injection kill points for tests: TRAINYARD_FAULT_CKPT=<point> SIGKILLs the writer
// there, in the save of step TRAINYARD_FAULT_CKPT_STEP (any step when unset).
void checkpoint_kill_point(const char* point, int64_t step);

}  // namespace ty
