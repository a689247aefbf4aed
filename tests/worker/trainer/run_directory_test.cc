// The run directory: refused paths, one run at a time (the lock names its holder), unique
// default names; and with the real binary, a second run into a busy directory exits 2.
#include "worker/trainer/run_directory.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/support/shell.h"
#include "tests/support/temp_dir.h"

namespace ty {
namespace {

class RunDir : public TempDirTest {};

std::string error_of(const std::string& path) {
  auto d = RunDirectory::open_and_lock(path);
  return d.ok() ? "OK" : std::string(d.status().message());
}

TEST_F(RunDir, RefusesTheRootLongComponentsFilesAndForeignDirectories) {
  EXPECT_NE(error_of("/").find("is the root of the file system"), std::string::npos);
  EXPECT_NE(error_of(path("a") + "/../../../../../../../..").find("is the root"), std::string::npos);
  const std::string long_err = error_of(path(std::string(256, 'x')));
  EXPECT_NE(long_err.find("a path component is 256 bytes"), std::string::npos) << long_err;
  std::ofstream(path("file")) << "x";
  EXPECT_NE(error_of(path("file")).find("exists and is not a directory"), std::string::npos);
  std::filesystem::create_directories(path("foreign"));
  std::ofstream(path("foreign") + "/metrics.jsonl") << "{}\n";
  EXPECT_NE(error_of(path("foreign")).find("is not empty and is not a trainyard run directory"), std::string::npos);
  auto st = RunDirectory::open_and_lock("/");
  EXPECT_EQ(st.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(RunDir, OneHolderAtATimeNamedInTheError) {
  auto first = RunDirectory::open_and_lock(path("run"), 3);
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = RunDirectory::open_and_lock(path("run"));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_NE(second.status().message().find(absl::StrCat("is in use by pid ", getpid())), std::string::npos)
      << second.status();
  EXPECT_NE(second.status().message().find("(attempt 3)"), std::string::npos) << second.status();
  first->reset();  // the holder ends: the directory is free again, and is a run directory now
  EXPECT_TRUE(RunDirectory::open_and_lock(path("run")).ok());
}

TEST_F(RunDir, ReadOnlyCheckpointsAreFoundAtTheStart) {
  const std::string dir = path("ro");
  std::filesystem::create_directories(dir + "/checkpoints");
  std::ofstream(dir + "/job.yaml") << "x";
  if (run_shell("mount -t tmpfs -o size=1m,ro tmpfs " + dir + "/checkpoints", 10).code != 0)
    GTEST_SKIP() << "cannot mount a tmpfs here";
  const std::string err = error_of(dir);
  run_shell("umount " + dir + "/checkpoints", 10);
  EXPECT_NE(err.find(dir + "/checkpoints: cannot write into it (Read-only file system)"), std::string::npos) << err;
}

TEST(DefaultRunDir, NamesCarryUtcTimeAndRandomBits) {
  EXPECT_EQ(default_run_dir("mlp", 0, 0xabcdef), "runs/mlp-19700101-000000-abcdef");
  EXPECT_NE(default_run_dir("mlp", 0, 1), default_run_dir("mlp", 0, 2));
}

TEST_F(RunDir, ASecondTrainIntoABusyDirectoryExits2) {
  const std::string job = std::string(TRAINYARD_BINARY) + " train " + TRAINYARD_SOURCE_DIR +
                          "/examples/fashion_mnist_mlp.yaml --set runtime.threads=1 --set data.test= --run-dir " +
                          path("busy");
  FILE* p = popen(("exec " + job + " --set train.max_steps=100000 --set train.epochs=1000 > " + path("first.log") + " 2>&1").c_str(), "w");
  ASSERT_NE(p, nullptr);
  bool training = false;  // bounded wait until the first run trains
  for (int i = 0; i < 300 && !training; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::ifstream m(path("busy") + "/metrics.jsonl");
    training = m.good() && std::string((std::istreambuf_iterator<char>(m)), {}).find("\"train\"") != std::string::npos;
  }
  ShellResult second = run_shell(job + " --set train.max_steps=5", 60);
  run_shell("pkill -KILL -f 'trainyard train .*[-]-run-dir " + path("busy") + "'", 10);
  pclose(p);
  ASSERT_TRUE(training);
  EXPECT_EQ(second.code, 2) << second.output;
  EXPECT_NE(second.output.find("is in use by pid"), std::string::npos) << second.output;
  // The holder was killed: the kernel freed its lock, and the run resumes.
  ShellResult again = run_shell(job + " --set train.max_steps=5", 120);
  EXPECT_EQ(again.code, 0) << again.output;
}

}  // namespace
}  // namespace ty
