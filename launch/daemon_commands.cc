// The two daemons: `trainyard coordinator` (coordinator/) and `trainyard worker`
// (worker/daemon/), each running until SIGTERM or Ctrl-C.
#include <httplib.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "coordinator/api.h"
#include "coordinator/job_store.h"
#include "coordinator/token.h"
#include "launch/commands.h"
#include "launch/coordinator_client.h"
#include "worker/daemon/worker_daemon.h"
#include "worker/trainer/interrupts.h"

namespace ty {
namespace {

bool is_loopback(const std::string& host) { return host == "127.0.0.1" || host == "localhost" || host == "::1"; }

constexpr char kCoordinatorUsage[] =
    "usage: trainyard coordinator [--listen HOST:PORT] --state-dir DIR --runs-dir DIR [--tls-cert F --tls-key F] "
    "[--insecure-listen] [--worker-timeout SECONDS]\n";

}  // namespace

int coordinator_command(const std::vector<std::string>& args) {
  std::string listen = "127.0.0.1:7070", state_dir, runs_dir, cert, key, worker_timeout = "5";
  bool insecure = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--insecure-listen") {
      insecure = true;
      continue;
    }
    if (a == "--help") return std::fputs(kCoordinatorUsage, stdout), 0;
    std::string* into = a == "--listen" ? &listen : a == "--state-dir" ? &state_dir : a == "--runs-dir" ? &runs_dir
                                                  : a == "--tls-cert" ? &cert : a == "--tls-key" ? &key
                                                  : a == "--worker-timeout" ? &worker_timeout : nullptr;
    if (into == nullptr) return command_usage_error("coordinator", "unknown argument " + a, kCoordinatorUsage);
    if (i + 1 == args.size()) return command_usage_error("coordinator", a + " needs a value", kCoordinatorUsage);
    *into = args[++i];
  }
  if (state_dir.empty() || runs_dir.empty())
    return command_usage_error("coordinator", "--state-dir and --runs-dir are required", kCoordinatorUsage);
  double timeout_s = 0;
  if (!absl::SimpleAtod(worker_timeout, &timeout_s) || !(timeout_s >= 2 && timeout_s <= 3600))
    return command_usage_error("coordinator",
                               "--worker-timeout " + worker_timeout +
                                   ": seconds from 2 to 3600 (workers heartbeat at least every second)",
                               kCoordinatorUsage);
  const size_t colon = listen.rfind(':');
  int port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(listen.substr(colon + 1), &port) || port < 0 || port > 65535)
    return command_usage_error("coordinator", "--listen " + listen + ": expected HOST:PORT", kCoordinatorUsage);
  std::string host = listen.substr(0, colon);
  if (host.size() > 1 && host.front() == '[') host = host.substr(1, host.size() - 2);
  if (cert.empty() != key.empty())
    return command_usage_error("coordinator", "--tls-cert and --tls-key go together", kCoordinatorUsage);
  if (!is_loopback(host) && cert.empty() && !insecure)
    return command_usage_error("coordinator",
                       "--listen " + listen +
                           " reaches beyond this host: give --tls-cert and --tls-key, or --insecure-listen to send "
                           "the token in clear text",
                       kCoordinatorUsage);
  std::error_code ec;
  for (const std::string& d : {state_dir, runs_dir})
    if (std::filesystem::create_directories(d, ec); ec)
      return command_error("coordinator", absl::FailedPreconditionError(d + ": " + ec.message()));
  absl::StatusOr<coordinator::Token> token = coordinator::load_or_create_token(state_dir);
  if (!token.ok()) return command_error("coordinator", token.status());
  // Specs' `env` may hold credentials: the database and its WAL files are the coordinator's
  // alone. SQLite gives -wal and -shm the database's mode, so it is set before they exist.
  const std::string db = state_dir + "/state.db";
  if (const int fd = ::open(db.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600); fd >= 0) ::close(fd);
  for (const std::string& f : {db, db + "-wal", db + "-shm"}) ::chmod(f.c_str(), 0600);
  const mode_t umask_before = ::umask(077);
  absl::StatusOr<std::unique_ptr<coordinator::JobStore>> store = coordinator::JobStore::open(db);
  ::umask(umask_before);
  if (!store.ok()) return command_error("coordinator", store.status());
  std::unique_ptr<httplib::Server> server;
  if (!cert.empty())
    server = std::make_unique<httplib::SSLServer>(cert.c_str(), key.c_str());
  else
    server = std::make_unique<httplib::Server>();
  if (!server->is_valid())
    return command_error("coordinator", absl::InvalidArgumentError("--tls-cert " + cert + " / --tls-key " + key +
                                                          ": not a usable certificate and key (PEM)"));
  absl::StatusOr<std::unique_ptr<coordinator::Rendezvous>> rendezvous = coordinator::Rendezvous::load(**store);
  if (!rendezvous.ok()) return command_error("coordinator", rendezvous.status());
  coordinator::Cluster::Options cluster_options;
  cluster_options.runs_dir = std::filesystem::absolute(runs_dir).lexically_normal().string();
  cluster_options.token = token->value;
  cluster_options.worker_timeout = std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
  cluster_options.attempt_gone = [&r = **rendezvous](int64_t job, int attempt) { r.drop(job, attempt); };
  coordinator::Cluster cluster(**store, cluster_options);
  coordinator::install_api(*server, **store, cluster, **rendezvous, {token->value, cluster_options.runs_dir});
  const int bound = port == 0 ? server->bind_to_any_port(host) : (server->bind_to_port(host, port) ? port : -1);
  if (bound < 0)
    return command_error("coordinator", absl::UnavailableError("cannot listen on " + listen + " (in use, or not this host's)"));
  const std::string url = absl::StrCat(cert.empty() ? "http://" : "https://",
                                       host.find(':') != std::string::npos ? "[" + host + "]" : host, ":", bound);
  std::printf("trainyard coordinator: listening on %s\n  token: %s (%s)\n  state: %s/state.db\n", url.c_str(),
              token->path.c_str(), token->created ? "new" : "kept", state_dir.c_str());
  std::fflush(stdout);
  arm_interrupts();  // SIGTERM / Ctrl-C: stop serving, then exit 0
  std::thread stopper([&] {  // also the scheduler's clock: lost workers, waiting jobs
    while (take_interrupt_request() != InterruptRequest::kCheckpointAndStop) {
      cluster.tick();
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    server->stop();
  });
  server->listen_after_bind();
  stopper.join();
  std::printf("trainyard coordinator: stopped\n");
  return 0;
}

int worker_command(const std::vector<std::string>& argv) {
  constexpr char kUsage[] =
      "usage: trainyard worker --coordinator URL [--slots N] [--gpus auto|none|LIST] --work-dir DIR [--name NAME] "
      "[--token-file F] [--tls-ca F]\n";
  std::vector<std::string> args = argv;
  absl::StatusOr<CoordinatorAddress> at = coordinator_address(args);
  if (!at.ok()) return command_usage_error("worker", std::string(at.status().message()), kUsage);
  daemon::WorkerOptions o;
  o.coordinator = at->url;
  o.token = at->token;
  if (!at->tls_ca.empty()) o.tls_ca = std::filesystem::absolute(at->tls_ca).lexically_normal().string();
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  o.name = host;
  std::string gpus = "auto";
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (i + 1 == args.size()) return command_usage_error("worker", "unknown argument " + a, kUsage);
    const std::string& v = args[++i];
    if (a == "--slots") {
      if (!absl::SimpleAtoi(v, &o.slots) || o.slots < 0) return command_usage_error("worker", "--slots " + v + ": expected a whole number", kUsage);
    } else if (a == "--work-dir") {
      o.work_dir = std::filesystem::absolute(v).lexically_normal().string();
    } else if (a == "--name") {
      o.name = v;
    } else if (a == "--gpus") {
      gpus = v;
    } else {
      return command_usage_error("worker", "unknown argument " + a, kUsage);
    }
  }
  absl::StatusOr<std::vector<std::string>> found = daemon::find_gpus(gpus);
  if (!found.ok()) return command_usage_error("worker", std::string(found.status().message()), kUsage);
  o.gpus = *found;
  if (o.work_dir.empty()) return command_usage_error("worker", "--work-dir is required", kUsage);
  std::error_code ec;
  if (std::filesystem::create_directories(o.work_dir, ec); ec)
    return command_error("worker", absl::FailedPreconditionError(o.work_dir + ": " + ec.message()));
  o.binary = std::filesystem::read_symlink("/proc/self/exe", ec).string();
  if (ec) return command_error("worker", absl::FailedPreconditionError("/proc/self/exe: " + ec.message()));
  arm_interrupts();  // SIGTERM / Ctrl-C: kill the ranks, then exit 0
  absl::Status st = daemon::run_worker(o, [] { return take_interrupt_request() == InterruptRequest::kCheckpointAndStop; });
  if (!st.ok()) return command_error("worker", st);
  return 0;
}

}  // namespace ty
