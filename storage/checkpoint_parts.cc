#include "storage/checkpoint_parts.h"

#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace ty {

std::string checkpoint_step_name(int64_t step) { return absl::StrFormat("step-%010d", step); }

bool parse_checkpoint_step_name(const std::string& name, int64_t* step) {
  return name.rfind("step-", 0) == 0 && name.size() == 15 && absl::SimpleAtoi(name.substr(5), step) && *step >= 0;
}

std::string checkpoint_rank_file(int rank) { return absl::StrFormat("rank-%05d.bin", rank); }

std::string manifest_text(int world, const std::vector<ManifestEntry>& files) {
  std::string text = absl::StrCat("world ", world, "\n");
  for (const ManifestEntry& f : files) absl::StrAppend(&text, "file ", f.name, " ", f.size, " ", f.crc, "\n");
  return text;
}

absl::StatusOr<std::vector<ManifestEntry>> parse_manifest(const std::string& where, const std::string& text,
                                                          int* world) {
  std::istringstream in(text);
  std::string word;
  *world = 0;
  if (!(in >> word >> *world) || word != "world" || *world < 1)
    return absl::DataLossError(absl::StrCat(where, ": malformed"));
  std::vector<ManifestEntry> files;
  ManifestEntry e;
  while (in >> word >> e.name >> e.size >> e.crc) {
    if (word != "file" || e.name.find('/') != std::string::npos)
      return absl::DataLossError(absl::StrCat(where, ": malformed entry ", e.name));
    files.push_back(e);
  }
  if (static_cast<int>(files.size()) != *world)
    return absl::DataLossError(absl::StrCat(where, ": ", files.size(), " files for ", *world, " ranks"));
  return files;
}

void checkpoint_kill_point(const char* point, int64_t step) {
  static const char* armed = std::getenv("TRAINYARD_FAULT_CKPT");
  static const char* at_step = std::getenv("TRAINYARD_FAULT_CKPT_STEP");
  if (armed && std::string(armed) == point && (!at_step || std::atoll(at_step) == step)) ::kill(::getpid(), SIGKILL);
}

}  // namespace ty
