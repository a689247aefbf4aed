#include "worker/daemon/worker_daemon.h"

#include <httplib.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "worker/daemon/rank_process.h"
#include "worker/job/parser.h"

namespace ty::daemon {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

struct Running {
  int64_t job = 0;
  int attempt = 0, rank = 0;
  std::string gpu;
  RankProcess process;
  bool told_to_stop = false;
  Clock::time_point stop_sent;
};

void write_private(const std::string& path, const std::string& text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return;  // the rank then names the missing file
  ::fchmod(fd, 0600);
  for (size_t done = 0; done < text.size();) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  ::close(fd);
}

void log_line(const std::string& text) {
  std::fprintf(stderr, "trainyard worker: %s\n", text.c_str());
  std::fflush(stderr);
}

}  // namespace

absl::StatusOr<std::vector<std::string>> find_gpus(const std::string& flag) {
  std::vector<std::string> out;
  if (flag == "none" || flag.empty()) return out;
  if (flag == "auto") {
    // Within what this daemon was given (a container, Slurm), else the host's devices.
    if (const char* given = std::getenv("CUDA_VISIBLE_DEVICES"); given != nullptr)
      return std::string(given).empty() ? out : find_gpus(given);
    // nvidia-smi's indices are CUDA's under CUDA_DEVICE_ORDER=PCI_BUS_ID (which ranks get).
    if (FILE* smi = ::popen("nvidia-smi --query-gpu=index --format=csv,noheader 2>/dev/null", "r")) {
      char line[64];
      while (std::fgets(line, sizeof line, smi) != nullptr) {
        std::string id(line);
        while (!id.empty() && (id.back() == '\n' || id.back() == ' ')) id.pop_back();
        if (!id.empty() && id.find_first_not_of("0123456789") == std::string::npos) out.push_back(id);
      }
      if (::pclose(smi) == 0 && !out.empty()) return out;
      out.clear();
    }
    std::error_code ec;  // no nvidia-smi: the device files
    for (const auto& e : std::filesystem::directory_iterator("/dev", ec)) {
      const std::string name = e.path().filename().string();
      if (name.size() > 6 && name.rfind("nvidia", 0) == 0 &&
          name.find_first_not_of("0123456789", 6) == std::string::npos)
        out.push_back(name.substr(6));
    }
    std::sort(out.begin(), out.end(), [](const std::string& a, const std::string& b) {
      return a.size() != b.size() ? a.size() < b.size() : a < b;
    });
    return out;
  }
  const std::vector<std::string> ids = absl::StrSplit(flag, ',');
  for (const std::string& id : ids) {
    bool ok = !id.empty() && id.size() <= 64 && std::isalnum(static_cast<unsigned char>(id[0]));
    for (char c : id) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.');
    if (!ok || std::find(out.begin(), out.end(), id) != out.end())
      return absl::InvalidArgumentError(absl::StrCat("--gpus ", flag, ": '", id,
                                                     "' is not a GPU index or UUID (or is listed twice); expected "
                                                     "auto, none or a list like 0,1"));
    out.push_back(id);
  }
  return out;
}

absl::Status run_worker(const WorkerOptions& o, bool (*stop)()) {
  // Ranks run as this daemon's user: not dumpable, its /proc/PID/environ (which may hold the
  // coordinator's token) and memory are closed to them.
  ::prctl(PR_SET_DUMPABLE, 0);
  httplib::Client client(o.coordinator);
  client.set_connection_timeout(5);
  client.set_read_timeout(10);
  client.set_default_headers({{"Authorization", "Bearer " + o.token}});
  if (!o.tls_ca.empty()) client.set_ca_cert_path(o.tls_ca.c_str());
  client.enable_server_certificate_verification(true);
  std::map<std::tuple<int64_t, int, int>, Running> ranks;
  std::vector<json> ended;  // reports not yet delivered
  bool registered = false;
  auto kill_all = [&] {
    for (auto& [key, r] : ranks) r.process.signal_group(SIGKILL);
    for (auto& [key, r] : ranks)
      while (!r.process.poll()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  };
  while (!stop()) {
    if (!registered) {
      auto res = client.Post("/api/v1/workers/register",
                             json{{"name", o.name}, {"slots", o.slots}, {"gpus", o.gpus}}.dump(), "application/json");
      if (!res && res.error() == httplib::Error::SSLServerVerification) {
        kill_all();
        return absl::InvalidArgumentError(absl::StrCat("the coordinator at ", o.coordinator,
                                                       ": its certificate is not trusted (give --tls-ca FILE or set "
                                                       "TRAINYARD_TLS_CA to the CA that signed it)"));
      }
      if (!res || res->status != 200) {
        if (res && (res->status == 401 || res->status == 400)) {
          kill_all();
          return absl::InvalidArgumentError(absl::StrCat("the coordinator at ", o.coordinator, " refused worker ",
                                                         o.name, ": ", res->body));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(500));  // not up yet, or restarting
        continue;
      }
      registered = true;
      log_line(absl::StrCat(o.name, " registered with ", o.coordinator, " (", o.slots, " slots, ", o.gpus.size(),
                            o.gpus.empty() ? " GPUs)" : absl::StrCat(" GPUs: ", absl::StrJoin(o.gpus, ","), ")")));
    }
    // Reports: every rank still running (adopted after a coordinator restart), every end.
    for (auto it = ranks.begin(); it != ranks.end();) {
      Running& r = it->second;
      if (std::optional<RankExit> e = r.process.poll()) {
        // Its spec (whose `env` may hold credentials) is not left behind.
        std::remove(absl::StrCat(o.work_dir, "/", r.job, "/", r.attempt, "/rank-", r.rank, "/job.yaml").c_str());
        ended.push_back(json{{"job", r.job}, {"attempt", r.attempt}, {"rank", r.rank}, {"running", false},
                             {"exit_code", e->exit_code}, {"signal", e->signal}, {"tail", r.process.tail(20)},
                             {"gpu", r.gpu}});
        it = ranks.erase(it);
        continue;
      }
      if (r.told_to_stop && Clock::now() - r.stop_sent > std::chrono::seconds(10)) r.process.signal_group(SIGKILL);
      ++it;
    }
    json reports = ended;
    for (const auto& [key, r] : ranks)
      reports.push_back(
          json{{"job", r.job}, {"attempt", r.attempt}, {"rank", r.rank}, {"running", true}, {"gpu", r.gpu}});
    auto res = client.Post("/api/v1/workers/heartbeat", json{{"name", o.name}, {"reports", reports}}.dump(),
                           "application/json");
    if (!res) {  // the coordinator is away: the ranks go on; try again
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      continue;
    }
    if (res->status == 404) {  // it forgot this worker (restarted, or took it for lost)
      registered = false;
      continue;
    }
    if (res->status != 200) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      continue;
    }
    ended.clear();  // delivered
    const json orders = json::parse(res->body, nullptr, false);
    if (!orders.is_object()) continue;
    // Starts first: a kill in the same reply may be for a rank it has just started.
    for (const json& s : orders.value("start", json::array())) {
      const int64_t job = s.value("job", int64_t{0});
      const int attempt = s.value("attempt", 0), rank = s.value("rank", 0);
      const std::string dir =
          absl::StrCat(o.work_dir, "/", job, "/", attempt, "/rank-", rank);
      std::error_code ec;
      std::filesystem::create_directories(dir, ec);
      std::filesystem::create_directories(s.value("run_dir", std::string()), ec);
      // Mode 0600: the spec's `env` may hold credentials.
      write_private(dir + "/job.yaml", s.value("spec", std::string()));
      std::vector<std::string> argv = {o.binary, "train", dir + "/job.yaml"};
      for (const json& ov : s.value("overrides", json::array())) {
        argv.push_back("--set");
        argv.push_back(ov.get<std::string>());
      }
      argv.push_back("--set");
      argv.push_back("name=" + s.value("name", std::string("job")));
      // A job's ranks split the host's cores among themselves (runtime.bind_cores) only
      // when they fill this worker: beside another job's ranks they would share cores.
      const std::string gpu = s.value("gpu", std::string());
      if (!gpu.empty() || s.value("local_world_size", 1) != o.slots) {  // (GPU ranks take no slot)
        argv.push_back("--set");
        argv.push_back("runtime.bind_cores=false");
      }
      argv.push_back("--run-dir");
      argv.push_back(s.value("run_dir", std::string()));
      std::map<std::string, std::string> extra = {
          {"TRAINYARD_RANK", std::to_string(rank)},
          {"TRAINYARD_WORLD_SIZE", std::to_string(s.value("world_size", 1))},
          {"TRAINYARD_LOCAL_RANK", std::to_string(s.value("local_rank", 0))},
          {"TRAINYARD_LOCAL_WORLD_SIZE", std::to_string(s.value("local_world_size", 1))},
          // The coordinator's store, at the address this worker reaches it by.
          {"TRAINYARD_RENDEZVOUS", o.coordinator},
          {"TRAINYARD_RENDEZVOUS_TOKEN", s.value("rendezvous_token", std::string())},
          {"TRAINYARD_JOB_ID", std::to_string(job)},
          {"TRAINYARD_ATTEMPT", std::to_string(attempt)},
      };
      // The spec's `env` goes into the rank's environment from its start (a spec that does
      // not parse here starts anyway: the rank names what is wrong and exits 2).
      std::vector<std::string> overrides;
      for (const json& ov : s.value("overrides", json::array())) overrides.push_back(ov.get<std::string>());
      if (absl::StatusOr<JobSpec> spec = parse_job_spec(s.value("spec", std::string()), overrides, "job.yaml"); spec.ok())
        extra.insert(spec->env.begin(), spec->env.end());
      // One GPU per rank: it sees only its own (as device 0), numbered as nvidia-smi does;
      // a CPU rank sees none.
      extra["CUDA_VISIBLE_DEVICES"] = gpu;
      extra["CUDA_DEVICE_ORDER"] = "PCI_BUS_ID";
      if (!o.tls_ca.empty()) extra["TRAINYARD_TLS_CA"] = o.tls_ca;  // their rendezvous store is the coordinator
      const std::map<std::string, std::string> env = rank_environment(extra);
      std::string log = s.value("log", dir + "/rank.log");
      std::filesystem::create_directories(std::filesystem::path(log).parent_path(), ec);
      absl::StatusOr<RankProcess> p = RankProcess::start(argv, env, dir, log);
      if (!p.ok()) {  // reported as a rank that could not start: retryable
        ended.push_back(json{{"job", job}, {"attempt", attempt}, {"rank", rank}, {"running", false},
                             {"exit_code", 3}, {"signal", 0}, {"tail", std::string(p.status().message())}});
        continue;
      }
      log_line(absl::StrCat("job ", job, " attempt ", attempt, ": rank ", rank, " started (pid ", p->pid(), ")"));
      ranks.emplace(std::make_tuple(job, attempt, rank), Running{job, attempt, rank, gpu, std::move(*p), false, {}});
    }
    for (const json& k : orders.value("kill", json::array())) {
      const int64_t job = k.value("job", int64_t{0});
      const int attempt = k.value("attempt", 0);
      for (auto& [key, r] : ranks)
        if (r.job == job && r.attempt == attempt && !r.told_to_stop) {
          r.process.signal_group(SIGTERM);  // a checkpoint, then exit 143; SIGKILL after 10 s
          r.told_to_stop = true;
          r.stop_sent = Clock::now();
        }
    }
  }
  kill_all();
  return absl::OkStatus();
}

}  // namespace ty::daemon
