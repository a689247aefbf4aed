// The coordinator's rendezvous store: where the ranks a worker starts find each other
// (comm/rendezvous/http_store.h is the client). Keys belong to one attempt of one job and
// are taken only while the job runs that attempt, so ranks of an ended attempt never meet
// those of the next. Kept in memory and written through to the job store, so a coordinator
// restart mid-rendezvous loses no key; an attempt's keys go when its ranks are gone.
//   GET /api/v1/rendezvous/{job}/{attempt}          {"keys": N}: the token works, the attempt runs
//   PUT /api/v1/rendezvous/{job}/{attempt}/{key}    body: the value's bytes
//   GET /api/v1/rendezvous/{job}/{attempt}/{key}    the value; 404 while it is not set
// A rank authenticates with its attempt's token (coordinator/token.h: attempt_token), the
// coordinator's own token also works. Keys are 1 to 256 of [A-Za-z0-9._:/-] without "..",
// an empty segment or a '/' at either end;
// an attempt holds at most 65536 keys and 64 MiB.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "coordinator/job_store.h"

namespace httplib {
class Server;
}

namespace ty::coordinator {

class Rendezvous {
 public:
  // Loads the keys of attempts still running from `store`, dropping the others.
  static absl::StatusOr<std::unique_ptr<Rendezvous>> load(JobStore& store);

  // 400 for a bad key, 409 when the job does not run that attempt, 413 past the bounds.
  absl::Status set(int64_t job, int attempt, const std::string& key, const std::string& value);
  absl::StatusOr<std::optional<std::string>> get(int64_t job, int attempt, const std::string& key);
  // How many keys the attempt holds; an error when the job does not run it.
  absl::StatusOr<size_t> count(int64_t job, int attempt);
  // Forgets the attempt's keys (its ranks are gone).
  void drop(int64_t job, int attempt);

 private:
  explicit Rendezvous(JobStore& store) : store_(store) {}
  absl::Status check_running(int64_t job, int attempt);
  struct Keys {
    std::map<std::string, std::string> values;
    size_t bytes = 0;
  };
  JobStore& store_;
  std::mutex mu_;
  std::map<std::pair<int64_t, int>, Keys> attempts_;
};

// Whether `key` is a valid rendezvous key.
bool valid_rendezvous_key(const std::string& key);

void install_rendezvous_routes(httplib::Server& server, Rendezvous& rendezvous);

}  // namespace ty::coordinator
