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
#include "absl/strings/str_format.h"
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

}  // namespace

int submit_command(const std::vector<std::string>& argv) {
  constexpr char kUsage[] =
      "usage: trainyard submit JOB.yaml [--set k=v ...] [--ranks N] [--priority P] [--name NAME] [--wait] "
      "[--coordinator URL] [--token-file F] [--tls-ca F]\n";
  std::vector<std::string> args = argv;
  absl::StatusOr<CoordinatorAddress> at = coordinator_address(args);
  if (!at.ok()) return command_usage_error("submit", std::string(at.status().message()), kUsage);
  std::string file;
  bool wait = false;
  json body = json::object();
  json overrides = json::array();
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--set" || a == "--ranks" || a == "--priority" || a == "--name") {
      if (i + 1 == args.size()) return command_usage_error("submit", a + " needs a value", kUsage);
      const std::string& v = args[++i];
      int n = 0;
      if (a == "--set") {
        overrides.push_back(v);
      } else if (a == "--name") {
        body["name"] = v;
      } else if (!absl::SimpleAtoi(v, &n)) {
        return command_usage_error("submit", a + " " + v + ": expected a whole number", kUsage);
      } else {
        body[a.substr(2)] = n;
      }
    } else if (a == "--wait") {
      wait = true;
    } else if (file.empty() && a.rfind("--", 0) != 0) {
      file = a;
    } else {
      return command_usage_error("submit", "unknown argument " + a, kUsage);
    }
  }
  if (file.empty()) return command_usage_error("submit", "which JOB.yaml?", kUsage);
  std::ifstream in(file);
  if (!in) return command_error("submit", absl::NotFoundError(file + ": cannot read it"));
  std::stringstream text;
  text << in.rdbuf();
  body["spec"] = text.str();
  body["overrides"] = overrides;
  absl::StatusOr<HttpReply> r = call_coordinator(*at, "POST", "/api/v1/jobs", body.dump());
  if (!r.ok()) return command_error("submit", r.status());
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
  const std::string usage = "usage: trainyard " + command + " [--json] [--coordinator URL] [--token-file F] [--tls-ca F]\n";
  std::vector<std::string> args = argv;
  absl::StatusOr<CoordinatorAddress> at = coordinator_address(args);
  if (!at.ok()) return command_usage_error(command, std::string(at.status().message()), usage.c_str());
  const bool as_json = args.size() == 1 && args[0] == "--json";
  if (!args.empty() && !as_json) return command_usage_error(command, "unknown argument " + args[0], usage.c_str());
  absl::StatusOr<HttpReply> r = call_coordinator(*at, "GET", path);
  if (!r.ok()) return command_error(command, r.status());
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
                            " [--coordinator URL] [--token-file F] [--tls-ca F]\n";
  std::vector<std::string> args = argv;
  absl::StatusOr<CoordinatorAddress> at = coordinator_address(args);
  if (!at.ok()) return command_usage_error(command, std::string(at.status().message()), usage.c_str());
  bool as_json = false;
  std::string id;
  for (const std::string& a : args) {
    if (a == "--json" && command == "status")
      as_json = true;
    else if (id.empty() && a.rfind("--", 0) != 0)
      id = a;
    else
      return command_usage_error(command, "unknown argument " + a, usage.c_str());
  }
  if (id.empty()) return command_usage_error(command, "which job?", usage.c_str());
  absl::StatusOr<HttpReply> r = command == "cancel" ? call_coordinator(*at, "POST", "/api/v1/jobs/" + id + "/cancel")
                                                    : call_coordinator(*at, "GET", "/api/v1/jobs/" + id);
  if (!r.ok()) return command_error(command, r.status());
  if (r->status != 200) {
    std::fprintf(stderr, "trainyard %s: job %s: %s\n", command.c_str(), id.c_str(), error_of(*r).c_str());
    return exit_for_http(r->status);
  }
  if (as_json) return std::fputs(r->body.c_str(), stdout), 0;
  const json j = json::parse(r->body);
  std::printf("job %lld (%s): %s%s\n", static_cast<long long>(j["id"].get<int64_t>()), j["name"].get<std::string>().c_str(),
              j["state"].get<std::string>().c_str(),
              j["reason"].get<std::string>().empty() ? "" : (" — " + j["reason"].get<std::string>()).c_str());
  if (const json p = j.value("progress", json::object()); !p.empty()) {
    std::string line = "  progress:";
    if (p.contains("step")) absl::StrAppend(&line, " step ", p["step"].get<int64_t>());
    if (p.contains("loss")) absl::StrAppend(&line, ", loss ", absl::StrFormat("%.4f", p["loss"].get<double>()));
    if (p.contains("samples_per_second"))
      absl::StrAppend(&line, ", ", static_cast<int64_t>(p["samples_per_second"].get<double>()), " samples/s");
    if (p.contains("eval_accuracy"))
      absl::StrAppend(&line, ", eval accuracy ", absl::StrFormat("%.4f", p["eval_accuracy"].get<double>()));
    std::printf("%s\n", line.c_str());
  }
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
      return command_error("wait", absl::Status(j.status().code(), "job " + args[0] + ": " + std::string(j.status().message())));
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
  constexpr char kUsage[] = "usage: trainyard wait JOB [--coordinator URL] [--token-file F] [--tls-ca F]\n";
  std::vector<std::string> args = argv;
  absl::StatusOr<CoordinatorAddress> at = coordinator_address(args);
  if (!at.ok()) return command_usage_error("wait", std::string(at.status().message()), kUsage);
  if (args.size() != 1) return command_usage_error("wait", "which job?", kUsage);
  return wait_for_job(*at, args[0]);
}

int logs_command(const std::vector<std::string>& argv) {
  constexpr char kUsage[] =
      "usage: trainyard logs JOB [--rank R] [--attempt A] [--follow] [--coordinator URL] [--token-file F] [--tls-ca F]\n";
  std::vector<std::string> args = argv;
  absl::StatusOr<CoordinatorAddress> at = coordinator_address(args);
  if (!at.ok()) return command_usage_error("logs", std::string(at.status().message()), kUsage);
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
      return command_usage_error("logs", "unknown argument " + args[i], kUsage);
    }
  }
  if (id.empty()) return command_usage_error("logs", "which job?", kUsage);
  // Following the job's current attempt, it goes on to the next one when the job restarts.
  std::string current = attempt;
  if (follow && attempt.empty()) {
    for (;;) {  // a queued job: wait for its first attempt
      absl::StatusOr<json> j = job_state(*at, id);
      if (!j.ok()) return command_error("logs", j.status());
      if ((*j)["attempt"].get<int>() > 0) {
        current = std::to_string((*j)["attempt"].get<int>());
        break;
      }
      if (ended((*j)["state"])) return 0;
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
    }
  }
  std::string offset = "0";
  bool last_read = false;  // the job has ended: one more read to its end, then stop
  for (;;) {
    absl::StatusOr<HttpReply> r = call_coordinator(
        *at, "GET",
        "/api/v1/jobs/" + id + "/logs?rank=" + rank + (current.empty() ? "" : "&attempt=" + current) + "&offset=" + offset);
    if (!r.ok()) return command_error("logs", r.status());
    if (r->status != 200) {
      std::fprintf(stderr, "trainyard logs: job %s: %s\n", id.c_str(), error_of(*r).c_str());
      return exit_for_http(r->status);
    }
    std::fwrite(r->body.data(), 1, r->body.size(), stdout);
    std::fflush(stdout);
    if (!r->next_offset.empty()) offset = r->next_offset;
    if (!follow) return 0;
    if (r->body.empty()) {
      if (last_read) return 0;
      absl::StatusOr<json> j = job_state(*at, id);
      if (j.ok() && attempt.empty() && (*j)["attempt"].get<int>() > std::stoi(current)) {
        current = std::to_string(std::stoi(current) + 1);  // one at a time: none is skipped
        offset = "0";
        std::fprintf(stderr, "trainyard logs: job %s: attempt %s\n", id.c_str(), current.c_str());
        continue;
      }
      if (j.ok() && ended((*j)["state"])) {
        last_read = true;  // what the ranks wrote before the job ended
        continue;
      }
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
