// ReadFile: any byte range with or without O_DIRECT, and errors that name the file.
#include "storage/stream/read_file.h"

#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace ty {
namespace {

class ReadFileTest : public TempDirTest {};

TEST_F(ReadFileTest, AnyRangeBufferedAndDirect) {
  std::string bytes(3 * 4096 + 123, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 31 + 7);
  const std::string p = write("f", bytes);
  for (int mode : {0, 1, 2}) {  // pread, mmap, O_DIRECT
    const bool direct = mode == 2;
    auto f = ReadFile::open(p, direct, mode == 1);
    if (!f.ok() && direct) GTEST_SKIP() << "O_DIRECT unsupported here: " << f.status();
    ASSERT_TRUE(f.ok()) << f.status();
    EXPECT_EQ(f->size(), static_cast<int64_t>(bytes.size()));
    AlignedBuffer buf;
    for (auto [off, len] : std::vector<std::pair<int64_t, int64_t>>{{0, 1},
                                                                    {1, 4095},
                                                                    {4095, 2},
                                                                    {4096, 4096},
                                                                    {5000, 7000},
                                                                    {0, static_cast<int64_t>(bytes.size())},
                                                                    {static_cast<int64_t>(bytes.size()) - 10, 10},
                                                                    {100, 0}}) {
      auto got = f->read(off, len, buf);
      ASSERT_TRUE(got.ok()) << got.status() << " direct " << direct << " at " << off;
      EXPECT_EQ(std::string(*got, len), bytes.substr(off, len)) << "direct " << direct << " at " << off;
    }
    auto past = f->read(static_cast<int64_t>(bytes.size()) - 10, 11, buf);
    EXPECT_EQ(past.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_NE(past.status().message().find(p), std::string::npos) << past.status();
  }
}

TEST_F(ReadFileTest, MissingFileIsNamed) {
  auto f = ReadFile::open(path("nope"), false);
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.status().message().find(path("nope")), std::string::npos);
}

}  // namespace
}  // namespace ty
