// Several "hosts" on one machine: network namespaces, each with its own address on a
// bridge that only they share (veth pairs), made for one test and removed when it ends —
// passed or failed — so that processes started in them (`exec(i, cmd)`) reach each other
// only over the network (10.77.N.1 ... 10.77.N.k, N from the test's pid).
#pragma once

#include <unistd.h>

#include <string>
#include <vector>

#include "tests/support/shell.h"

namespace ty {

class NetNamespaces {
 public:
  // Makes `count` namespaces; ok() says whether it worked, error() what failed.
  explicit NetNamespaces(int count) {
    const std::string id = std::to_string(::getpid() % 100000);
    subnet_ = "10.77." + std::to_string(::getpid() % 250) + ".";
    bridge_ = "tyb" + id;
    std::string cmd = "set -e; ip link add " + bridge_ + " type bridge; ip link set " + bridge_ + " up; ";
    for (int i = 0; i < count; ++i) {
      const std::string ns = "ty" + id + "-" + std::to_string(i), veth = "tyv" + id + "-" + std::to_string(i);
      names_.push_back(ns);
      cmd += "ip netns add " + ns + "; ip link add " + veth + " type veth peer name eth0 netns " + ns +
             "; ip link set " + veth + " master " + bridge_ + " up; ip -n " + ns + " addr add " + address(i) +
             "/24 dev eth0; ip -n " + ns + " link set eth0 up; ip -n " + ns + " link set lo up; ";
    }
    ShellResult r = run_shell(cmd, 60);
    ok_ = r.code == 0;
    error_ = r.output;
  }
  ~NetNamespaces() {
    std::string cmd;
    for (const std::string& ns : names_) cmd += "ip netns pids " + ns + " | xargs -r kill -9; ip netns del " + ns + "; ";
    run_shell(cmd + "ip link del " + bridge_ + " 2>/dev/null; true", 60);
  }
  NetNamespaces(const NetNamespaces&) = delete;
  NetNamespaces& operator=(const NetNamespaces&) = delete;

  bool ok() const { return ok_; }
  const std::string& error() const { return error_; }
  // The address of "host" i.
  std::string address(int i) const { return subnet_ + std::to_string(i + 1); }
  // `cmd` run inside namespace i.
  std::string exec(int i, const std::string& cmd) const { return "ip netns exec " + names_[i] + " " + cmd; }

 private:
  std::string subnet_, bridge_;
  std::vector<std::string> names_;
  bool ok_ = false;
  std::string error_;
};

}  // namespace ty
