#include "worker/daemon/rank_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

extern char** environ;

namespace ty::daemon {

std::map<std::string, std::string> rank_environment(const std::map<std::string, std::string>& extra) {
  std::map<std::string, std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string kv = *e;
    const size_t eq = kv.find('=');
    if (eq == std::string::npos) continue;
    const std::string name = kv.substr(0, eq);
    if (name.rfind("OMPI_", 0) == 0 || name.rfind("PMIX_", 0) == 0 || name.rfind("SLURM_", 0) == 0) continue;
    // The coordinator's token and where to find it: a rank has its attempt's token only.
    if (name == "TRAINYARD_TOKEN" || name == "TRAINYARD_STATE_DIR" || name == "TRAINYARD_COORDINATOR") continue;
    env[name] = kv.substr(eq + 1);
  }
  for (const auto& [k, v] : extra) env[k] = v;
  return env;
}

absl::StatusOr<RankProcess> RankProcess::start(const std::vector<std::string>& argv,
                                               const std::map<std::string, std::string>& env, const std::string& dir,
                                               const std::string& log) {
  // Everything the child needs is built before fork: after it, only async-signal-safe calls.
  std::vector<std::string> env_text;
  for (const auto& [k, v] : env) env_text.push_back(k + "=" + v);
  std::vector<char*> cargv, cenv;
  for (const std::string& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  for (const std::string& e : env_text) cenv.push_back(const_cast<char*>(e.c_str()));
  cenv.push_back(nullptr);
  const int out = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (out < 0) return absl::UnavailableError(absl::StrCat(log, ": ", std::strerror(errno)));
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    close(out);
    return absl::UnavailableError(absl::StrCat("fork: ", std::strerror(errno)));
  }
  if (pid == 0) {
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);  // the daemon died before prctl took effect
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);  // the daemon blocks its stop signals; a rank must not
    if (chdir(dir.c_str()) != 0) _exit(126);
    dup2(out, 1);
    dup2(out, 2);
    const int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (in >= 0) dup2(in, 0);
    execve(cargv[0], cargv.data(), cenv.data());
    _exit(127);
  }
  close(out);
  setpgid(pid, pid);  // also here: no race with a kill sent before the child ran setpgid
  RankProcess p;
  p.pid_ = pid;
  p.log_ = log;
  return p;
}

std::optional<RankExit> RankProcess::poll() {
  if (exit_) return exit_;
  int status = 0;
  const pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == -1 && errno == ECHILD) {  // reaped elsewhere, or never ours: gone, how unknown
    exit_ = RankExit{-1, 0};
    return exit_;
  }
  if (r != pid_) return std::nullopt;
  RankExit e;
  if (WIFEXITED(status)) e.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) e.signal = WTERMSIG(status);
  exit_ = e;
  signal_group(SIGKILL);  // anything it left behind in its group
  return exit_;
}

void RankProcess::signal_group(int sig) const {
  if (pid_ > 0) kill(-pid_, sig);
}

std::string RankProcess::tail(int lines) const {
  std::ifstream in(log_);
  std::deque<std::string> last;
  for (std::string l; std::getline(in, l);) {
    last.push_back(l);
    if (static_cast<int>(last.size()) > lines) last.pop_front();
  }
  return absl::StrJoin(last, "\n");
}

}  // namespace ty::daemon
