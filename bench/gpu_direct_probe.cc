// Is GPUDirect Storage live on this machine? Opens cuFile (storage/gpu_direct/cufile_api.h)
// and registers FILE (a shard; default: a 16 MiB file it writes in the directory given, or
// /tmp) the way the GPU data path will, and prints either "live" with the library and
// nvidia-fs version or the reason the direct path is not live (tests/device/check.sh (i)).
//
//   gpu_direct_probe [FILE]
#include <cstdio>
#include <fstream>
#include <string>

#include "storage/gpu_direct/gpu_direct_file.h"

int main(int argc, char** argv) {
  std::string path = argc > 1 ? argv[1] : "/tmp/gpu_direct_probe.bin";
  if (argc <= 1) {
    std::ofstream out(path, std::ios::binary);
    const std::string mib(1 << 20, '\x5a');
    for (int i = 0; i < 16; ++i) out << mib;
  }
  auto api = ty::open_gpu_direct_driver();
  if (!api.ok()) {
    std::printf("gpu_direct: not live: %s\n", std::string(api.status().message()).c_str());
    return 1;
  }
  ty::CuFileDriverProps props{};
  (*api)->driver_get_properties(&props);
  auto f = ty::GpuDirectFile::open(path);
  if (!f.ok()) {
    std::printf("gpu_direct: not live for %s: %s\n", path.c_str(), std::string(f.status().message()).c_str());
    return 1;
  }
  std::printf("gpu_direct: live (%s, nvidia-fs %u.%u, max direct I/O %zu KiB) for %s\n", (*api)->library.c_str(),
              props.nvfs.major_version, props.nvfs.minor_version, props.nvfs.max_direct_io_size, path.c_str());
  return 0;
}
