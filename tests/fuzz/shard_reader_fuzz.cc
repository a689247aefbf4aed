// libFuzzer target: arbitrary bytes as a shard file. The reader must return an error or
// records — never crash, hang, or allocate by an unchecked size (ASan/UBSan watch).
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "storage/shard/shard_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = "/tmp/trainyard_shard_fuzz_" + std::to_string(::getpid()) + ".tyshard";
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return 0;
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  auto reader = ty::ShardReader::open(path);
  if (reader.ok()) {
    (void)reader->verify();
    if (reader->records() > 0) (void)reader->record_offset(reader->records() - 1);
  }
  return 0;
}
