// Ranks that no mpirun started, on several "hosts": network namespaces the test makes
// (tests/support/netns.h), one rank in each, meeting through rank 0's tcp:// store and
// talking over UCX's tcp transport (UCX_TLS=tcp,self: namespaces split only the network, so
// without it UCX would see one machine and use shared memory). Also what happens when a
// rank is killed, and when ranks are given different run directories.
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/support/jobs.h"
#include "tests/support/netns.h"
#include "tests/support/shell.h"
#include "tests/support/temp_dir.h"

namespace ty {
namespace {

class MultiHost : public TempDirTest {
 protected:
  static std::string job(int steps) { return mlp_job_args(steps); }
  // Below the ephemeral range (32768 and up), where an outgoing connection could hold it.
  static std::string port() { return std::to_string(21000 + ::getpid() % 11000); }
  // The environment of rank `r` of `n` meeting at `host`.
  static std::string contract(int r, int n, const std::string& host) {
    return "env TRAINYARD_WORLD_SIZE=" + std::to_string(n) + " TRAINYARD_RANK=" + std::to_string(r) +
           " TRAINYARD_RENDEZVOUS=tcp://" + host + ":" + port() + " TRAINYARD_JOB_ID=multihost ";
  }
};

TEST_F(MultiHost, RanksInThreeNetworkNamespacesTrainOverTcpLikeOneRank) {
  NetNamespaces hosts(3);
  if (!hosts.ok() && geteuid() != 0) GTEST_SKIP() << "network namespaces need root: " << hosts.error();
  ASSERT_TRUE(hosts.ok()) << hosts.error();
  ShellResult one = run_shell(std::string(TRAINYARD_BINARY) + " train " + job(50) + "--run-dir " + path("one"), 300);
  ASSERT_EQ(one.code, 0) << one.output;
  const std::vector<double> want = train_losses(path("one") + "/metrics.jsonl");
  ASSERT_EQ(want.size(), 50u);
  // Ranks 2 and 1 in the background, rank 0 in front; every rank's output kept.
  std::string cmd;
  const std::string dir = path("three");
  for (int r = 2; r >= 0; --r) {
    cmd += hosts.exec(r, contract(r, 3, hosts.address(0)) + "UCX_TLS=tcp,self " + TRAINYARD_BINARY + " train " +
                             job(50) + "--run-dir " + dir) +
           " > " + dir + ".rank" + std::to_string(r) + ".log 2>&1";
    cmd += r > 0 ? " & " : "; code=$?; wait; exit $code";
  }
  ShellResult three = run_shell(cmd, 300);
  std::ifstream log0(dir + ".rank0.log");
  const std::string header((std::istreambuf_iterator<char>(log0)), std::istreambuf_iterator<char>());
  ASSERT_EQ(three.code, 0) << three.output << header;
  EXPECT_NE(header.find("3 rank(s) x 1 threads, ucx (tcp)"), std::string::npos) << header;
  const std::vector<double> got = train_losses(dir + "/metrics.jsonl");
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-5 * std::fabs(want[i])) << "step " << i + 1;
}

TEST_F(MultiHost, WhenOneRankIsKilledTheOthersExit3NamingItWithinFiveSeconds) {
  const std::string dir = path("killed");
  // Three ranks on loopback, each recording its exit code and when it ended; rank 1's pid
  // is kept so the test can kill it once training runs.
  struct KillLeftovers {  // whatever happens below, no rank outlives the test
    std::string dir;
    ~KillLeftovers() { run_shell("pkill -9 -f -- '--run-dir " + dir + "$'; true", 10); }
  } leftovers{dir};
  std::string cmd = "cd " + path("") + "; ";
  for (int r = 0; r < 3; ++r) {
    const std::string log = dir + ".rank" + std::to_string(r);
    const std::string rank = contract(r, 3, "127.0.0.1") + TRAINYARD_BINARY + " train " + job(100000) + "--set train.epochs=1000 ";
    cmd += absl::StrCat("(", rank, "--run-dir ", dir, " > ", log, ".log 2>&1 & echo $! > ", log, ".pid; wait $!; ",
                        "echo $? > ", log, ".code; date +%s.%N > ", log, ".end) > /dev/null 2>&1 & ");
  }
  ShellResult started = run_shell(cmd + "true", 30);
  ASSERT_EQ(started.code, 0) << started.output;
  auto read = [&](const std::string& name) {
    std::ifstream in(dir + name);
    std::string s;
    std::getline(in, s);
    return s;
  };
  // Training has begun once the metrics hold a few steps (bounded: 120 s).
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (train_losses(dir + "/metrics.jsonl").size() < 5 && std::chrono::steady_clock::now() < give_up)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_GE(train_losses(dir + "/metrics.jsonl").size(), 5u) << read(".rank0.log");
  const std::string victim = read(".rank1.pid");
  ASSERT_FALSE(victim.empty());
  ShellResult killed = run_shell("kill -9 " + victim + "; date +%s.%N", 10);
  ASSERT_EQ(killed.code, 0) << killed.output;
  const double killed_at = std::stod(killed.output);
  // Both others end (bounded: 30 s), with code 3, naming rank 1.
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while ((read(".rank0.end").empty() || read(".rank2.end").empty()) && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  for (int r : {0, 2}) {
    const std::string name = ".rank" + std::to_string(r);
    std::ifstream log(dir + name + ".log");
    const std::string output((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
    ASSERT_FALSE(read(name + ".end").empty()) << "rank " << r << " still runs:\n" << output;
    EXPECT_EQ(read(name + ".code"), "3") << output;
    EXPECT_LT(std::stod(read(name + ".end")) - killed_at, 5.0) << output;
    EXPECT_NE(output.find("rank 1"), std::string::npos) << output;
  }
  // Nothing of the job is left running.
  ShellResult left = run_shell("pgrep -f -- '--run-dir " + dir + "$' || true", 10);
  EXPECT_EQ(left.output, "") << "processes left behind";
}

TEST_F(MultiHost, ARankGivenAnotherRunDirectoryIsTheUsersErrorNamingBoth) {
  const std::string cmd = contract(1, 2, "127.0.0.1") + TRAINYARD_BINARY + " train " + job(5) + "--run-dir " +
                          path("b") + " > " + path("b.log") + " 2>&1 & " + contract(0, 2, "127.0.0.1") +
                          TRAINYARD_BINARY + " train " + job(5) + "--run-dir " + path("a") +
                          "; code=$?; wait $!; other=$?; cat " + path("b.log") + "; echo codes $code $other";
  ShellResult r = run_shell(cmd, 120);
  EXPECT_NE(r.output.find("codes 2 2"), std::string::npos) << r.output;
  const std::string named = "rank 1 was given --run-dir " + path("b") + " but rank 0 " + path("a");
  EXPECT_NE(r.output.find("rank 0 of 2: " + named), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("rank 1 of 2: " + named), std::string::npos) << r.output;
}

}  // namespace
}  // namespace ty
