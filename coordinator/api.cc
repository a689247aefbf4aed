#include "coordinator/api.h"

#include <httplib.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "coordinator/http_error.h"
#include "coordinator/metrics.h"
#include "coordinator/token.h"
#include "worker/job/parser.h"

namespace ty::coordinator {
namespace {

using nlohmann::json;

void reply(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump() + "\n", "application/json");
}

void error(httplib::Response& res, int status, const std::string& message) { http_error(res, status, message); }
void error(httplib::Response& res, const absl::Status& st) { http_error(res, st); }

json job_json(const JobRecord& r) {
  return json{{"id", r.id},
              {"name", r.job.name},
              {"state", r.state},
              {"reason", r.reason},
              {"ranks", r.job.ranks},
              {"priority", r.job.priority},
              {"submitted_ms", r.submitted_ms},
              {"attempt", r.attempt},
              {"restarts", r.restarts},
              {"gpus_per_rank", r.job.gpus_per_rank},
              {"run_s", static_cast<double>(r.run_ms(unix_ms())) / 1000.0},
              {"max_runtime_s", r.job.max_runtime_s}};
}

// The job id in the route's first match: a positive number, else 400.
bool job_id(const httplib::Request& req, httplib::Response& res, int64_t& id) {
  const std::string text = req.matches.size() > 1 ? req.matches[1].str() : "";
  if (!absl::SimpleAtoi(text, &id) || id <= 0 || text.size() > 18 ||
      text.find_first_not_of("0123456789") != std::string::npos) {
    error(res, 400, "a job id is a positive number");
    return false;
  }
  return true;
}

void submit(JobStore& store, const httplib::Request& req, httplib::Response& res) {
  const json body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (!body.is_object() || !body.contains("spec") || !body["spec"].is_string())
    return error(res, 400, "the body is a JSON object with \"spec\" (the job's YAML)");
  NewJob job;
  job.spec = body["spec"].get<std::string>();
  if (body.contains("overrides")) {
    if (!body["overrides"].is_array()) return error(res, 400, "\"overrides\" is a list of \"key.path=value\"");
    for (const json& o : body["overrides"]) {
      if (!o.is_string()) return error(res, 400, "\"overrides\" is a list of \"key.path=value\"");
      job.overrides.push_back(o.get<std::string>());
    }
  }
  for (const char* key : {"ranks", "priority"})
    if (body.contains(key) &&
        (!body[key].is_number_integer() || body[key].get<int64_t>() < -1000000 || body[key].get<int64_t>() > 1000000))
      return error(res, 400, absl::StrCat("\"", key, "\" is a whole number from -1000000 to 1000000"));
  // The same parser as `trainyard train`: unknown keys, ranges and types, named.
  absl::StatusOr<JobSpec> spec = parse_job_spec(job.spec, job.overrides, "the submitted spec");
  if (!spec.ok()) return error(res, 400, std::string(spec.status().message()));
  // Stored and sent with the overrides applied: a rank's command line (visible to every
  // user of its host) never carries one, as an `env.*` override may be a secret.
  absl::StatusOr<std::string> resolved = resolved_spec_text(job.spec, job.overrides, "the submitted spec");
  if (!resolved.ok()) return error(res, 400, std::string(resolved.status().message()));
  job.spec = *resolved;
  job.overrides.clear();
  // The request's ranks and priority win over the spec's resources.ranks and priority.
  job.ranks = body.value("ranks", static_cast<int>(spec->resources.ranks));
  job.priority = body.value("priority", static_cast<int>(spec->priority));
  job.ranks_per_worker = static_cast<int>(spec->resources.ranks_per_worker);
  job.max_restarts = static_cast<int>(spec->restart.max_restarts);
  job.gpus_per_rank = spec->runtime.device == RunDevice::kCuda ? 1 : 0;
  job.max_runtime_s = std::round(static_cast<double>(spec->resources.max_runtime_minutes) * 60000.0) / 1000.0;
  if (job.ranks < 1 || job.ranks > 65536) return error(res, 400, "\"ranks\" is from 1 to 65536");
  job.pipeline_stages = static_cast<int>(spec->parallel.pipeline.stages);
  if (job.ranks % job.pipeline_stages != 0)
    return error(res, 400,
                 absl::StrCat("ranks ", job.ranks, " is not a multiple of parallel.pipeline.stages ",
                              job.pipeline_stages, " (ranks = data replicas × stages)"));
  job.name = body.contains("name") && body["name"].is_string() ? body["name"].get<std::string>() : spec->name;
  if (job.name.empty()) job.name = "job";
  if (!valid_run_name(job.name))
    return error(res, 400, absl::StrCat("name \"", job.name, "\": expected [A-Za-z0-9][A-Za-z0-9._-]{0,127}"));
  absl::StatusOr<int64_t> id = store.submit(job, "waiting for the scheduler");
  if (!id.ok()) return error(res, id.status());
  reply(res, 201, json{{"id", *id}});
}

// Whether every segment of `path` (as decoded) is 1 to 256 of [A-Za-z0-9._:-] and none holds
// "..": ids, names and keys can then never name a file outside the state and runs directories.
bool plain_path(const std::string& path) {
  if (path.empty() || path[0] != '/') return false;
  const std::vector<std::string> segments = absl::StrSplit(path.substr(1), '/');
  for (const std::string& segment : segments) {
    if (segment.empty() || segment.size() > 256 || segment.find("..") != std::string::npos) return false;
    for (char c : segment)
      if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
            c == ':' || c == '-'))
        return false;
  }
  return true;
}

// The job and attempt of a rendezvous path, /api/v1/rendezvous/JOB/ATTEMPT[/...].
bool rendezvous_path(const std::string& path, int64_t& job, int& attempt) {
  constexpr std::string_view kPrefix = "/api/v1/rendezvous/";
  if (path.compare(0, kPrefix.size(), kPrefix) != 0) return false;
  const std::vector<std::string> parts = absl::StrSplit(path.substr(kPrefix.size()), absl::MaxSplits('/', 2));
  return parts.size() >= 2 && parts[0].size() <= 18 && parts[1].size() <= 9 && absl::SimpleAtoi(parts[0], &job) &&
         absl::SimpleAtoi(parts[1], &attempt);
}

}  // namespace

void install_api(httplib::Server& server, JobStore& store, Cluster& cluster, Rendezvous& rendezvous,
                 const ApiOptions& options) {
  server.set_payload_max_length(options.max_body_bytes);
  // Each worker holds a connection in its long-polled heartbeat: room for many.
  server.new_task_queue = [] { return new httplib::ThreadPool(64); };
  const std::string expected = "Bearer " + options.token;
  server.set_pre_routing_handler(
      [expected, token = options.token](const httplib::Request& req, httplib::Response& res) {
        if (req.path == "/healthz") return httplib::Server::HandlerResponse::Unhandled;
        const std::string given = req.get_header_value("Authorization");
        bool allowed = token_matches(expected, given);
        // An attempt's own token opens its rendezvous keys (and nothing else).
        int64_t job = 0;
        int attempt = 0;
        if (rendezvous_path(req.path, job, attempt))
          allowed = token_matches("Bearer " + attempt_token(token, job, attempt), given) || allowed;
        if (!allowed) {
          res.set_header("WWW-Authenticate", "Bearer");
          error(res, 401, "a valid bearer token is needed (Authorization: Bearer TOKEN)");
          return httplib::Server::HandlerResponse::Handled;
        }
        if (!plain_path(req.path)) {
          error(res, 400, "a path's segments are 1 to 256 of [A-Za-z0-9._:-], without \"..\"");
          return httplib::Server::HandlerResponse::Handled;
        }
        return httplib::Server::HandlerResponse::Unhandled;
      });
  install_rendezvous_routes(server, rendezvous);
  server.Get("/healthz",
             [](const httplib::Request&, httplib::Response& res) { res.set_content("ok\n", "text/plain"); });
  server.Get("/metrics",
             [&store, &cluster, runs_dir = options.runs_dir](const httplib::Request&, httplib::Response& res) {
               res.set_content(prometheus_text(store, cluster, runs_dir), "text/plain; version=0.0.4");
             });
  server.Post("/api/v1/jobs", [&store, &cluster](const httplib::Request& req, httplib::Response& res) {
    submit(store, req, res);
    if (res.status == 201) cluster.tick();  // placed now, not at the next tick (up to 100 ms later)
  });
  server.Get("/api/v1/jobs", [&store](const httplib::Request& req, httplib::Response& res) {
    int limit = 1000;
    if (req.has_param("limit") && (!absl::SimpleAtoi(req.get_param_value("limit"), &limit) || limit < 1))
      return error(res, 400, "limit is a positive number");
    absl::StatusOr<std::vector<JobRecord>> jobs = store.list(limit);
    if (!jobs.ok()) return error(res, jobs.status());
    json out = json::array();
    for (const JobRecord& r : *jobs) out.push_back(job_json(r));
    reply(res, 200, json{{"jobs", out}});
  });
  server.Get(R"(/api/v1/jobs/([^/]*))",
             [&store, runs_dir = options.runs_dir](const httplib::Request& req, httplib::Response& res) {
               int64_t id = 0;
               if (!job_id(req, res, id)) return;
               absl::StatusOr<std::optional<JobRecord>> job = store.get(id);
               if (!job.ok()) return error(res, job.status());
               if (!*job) return error(res, 404, absl::StrCat("job ", id, ": no such job"));
               absl::StatusOr<std::vector<Transition>> history = store.history(id);
               if (!history.ok()) return error(res, history.status());
               json out = job_json(**job), h = json::array();
               for (const Transition& t : *history)
                 h.push_back(json{{"at_ms", t.at_ms}, {"state", t.state}, {"cause", t.cause}});
               out["history"] = h;
               // What rank 0 last logged (the shared runs directory): step, loss, samples/s, accuracy.
               if (!runs_dir.empty()) out["progress"] = json::parse(job_progress_json(runs_dir, id));
               reply(res, 200, out);
             });
  server.Post(R"(/api/v1/jobs/([^/]*)/cancel)",
              [&store, &cluster](const httplib::Request& req, httplib::Response& res) {
                int64_t id = 0;
                if (!job_id(req, res, id)) return;
                if (absl::Status st = cluster.cancel(id); !st.ok()) return error(res, st);
                absl::StatusOr<std::optional<JobRecord>> job = store.get(id);
                if (!job.ok() || !*job) return error(res, 500, "the job vanished");
                reply(res, 200, job_json(**job));
              });
  // A rank's output from byte `offset` (at most 1 MiB); X-Trainyard-Next-Offset says where
  // to go on (`logs --follow` polls with it). attempt: the job's current one by default.
  server.Get(R"(/api/v1/jobs/([^/]*)/logs)", [&store, &cluster](const httplib::Request& req, httplib::Response& res) {
    int64_t id = 0;
    if (!job_id(req, res, id)) return;
    absl::StatusOr<std::optional<JobRecord>> job = store.get(id);
    if (!job.ok()) return error(res, job.status());
    if (!*job) return error(res, 404, absl::StrCat("job ", id, ": no such job"));
    if ((*job)->attempt == 0) return error(res, 404, absl::StrCat("job ", id, " has not started yet"));
    int rank = 0, attempt = (*job)->attempt;
    int64_t offset = 0;
    if ((req.has_param("rank") && !absl::SimpleAtoi(req.get_param_value("rank"), &rank)) ||
        (req.has_param("attempt") && !absl::SimpleAtoi(req.get_param_value("attempt"), &attempt)) ||
        (req.has_param("offset") && !absl::SimpleAtoi(req.get_param_value("offset"), &offset)) || rank < 0 ||
        rank >= (*job)->job.ranks || attempt < 1 || attempt > (*job)->attempt || offset < 0)
      return error(res, 400,
                   absl::StrCat("rank is from 0 to ", (*job)->job.ranks - 1, ", attempt from 1 to ", (*job)->attempt,
                                ", offset a byte offset"));
    std::ifstream in(cluster.log_path(id, attempt, rank), std::ios::binary);
    std::string text;
    if (in) {
      in.seekg(offset);
      text.resize(size_t{1} << 20);
      in.read(text.data(), static_cast<std::streamsize>(text.size()));
      text.resize(static_cast<size_t>(in.gcount()));
    }
    res.set_header("X-Trainyard-Next-Offset", std::to_string(offset + static_cast<int64_t>(text.size())));
    res.set_content(text, "text/plain");
  });
  server.Get("/api/v1/workers", [&cluster](const httplib::Request&, httplib::Response& res) {
    json out = json::array();
    for (const WorkerView& w : cluster.workers())
      out.push_back(json{{"name", w.name},
                         {"slots", w.slots},
                         {"busy", w.busy},
                         {"gpus", w.gpus},
                         {"busy_gpus", w.busy_gpus},
                         {"lost", w.lost},
                         {"seen_s_ago", w.seen_s_ago}});
    reply(res, 200, json{{"workers", out}});
  });
  server.Post("/api/v1/workers/register", [&cluster](const httplib::Request& req, httplib::Response& res) {
    const json body = json::parse(req.body, nullptr, false);
    if (!body.is_object() || !body.contains("name") || !body["name"].is_string() || !body.contains("slots") ||
        !body["slots"].is_number_integer() || body["slots"].get<int64_t>() < 0 || body["slots"].get<int64_t>() > 4096)
      return error(res, 400, "the body is {\"name\": NAME, \"slots\": N}, N from 0 to 4096");
    const std::string name = body["name"].get<std::string>();
    const int slots = body["slots"].get<int>();
    if (!valid_run_name(name))
      return error(res, 400, "worker name \"" + name + "\": expected [A-Za-z0-9][A-Za-z0-9._-]{0,127}");
    if (slots < 0 || slots > 4096) return error(res, 400, "slots: from 0 to 4096");
    // GPUs by the ids CUDA_VISIBLE_DEVICES takes: indices or UUIDs ("GPU-...", "MIG-...").
    std::vector<std::string> gpus;
    const json listed = body.value("gpus", json::array());
    if (!listed.is_array() || listed.size() > 256) return error(res, 400, "\"gpus\" is a list of at most 256 GPU ids");
    for (const json& g : listed) {
      const std::string id = g.is_string() ? g.get<std::string>() : "";
      if (!valid_run_name(id) || id.size() > 64 || std::find(gpus.begin(), gpus.end(), id) != gpus.end())
        return error(res, 400, "a GPU id is 1 to 64 of [A-Za-z0-9._-], each once (an index or a UUID)");
      gpus.push_back(id);
    }
    cluster.register_worker(name, slots, gpus);
    reply(res, 200, json::object());
  });
  server.Post("/api/v1/workers/heartbeat", [&cluster](const httplib::Request& req, httplib::Response& res) {
    const json body = json::parse(req.body, nullptr, false);
    if (!body.is_object() || !body.contains("name") || !body["name"].is_string())
      return error(res, 400, "the body is {\"name\": NAME, \"reports\": [...]}");
    std::vector<RankReport> reports;
    if (body.contains("reports") && !body["reports"].is_array()) return error(res, 400, "\"reports\" is a list");
    try {
      for (const json& r : body.value("reports", json::array())) {
        if (!r.is_object()) return error(res, 400, "a report is an object");
        RankReport x;
        x.job = r.value("job", int64_t{0});
        x.attempt = r.value("attempt", 0);
        x.rank = r.value("rank", 0);
        x.running = r.value("running", true);
        x.exit_code = r.value("exit_code", -1);
        x.signal = r.value("signal", 0);
        x.tail = r.value("tail", std::string());
        x.gpu = r.value("gpu", std::string());
        reports.push_back(std::move(x));
      }
    } catch (const json::exception& e) {  // a field of the wrong type
      return error(res, 400, std::string("a report: ") + e.what());
    }
    absl::StatusOr<Orders> orders =
        cluster.heartbeat(body["name"].get<std::string>(), reports, std::chrono::milliseconds(1000));
    if (!orders.ok()) return error(res, orders.status());
    json start = json::array(), kill = json::array();
    for (const RankOrder& o : orders->start)
      start.push_back(json{{"job", o.job},
                           {"attempt", o.attempt},
                           {"rank", o.rank},
                           {"world_size", o.world_size},
                           {"local_rank", o.local_rank},
                           {"local_world_size", o.local_world_size},
                           {"name", o.name},
                           {"spec", o.spec},
                           {"overrides", o.overrides},
                           {"run_dir", o.run_dir},
                           {"rendezvous_token", o.rendezvous_token},
                           {"log", o.log},
                           {"gpu", o.gpu}});
    for (const KillOrder& k : orders->kill) kill.push_back(json{{"job", k.job}, {"attempt", k.attempt}});
    reply(res, 200, json{{"start", start}, {"kill", kill}});
  });
}

}  // namespace ty::coordinator
