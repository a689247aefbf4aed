// The coordinator's HTTP/JSON API, version 1 (the README documents every route):
//   GET  /healthz                       no token: "ok"
//   GET  /metrics                       Prometheus text format (coordinator/metrics.h); token needed
//   POST /api/v1/jobs                   {"spec": YAML, "overrides": ["k=v"], "name", "ranks",
//                                       "priority"} → 201 {"id": N}; a bad spec → 400 naming the key
//   GET  /api/v1/jobs[?limit=N]         {"jobs": [job, ...]}, newest first
//   GET  /api/v1/jobs/{id}              job with its "history" of state changes
//   POST /api/v1/jobs/{id}/cancel       → the job, canceled (a job that has ended: 409)
//   GET  /api/v1/jobs/{id}/logs?rank=R&attempt=A&offset=N   a rank's output (text) from byte N;
//                                       X-Trainyard-Next-Offset says where to go on
//   GET/PUT /api/v1/rendezvous/{job}/{attempt}/{key}   the ranks' rendezvous store (coordinator/rendezvous.h);
//                                       the attempt's own token also opens it
//   GET  /api/v1/workers                {"workers": [{"name", "slots", "busy", "gpus", "busy_gpus", "lost",
//                                       "seen_s_ago"}]}
//   POST /api/v1/workers/register       {"name", "slots", "gpus"} (worker daemons)
//   POST /api/v1/workers/heartbeat      {"name", "reports": [rank report]} → {"start": [rank order],
//                                       "kill": [{"job", "attempt"}]}, held up to 1 s until there are orders
// Every route but /healthz needs `Authorization: Bearer TOKEN`, checked before routing and in
// constant time (401 otherwise, the token never logged). Bodies over the limit get 413; an id
// that is not a positive number gets 400; errors are {"error": "..."}. A job's spec is
// never returned (its `env` may hold credentials).
#pragma once

#include <cstddef>
#include <string>

#include "coordinator/cluster.h"
#include "coordinator/job_store.h"
#include "coordinator/rendezvous.h"

namespace httplib {
class Server;
}

namespace ty::coordinator {

struct ApiOptions {
  std::string token;
  std::string runs_dir;  // for /metrics: each running job's metrics.jsonl
  size_t max_body_bytes = size_t{1} << 20;
};

void install_api(httplib::Server& server, JobStore& store, Cluster& cluster, Rendezvous& rendezvous,
                 const ApiOptions& options);

}  // namespace ty::coordinator
