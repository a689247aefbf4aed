// GPUDirect Storage through cuFile, against the tests' stub libcufile (tests/support/cufile_stub.c:
// host memory for device buffers, pread for reads): the direct path is live only when every
// step succeeds, each failure says which step and cuFile's error, reads continue short
// ones and report I/O errors and truncation naming the file and offset. cuFile's driver is
// opened once per process, so each case runs in a fresh one (a "threadsafe" death test).
#include "storage/gpu_direct/gpu_direct_file.h"

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>

#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace ty {
namespace {

class GpuDirect : public TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    data_.resize(3 * 4096 + 1000);
    std::mt19937 gen(7);
    for (auto& c : data_) c = static_cast<char>(gen());
    file_ = write("shard.bin", data_);
  }
  // In a fresh process with the stub in `mode`: reads the whole file through cuFile into a
  // "device" buffer and exits 0 when the bytes match; otherwise prints the error and exits 1.
  [[noreturn]] void read_all(const char* mode) const {
    ::setenv("TRAINYARD_CUFILE_LIBRARY", TRAINYARD_CUFILE_STUB, 1);
    ::setenv("CUFILE_STUB", mode, 1);
    auto f = GpuDirectFile::open(file_);
    if (!f.ok()) {
      std::fprintf(stderr, "open: %s\n", std::string(f.status().message()).c_str());
      std::exit(1);
    }
    void* mem = std::aligned_alloc(4096, 4 * 4096);
    auto buf = GpuDirectBuffer::register_memory(mem, 4 * 4096);
    if (!buf.ok()) {
      std::fprintf(stderr, "buffer: %s\n", std::string(buf.status().message()).c_str());
      std::exit(1);
    }
    absl::Status st = (*f)->read(0, (*f)->size(), **buf, 0);
    if (!st.ok()) {
      std::fprintf(stderr, "read: %s (code %d)\n", std::string(st.message()).c_str(), static_cast<int>(st.code()));
      std::exit(1);
    }
    std::exit(std::memcmp(mem, data_.data(), data_.size()) == 0 ? 0 : 2);
  }
  std::string data_, file_;
};

TEST_F(GpuDirect, ReadsTheFileWhenTheDirectPathIsLive) {
  EXPECT_EXIT(read_all("live"), ::testing::ExitedWithCode(0), "");
}

TEST_F(GpuDirect, ContinuesShortReads) { EXPECT_EXIT(read_all("short_reads"), ::testing::ExitedWithCode(0), ""); }

TEST_F(GpuDirect, ADriverThatWillNotOpenIsNotLiveNamingWhy) {
  EXPECT_EXIT(read_all("no_driver"), ::testing::ExitedWithCode(1),
              "open: GPUDirect Storage is not live: .*cuFileDriverOpen failed: CU_FILE_DRIVER_NOT_INITIALIZED");
}

TEST_F(GpuDirect, CompatibilityModeIsNotLive) {
  EXPECT_EXIT(read_all("compat"), ::testing::ExitedWithCode(1), "nvidia-fs kernel module is not loaded.*compatibility mode");
}

TEST_F(GpuDirect, UnreadablePropertiesAreNotLive) {
  EXPECT_EXIT(read_all("props_fail"), ::testing::ExitedWithCode(1), "cuFileDriverGetProperties failed: CU_FILE_DRIVER_INVALID_PROPS");
}

TEST_F(GpuDirect, ARefusedFileHandleIsNotLiveNamingTheFile) {
  EXPECT_EXIT(read_all("register_fails"), ::testing::ExitedWithCode(1),
              "shard.bin: cuFileHandleRegister failed: CU_FILE_IO_NOT_SUPPORTED");
}

TEST_F(GpuDirect, ARefusedBufferIsNotLive) {
  EXPECT_EXIT(read_all("buf_fails"), ::testing::ExitedWithCode(1), "buffer: .*cuFileBufRegister of 16384 bytes");
}

TEST_F(GpuDirect, ACuFileIoErrorNamesTheFileAndOffset) {
  EXPECT_EXIT(read_all("io_error"), ::testing::ExitedWithCode(1),
              "read: .*shard.bin: cuFileRead failed at byte offset 0: CU_FILE_IO_ERROR \\(5044\\) \\(code 14\\)");
}

TEST_F(GpuDirect, AnErrnoFromTheFilesystemIsNamed) {
  EXPECT_EXIT(read_all("errno_eio"), ::testing::ExitedWithCode(1), "cuFileRead failed at byte offset 0: Input/output error");
}

TEST_F(GpuDirect, AFileThatShrankIsDataLoss) {
  EXPECT_EXIT(read_all("zero_read"), ::testing::ExitedWithCode(1), "shard.bin: truncated at byte offset 0 .*\\(code 15\\)");
}

TEST_F(GpuDirect, NoLibraryIsNotLiveNamingWhereItLooked) {
  EXPECT_EXIT(
      {
        ::setenv("TRAINYARD_CUFILE_LIBRARY", "/nonexistent/libcufile.so.0", 1);
        auto f = GpuDirectFile::open(file_);
        std::fprintf(stderr, "%s\n", std::string(f.status().message()).c_str());
        std::exit(f.ok() ? 0 : 1);
      },
      ::testing::ExitedWithCode(1), "cuFile cannot be loaded \\(.*/nonexistent/libcufile.so.0.*libcufile.so");
}

TEST_F(GpuDirect, ARangePastTheEndIsDataLossWithoutReading) {
  EXPECT_EXIT(
      {
        ::setenv("TRAINYARD_CUFILE_LIBRARY", TRAINYARD_CUFILE_STUB, 1);
        auto f = GpuDirectFile::open(file_);
        void* mem = std::aligned_alloc(4096, 8 * 4096);
        auto buf = GpuDirectBuffer::register_memory(mem, 8 * 4096);
        if (!f.ok() || !buf.ok()) std::exit(3);
        absl::Status st = (*f)->read(4096, 4 * 4096, **buf, 0);
        std::fprintf(stderr, "%s\n", std::string(st.message()).c_str());
        std::exit(st.code() == absl::StatusCode::kDataLoss ? 1 : 0);
      },
      ::testing::ExitedWithCode(1), "shard.bin: bytes \\[4096, 20480\\) lie past its end \\(13288 bytes");
}

}  // namespace
}  // namespace ty
