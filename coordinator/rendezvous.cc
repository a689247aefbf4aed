#include "coordinator/rendezvous.h"

#include <httplib.h>

#include <nlohmann/json.hpp>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "coordinator/http_error.h"

namespace ty::coordinator {
namespace {

constexpr size_t kMaxKeys = 65536;
constexpr size_t kMaxBytes = size_t{64} << 20;

void error(httplib::Response& res, int status, const std::string& message) { http_error(res, status, message); }
void error(httplib::Response& res, const absl::Status& st) { http_error(res, st); }

// The job and attempt of the route's first two matches: positive numbers, else 400.
bool job_attempt(const httplib::Request& req, httplib::Response& res, int64_t& job, int& attempt) {
  auto number = [](const std::string& text, int64_t& out) {
    return text.size() <= 18 && text.find_first_not_of("0123456789") == std::string::npos &&
           absl::SimpleAtoi(text, &out) && out > 0;
  };
  int64_t a = 0;
  if (req.matches.size() < 3 || !number(req.matches[1].str(), job) || !number(req.matches[2].str(), a) ||
      a > (1 << 30)) {
    error(res, 400, "a rendezvous path is /api/v1/rendezvous/JOB/ATTEMPT[/KEY], JOB and ATTEMPT positive numbers");
    return false;
  }
  attempt = static_cast<int>(a);
  return true;
}

}  // namespace

bool valid_rendezvous_key(const std::string& key) {
  if (key.empty() || key.size() > 256 || key.find("..") != std::string::npos || key.find("//") != std::string::npos ||
      key.front() == '/' || key.back() == '/')
    return false;
  for (char c : key)
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
          c == ':' || c == '/' || c == '-'))
      return false;
  return true;
}

absl::StatusOr<std::unique_ptr<Rendezvous>> Rendezvous::load(JobStore& store) {
  absl::StatusOr<std::vector<RendezvousKey>> keys = store.live_keys();
  if (!keys.ok()) return keys.status();
  std::unique_ptr<Rendezvous> r(new Rendezvous(store));
  for (RendezvousKey& k : *keys) {
    Keys& a = r->attempts_[{k.job, k.attempt}];
    a.bytes += k.key.size() + k.value.size();
    a.values[k.key] = std::move(k.value);
  }
  return r;
}

absl::Status Rendezvous::check_running(int64_t job, int attempt) {
  absl::StatusOr<std::optional<JobRecord>> j = store_.get(job);
  if (!j.ok()) return j.status();
  if (!*j || (*j)->state != kRunning || (*j)->attempt != attempt)
    return absl::FailedPreconditionError(absl::StrCat("job ", job, " does not run attempt ", attempt,
                                                      " (it ended, or a later attempt replaced it)"));
  return absl::OkStatus();
}

absl::Status Rendezvous::set(int64_t job, int attempt, const std::string& key, const std::string& value) {
  if (!valid_rendezvous_key(key))
    return absl::InvalidArgumentError(
        absl::StrCat("rendezvous key '", key.substr(0, 64), "': 1 to 256 of [A-Za-z0-9._:/-], without \"..\""));
  // Checked under the lock: an attempt dropped meanwhile is not brought back.
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status st = check_running(job, attempt); !st.ok()) return st;
  Keys& a = attempts_[{job, attempt}];
  auto old = a.values.find(key);
  const size_t after = a.bytes + key.size() + value.size() - (old == a.values.end() ? 0 : key.size() + old->second.size());
  if ((old == a.values.end() && a.values.size() >= kMaxKeys) || after > kMaxBytes)
    return absl::ResourceExhaustedError(absl::StrCat("attempt ", attempt, " of job ", job,
                                                     " holds the most rendezvous keys it may (65536, 64 MiB)"));
  // Written through before it is acknowledged: a restarted coordinator still has it.
  if (absl::Status st = store_.put_key({job, attempt, key, value}); !st.ok()) return st;
  a.values[key] = value;
  a.bytes = after;
  return absl::OkStatus();
}

absl::StatusOr<std::optional<std::string>> Rendezvous::get(int64_t job, int attempt, const std::string& key) {
  if (!valid_rendezvous_key(key))
    return absl::InvalidArgumentError(
        absl::StrCat("rendezvous key '", key.substr(0, 64), "': 1 to 256 of [A-Za-z0-9._:/-], without \"..\""));
  if (absl::Status st = check_running(job, attempt); !st.ok()) return st;
  std::lock_guard<std::mutex> lock(mu_);
  auto a = attempts_.find({job, attempt});
  if (a == attempts_.end()) return std::optional<std::string>();
  auto v = a->second.values.find(key);
  if (v == a->second.values.end()) return std::optional<std::string>();
  return std::optional<std::string>(v->second);
}

absl::StatusOr<size_t> Rendezvous::count(int64_t job, int attempt) {
  if (absl::Status st = check_running(job, attempt); !st.ok()) return st;
  std::lock_guard<std::mutex> lock(mu_);
  auto a = attempts_.find({job, attempt});
  return a == attempts_.end() ? 0 : a->second.values.size();
}

void Rendezvous::drop(int64_t job, int attempt) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    attempts_.erase({job, attempt});
  }
  store_.drop_keys(job, attempt).IgnoreError();  // a leftover row goes at the next start
}

void install_rendezvous_routes(httplib::Server& server, Rendezvous& rendezvous) {
  server.Get(R"(/api/v1/rendezvous/([^/]*)/([^/]*))", [&](const httplib::Request& req, httplib::Response& res) {
    int64_t job = 0;
    int attempt = 0;
    if (!job_attempt(req, res, job, attempt)) return;
    absl::StatusOr<size_t> n = rendezvous.count(job, attempt);
    if (!n.ok()) return error(res, n.status());
    res.set_content(nlohmann::json{{"keys", *n}}.dump() + "\n", "application/json");
  });
  server.Put(R"(/api/v1/rendezvous/([^/]*)/([^/]*)/(.*))", [&](const httplib::Request& req, httplib::Response& res) {
    int64_t job = 0;
    int attempt = 0;
    if (!job_attempt(req, res, job, attempt)) return;
    if (absl::Status st = rendezvous.set(job, attempt, req.matches[3].str(), req.body); !st.ok())
      return error(res, st);
    res.set_content("{}\n", "application/json");
  });
  server.Get(R"(/api/v1/rendezvous/([^/]*)/([^/]*)/(.*))", [&](const httplib::Request& req, httplib::Response& res) {
    int64_t job = 0;
    int attempt = 0;
    if (!job_attempt(req, res, job, attempt)) return;
    const std::string key = req.matches[3].str();
    absl::StatusOr<std::optional<std::string>> value = rendezvous.get(job, attempt, key);
    if (!value.ok()) return error(res, value.status());
    if (!*value) return error(res, 404, absl::StrCat("rendezvous key '", key, "' is not set yet"));
    res.set_content(**value, "application/octet-stream");
  });
}

}  // namespace ty::coordinator
