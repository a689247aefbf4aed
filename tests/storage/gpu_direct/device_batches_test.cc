// storage.gpu_direct's choice (device_batches.h) over the tests' stub libcufile and the host
// DeviceIo: auto takes cuFile where it is live and the staged path otherwise, saying why
// (no driver, nvidia-fs not loaded, a handle refused, device memory refused); on fails naming
// why; off stages; token records are staged. cuFile's driver is opened once per process,
// so each case runs in a fresh one.
#include "storage/gpu_direct/device_batches.h"

#include <cstdio>
#include <cstdlib>

#include "gtest/gtest.h"
#include "tests/support/image_shards.h"
#include "tests/support/temp_dir.h"

namespace ty {
namespace {

class DeviceBatchesTest : public TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    paths_ = write_image_shards(path("d"), 200, 20, 10);
  }
  // In a fresh process with the stub in `stub_mode`: opens the batches in `mode`, takes one
  // batch, prints "direct|staged: <path>" or the error, and exits 0 (opened) or 1.
  [[noreturn]] void choose(const char* stub_mode, GpuDirectMode mode) const {
    ::setenv("TRAINYARD_CUFILE_LIBRARY", TRAINYARD_CUFILE_STUB, 1);
    ::setenv("CUFILE_STUB", stub_mode, 1);
    auto set = ShardSet::open(paths_, ShardSetOptions{10, false});
    StreamOptions o;
    o.global_batch = 16;
    auto b = set.ok() ? open_device_batches(*set, o, mode, host_device_io(), host_memory())
                      : absl::StatusOr<DeviceBatches>(set.status());
    if (!b.ok()) {
      std::fprintf(stderr, "error: %s\n", std::string(b.status().message()).c_str());
      std::exit(1);
    }
    Batch batch;
    const bool good = b->source->seek(0, 0).ok() && b->source->next(batch).ok() && batch.rows() == 16;
    std::fprintf(stderr, "%s: %s\n", b->direct ? "direct" : "staged", b->path.c_str());
    b->source.reset();  // (its threads end before exit)
    std::exit(good ? 0 : 2);
  }
  std::vector<std::string> paths_;
};

TEST_F(DeviceBatchesTest, AutoTakesCuFileWhereItIsLive) {
  EXPECT_EXIT(choose("live", GpuDirectMode::kAuto), ::testing::ExitedWithCode(0), "direct: GPUDirect Storage");
  EXPECT_EXIT(choose("live", GpuDirectMode::kOn), ::testing::ExitedWithCode(0), "direct: GPUDirect Storage");
  EXPECT_EXIT(choose("live", GpuDirectMode::kOff), ::testing::ExitedWithCode(0),
              "staged: staged .*storage.gpu_direct: off");
}

TEST_F(DeviceBatchesTest, AutoStagesAndSaysWhyWhereCuFileIsNotLive) {
  EXPECT_EXIT(choose("no_driver", GpuDirectMode::kAuto), ::testing::ExitedWithCode(0),
              "staged: staged .*cuFile not live: .*cuFileDriverOpen");
  EXPECT_EXIT(choose("compat", GpuDirectMode::kAuto), ::testing::ExitedWithCode(0),
              "staged: .*cuFile not live: .*compatibility mode");
  EXPECT_EXIT(choose("register_fails", GpuDirectMode::kAuto), ::testing::ExitedWithCode(0),
              "staged: .*cuFile not live: .*cuFileHandleRegister");
  EXPECT_EXIT(choose("buf_fails", GpuDirectMode::kAuto), ::testing::ExitedWithCode(0),
              "staged: .*cuFile not live: .*cuFileBufRegister");
}

TEST_F(DeviceBatchesTest, OnFailsNamingWhyTheDirectPathIsNotLive) {
  EXPECT_EXIT(choose("no_driver", GpuDirectMode::kOn), ::testing::ExitedWithCode(1),
              "storage.gpu_direct: on, but the direct path is not live: .*cuFileDriverOpen");
  EXPECT_EXIT(choose("compat", GpuDirectMode::kOn), ::testing::ExitedWithCode(1),
              "storage.gpu_direct: on, but the direct path is not live: .*compatibility mode");
  EXPECT_EXIT(choose("register_fails", GpuDirectMode::kOn), ::testing::ExitedWithCode(1),
              "not live: .*cuFileHandleRegister");
}

}  // namespace
}  // namespace ty
