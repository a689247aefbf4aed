// `trainyard coordinator` (the daemon) and the commands that talk to it: submit, jobs,
// status, cancel.
#include <httplib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>
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
#include "worker/job/exit_codes.h"
#include "worker/trainer/interrupts.h"

namespace ty {
namespace {

using nlohmann::json;

int usage_error(const std::string& command, const std::string& message, const char* usage) {
  std::fprintf(stderr, "trainyard %s: %s\n%s", command.c_str(), message.c_str(), usage);
  return 2;
}

int fail(const std::string& command, const absl::Status& st) {
  std::fprintf(stderr, "trainyard %s: error: %s\n", command.c_str(), std::string(st.message()).c_str());
  return static_cast<int>(exit_code_for(st));
}

bool is_loopback(const std::string& host) { return host == "127.0.0.1" || host == "localhost" || host == "::1"; }

// The API's error text, or the body.
std::string error_of(const HttpReply& r) {
  const json j = json::parse(r.body, nullptr, false);
  return j.is_object() && j.contains("error") ? j["error"].get<std::string>() : r.body;
}

// HTTP status → exit class: 400 the user's, 401 the token (the user's), 404/409 the user's,
// 5xx retryable.
int exit_for_http(int status) { return status >= 500 ? 3 : 2; }

std::string utc(int64_t ms) {
  const std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

int wait_for_job(const CoordinatorAddress& at, const std::string& id);

constexpr char kCoordinatorUsage[] =
    "usage: trainyard coordinator [--listen HOST:PORT] --state-dir DIR --runs-dir DIR [--tls-cert F --tls-key F] "
    "[--insecure-listen]\n";

}  // namespace

int coordinator_command(const std::vector<std::string>& args) {
  std::string listen = "127.0.0.1:7070", state_dir, runs_dir, cert, key;
  bool insecure = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--insecure-listen") {
      insecure = true;
      continue;
    }
    if (a == "--help") return std::fputs(kCoordinatorUsage, stdout), 0;
    std::string* into = a == "--listen" ? &listen : a == "--state-dir" ? &state_dir : a == "--runs-dir" ? &runs_dir
                                                  : a == "--tls-cert" ? &cert : a == "--tls-key" ? &key : nullptr;
    if (into == nullptr) return usage_error("coordinator", "unknown argument " + a, kCoordinatorUsage);
    if (i + 1 == args.size()) return usage_error("coordinator", a + " needs a value", kCoordinatorUsage);
    *into = args[++i];
  }
  if (state_dir.empty() || runs_dir.empty())
    return usage_error("coordinator", "--state-dir and --runs-dir are required", kCoordinatorUsage);
  const size_t colon = listen.rfind(':');
  int port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(listen.substr(colon + 1), &port) || port < 0 || port > 65535)
    return usage_error("coordinator", "--listen " + listen + ": expected HOST:PORT", kCoordinatorUsage);
  std::string host = listen.substr(0, colon);
  if (host.size() > 1 && host.front() == '[') host = host.substr(1, host.size() - 2);
  if (cert.empty() != key.empty())
    return usage_error("coordinator", "--tls-cert and --tls-key go together", kCoordinatorUsage);
  if (!is_loopback(host) && cert.empty() && !insecure)
    return usage_error("coordinator",
                       "--listen " + listen +
                           " reaches beyond this host: give --tls-cert and --tls-key, or --insecure-listen to send "
                           "the token in clear text",
                       kCoordinatorUsage);
  std::error_code ec;
  for (const std::string& d : {state_dir, runs_dir})
    if (std::filesystem::create_directories(d, ec); ec)
      return fail("coordinator", absl::FailedPreconditionError(d + ": " + ec.message()));
  absl::StatusOr<coordinator::Token> token = coordinator::load_or_create_token(state_dir);
  if (!token.ok()) return fail("coordinator", token.status());
  absl::StatusOr<std::unique_ptr<coordinator::JobStore>> store =
      coordinator::JobStore::open(state_dir + "/state.db");
  if (!store.ok()) return fail("coordinator", store.status());
  std::unique_ptr<httplib::Server> server;
  if (!cert.empty())
    server = std::make_unique<httplib::SSLServer>(cert.c_str(), key.c_str());
  else
    server = std::make_unique<httplib::Server>();
  if (!server->is_valid())
    return fail("coordinator", absl::InvalidArgumentError("--tls-cert " + cert + " / --tls-key " + key +
                                                          ": not a usable certificate and key (PEM)"));
  absl::StatusOr<std::unique_ptr<coordinator::Rendezvous>> rendezvous = coordinator::Rendezvous::load(**store);
  if (!rendezvous.ok()) return fail("coordinator", rendezvous.status());
  coordinator::Cluster::Options cluster_options;
  cluster_options.runs_dir = std::filesystem::absolute(runs_dir).lexically_normal().string();
  cluster_options.token = token->value;
  cluster_options.attempt_gone = [&r = **rendezvous](int64_t job, int attempt) { r.drop(job, attempt); };
  coordinator::Cluster cluster(**store, cluster_options);
  coordinator::install_api(*server, **store, cluster, **rendezvous, {token->value, cluster_options.runs_dir});
  const int bound = port == 0 ? server->bind_to_any_port(host) : (server->bind_to_port(host, port) ? port : -1);
  if (bound < 0)
    return fail("coordinator", absl::UnavailableError("cannot listen on " + listen + " (in use, or not this host's)"));
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
      "usage: trainyard worker --coordinator URL [--slots N] --work-dir DIR [--name NAME] [--token-file F]\n";
  std::vector<std::string> args = argv;
  absl::StatusOr<CoordinatorAddress> at = coordinator_address(args);
  if (!at.ok()) return usage_error("worker", std::string(at.status().message()), kUsage);
  daemon::WorkerOptions o;
  o.coordinator = at->url;
  o.token = at->token;
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  o.name = host;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (i + 1 == args.size()) return usage_error("worker", "unknown argument " + a, kUsage);
    const std::string& v = args[++i];
    if (a == "--slots") {
      if (!absl::SimpleAtoi(v, &o.slots) || o.slots < 0) return usage_error("worker", "--slots " + v + ": expected a whole number", kUsage);
    } else if (a == "--work-dir") {
      o.work_dir = std::filesystem::absolute(v).lexically_normal().string();
    } else if (a == "--name") {
      o.name = v;
    } else {
      return usage_error("worker", "unknown argument " + a, kUsage);
    }
  }
  if (o.work_dir.empty()) return usage_error("worker", "--work-dir is required", kUsage);
  std::error_code ec;
  if (std::filesystem::create_directories(o.work_dir, ec); ec)
    return fail("worker", absl::FailedPreconditionError(o.work_dir + ": " + ec.message()));
  o.binary = std::filesystem::read_symlink("/proc/self/exe", ec).string();
  if (ec) return fail("worker", absl::FailedPreconditionError("/proc/self/exe: " + ec.message()));
  arm_interrupts();  // SIGTERM / Ctrl-C: kill the ranks, then exit 0
  absl::Status st = daemon::run_worker(o, [] { return take_interrupt_request() == InterruptRequest::kCheckpointAndStop; });
  if (!st.ok()) return fail("worker", st);
  return 0;
}

int submit_command(const std::vector<std::string>& argv) {
  constexpr char kUsage[] =
      "usage: trainyard submit JOB.yaml [--set k=v ...] [--ranks N] [--priority P] [--name NAME] [--wait] "
      "[--coordinator URL] [--token-file F]\n";
  std::vector<std::string> args = argv;
  absl::StatusOr<CoordinatorAddress> at = coordinator_address(args);
  if (!at.ok()) return usage_error("submit", std::string(at.status().message()), kUsage);
  std::string file;
  bool wait = false;
  json body = json::object();
  json overrides = json::array();
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--set" || a == "--ranks" || a == "--priority" || a == "--name") {
      if (i + 1 == args.size()) return usage_error("submit", a + " needs a value", kUsage);
      const std::string& v = args[++i];
      int n = 0;
      if (a == "--set") {
        overrides.push_back(v);
      } else if (a == "--name") {
        body["name"] = v;
      } else if (!absl::SimpleAtoi(v, &n)) {
        return usage_error("submit", a + " " + v + ": expected a whole number", kUsage);
      } else {
        body[a.substr(2)] = n;
      }
    } else if (a == "--wait") {
      wait = true;
    } else if (file.empty() && a.rfind("--", 0) != 0) {
      file = a;
    } else {
      return usage_error("submit", "unknown argument " + a, kUsage);
    }
  }
  if (file.empty()) return usage_error("submit", "which JOB.yaml?", kUsage);
  std::ifstream in(file);
  if (!in) return fail("submit", absl::NotFoundError(file + ": cannot read it"));
  std::stringstream text;
  text << in.rdbuf();
  body["spec"] = text.str();
  body["overrides"] = overrides;
  absl::StatusOr<HttpReply> r = call_coordinator(*at, "POST", "/api/v1/jobs", body.dump());
  if (!r.ok()) return fail("submit", r.status());
  if (r->status != 201) {
    std::fprintf(stderr, "trainyard submit: %s: %s\n", file.c_str(), error_of(*r).c_str());
    return exit_for_http(r->status);
  }
  const std::string id = std::to_string(json::parse(r->body)["id"].get<int64_t>());
  std::printf("%s\n", id.c_str());
  std::fflush(stdout);
  return wait ? wait_for_job(*at, id) : 0;
}

namespace {

// `jobs` and `workers`: GET `path`, then the body as it is (--json) or `table` of it.
int list_command(const std::string& command, const std::string& path, const std::vector<std::string>& argv,
                 const std::function<void(const json&)>& table) {
  const std::string usage = "usage: trainyard " + command + " [--json] [--coordinator URL] [--token-file F]\n";
  std::vector<std::string> args = argv;
  absl::StatusOr<CoordinatorAddress> at = coordinator_address(args);
  if (!at.ok()) return usage_error(command, std::string(at.status().message()), usage.c_str());
  const bool as_json = args.size() == 1 && args[0] == "--json";
  if (!args.empty() && !as_json) return usage_error(command, "unknown argument " + args[0], usage.c_str());
  absl::StatusOr<HttpReply> r = call_coordinator(*at, "GET", path);
  if (!r.ok()) return fail(command, r.status());
  if (r->status != 200) {
    std::fprintf(stderr, "trainyard %s: %s\n", command.c_str(), error_of(*r).c_str());
    return exit_for_http(r->status);
  }
  if (as_json) return std::fputs(r->body.c_str(), stdout), 0;
  table(json::parse(r->body));
  return 0;
}

}  // namespace

int jobs_command(const std::vector<std::string>& argv) {
  return list_command("jobs", "/api/v1/jobs", argv, [](const json& listed) {
    std::printf("%-8s %-24s %-11s %5s %8s  %-20s  %s\n", "ID", "NAME", "STATE", "RANKS", "PRIORITY", "SUBMITTED",
                "REASON");
    for (const json& j : listed["jobs"])
      std::printf("%-8lld %-24s %-11s %5d %8d  %-20s  %s\n", static_cast<long long>(j["id"].get<int64_t>()),
                  j["name"].get<std::string>().c_str(), j["state"].get<std::string>().c_str(), j["ranks"].get<int>(),
                  j["priority"].get<int>(), utc(j["submitted_ms"].get<int64_t>()).c_str(),
                  j["reason"].get<std::string>().c_str());
  });
}

// `status JOB [--json]` and `cancel JOB`.
int job_command(const std::string& command, const std::vector<std::string>& argv) {
  const std::string usage = "usage: trainyard " + command + " JOB" + (command == "status" ? " [--json]" : "") +
                            " [--coordinator URL] [--token-file F]\n";
  std::vector<std::string> args = argv;
  absl::StatusOr<CoordinatorAddress> at = coordinator_address(args);
  if (!at.ok()) return usage_error(command, std::string(at.status().message()), usage.c_str());
  bool as_json = false;
  std::string id;
  for (const std::string& a : args) {
    if (a == "--json" && command == "status")
      as_json = true;
    else if (id.empty() && a.rfind("--", 0) != 0)
      id = a;
    else
      return usage_error(command, "unknown argument " + a, usage.c_str());
  }
  if (id.empty()) return usage_error(command, "which job?", usage.c_str());
  absl::StatusOr<HttpReply> r = command == "cancel" ? call_coordinator(*at, "POST", "/api/v1/jobs/" + id + "/cancel")
                                                    : call_coordinator(*at, "GET", "/api/v1/jobs/" + id);
  if (!r.ok()) return fail(command, r.status());
  if (r->status != 200) {
    std::fprintf(stderr, "trainyard %s: job %s: %s\n", command.c_str(), id.c_str(), error_of(*r).c_str());
    return exit_for_http(r->status);
  }
  if (as_json) return std::fputs(r->body.c_str(), stdout), 0;
  const json j = json::parse(r->body);
  std::printf("job %lld (%s): %s%s\n", static_cast<long long>(j["id"].get<int64_t>()), j["name"].get<std::string>().c_str(),
              j["state"].get<std::string>().c_str(),
              j["reason"].get<std::string>().empty() ? "" : (" — " + j["reason"].get<std::string>()).c_str());
  if (j.contains("history"))
    for (const json& h : j["history"])
      std::printf("  %s  %-10s %s\n", utc(h["at_ms"].get<int64_t>()).c_str(), h["state"].get<std::string>().c_str(),
                  h["cause"].get<std::string>().c_str());
  return 0;
}

namespace {

// The job's state from the API, or an error exit code (negative) already reported.
absl::StatusOr<json> job_state(const CoordinatorAddress& at, const std::string& id) {
  absl::StatusOr<HttpReply> r = call_coordinator(at, "GET", "/api/v1/jobs/" + id);
  if (!r.ok()) return r.status();
  if (r->status != 200)
    return r->status >= 500 ? absl::UnavailableError(error_of(*r)) : absl::InvalidArgumentError(error_of(*r));
  return json::parse(r->body);
}

bool ended(const std::string& state) { return state == "succeeded" || state == "failed" || state == "canceled"; }

// Polls job `id` until it ends: 0 succeeded, 1 failed, 5 canceled.
int wait_for_job(const CoordinatorAddress& at, const std::string& id) {
  const std::vector<std::string> args = {id};
  for (int failures = 0;;) {
    absl::StatusOr<json> j = job_state(at, args[0]);
    if (!j.ok()) {
      // A coordinator that restarts is waited for (up to a minute of failed polls).
      if (j.status().code() == absl::StatusCode::kUnavailable && ++failures < 120) {
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        continue;
      }
      return fail("wait", absl::Status(j.status().code(), "job " + args[0] + ": " + std::string(j.status().message())));
    }
    failures = 0;
    const std::string state = (*j)["state"];
    if (state == "succeeded") return 0;
    if (state == "failed") {
      std::fprintf(stderr, "trainyard wait: job %s failed: %s\n", args[0].c_str(),
                   (*j)["history"].back()["cause"].get<std::string>().c_str());
      return 1;
    }
    if (state == "canceled") return 5;
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
}

}  // namespace

int wait_command(const std::vector<std::string>& argv) {
  constexpr char kUsage[] = "usage: trainyard wait JOB [--coordinator URL] [--token-file F]\n";
  std::vector<std::string> args = argv;
  absl::StatusOr<CoordinatorAddress> at = coordinator_address(args);
  if (!at.ok()) return usage_error("wait", std::string(at.status().message()), kUsage);
  if (args.size() != 1) return usage_error("wait", "which job?", kUsage);
  return wait_for_job(*at, args[0]);
}

int logs_command(const std::vector<std::string>& argv) {
  constexpr char kUsage[] =
      "usage: trainyard logs JOB [--rank R] [--attempt A] [--follow] [--coordinator URL] [--token-file F]\n";
  std::vector<std::string> args = argv;
  absl::StatusOr<CoordinatorAddress> at = coordinator_address(args);
  if (!at.ok()) return usage_error("logs", std::string(at.status().message()), kUsage);
  std::string id, rank = "0", attempt;
  bool follow = false;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--follow" || args[i] == "-f") {
      follow = true;
    } else if ((args[i] == "--rank" || args[i] == "--attempt") && i + 1 < args.size()) {
      (args[i] == "--rank" ? rank : attempt) = args[i + 1];
      ++i;
    } else if (id.empty() && args[i].rfind("--", 0) != 0) {
      id = args[i];
    } else {
      return usage_error("logs", "unknown argument " + args[i], kUsage);
    }
  }
  if (id.empty()) return usage_error("logs", "which job?", kUsage);
  std::string offset = "0";
  for (;;) {
    absl::StatusOr<HttpReply> r = call_coordinator(
        *at, "GET",
        "/api/v1/jobs/" + id + "/logs?rank=" + rank + (attempt.empty() ? "" : "&attempt=" + attempt) + "&offset=" + offset);
    if (!r.ok()) return fail("logs", r.status());
    if (r->status != 200) {
      std::fprintf(stderr, "trainyard logs: job %s: %s\n", id.c_str(), error_of(*r).c_str());
      return exit_for_http(r->status);
    }
    std::fwrite(r->body.data(), 1, r->body.size(), stdout);
    std::fflush(stdout);
    if (!r->next_offset.empty()) offset = r->next_offset;
    if (!follow) return 0;
    if (r->body.empty()) {
      absl::StatusOr<json> j = job_state(*at, id);
      if (j.ok() && ended((*j)["state"])) return 0;
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
    }
  }
}

int workers_command(const std::vector<std::string>& argv) {
  return list_command("workers", "/api/v1/workers", argv, [](const json& listed) {
    std::printf("%-24s %5s %5s  %s\n", "NAME", "SLOTS", "BUSY", "STATE");
    for (const json& w : listed["workers"])
      std::printf("%-24s %5d %5d  %s\n", w["name"].get<std::string>().c_str(), w["slots"].get<int>(),
                  w["busy"].get<int>(),
                  w["lost"].get<bool>()
                      ? "lost"
                      : absl::StrCat("seen ", static_cast<int>(w["seen_s_ago"].get<double>()), " s ago").c_str());
  });
}

}  // namespace ty
