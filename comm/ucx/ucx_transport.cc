#include "comm/ucx/ucx_transport.h"

#include <poll.h>
#include <sched.h>
#include <sys/syscall.h>
#include <ucp/api/ucp.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace ty {
namespace {

constexpr uint64_t kFullMask = ~uint64_t{0};
// How often a wait checks its peer and its deadline.
constexpr auto kCheckEvery = std::chrono::milliseconds(5);

uint64_t make_tag(int world_src, int group, int tag) {
  return (static_cast<uint64_t>(world_src) & 0xFFFFF) << 44 | (static_cast<uint64_t>(group) & 0xFFF) << 32 |
         static_cast<uint64_t>(static_cast<uint32_t>(tag));
}

std::string ucs_text(ucs_status_t s) { return ucs_status_string(s); }

// What makes two ranks able to share memory and watch each other's process: the same
// boot of the same kernel, pid namespace and network namespace.
std::string host_key() {
  std::string boot;
  std::ifstream("/proc/sys/kernel/random/boot_id") >> boot;
  char pid_ns[128] = {}, net_ns[128] = {};
  if (readlink("/proc/self/ns/pid", pid_ns, sizeof pid_ns - 1) < 0 ||
      readlink("/proc/self/ns/net", net_ns, sizeof net_ns - 1) < 0 || boot.empty())
    return "";  // unknown: treat every peer as remote
  return absl::StrCat(boot, "/", pid_ns, "/", net_ns);
}

// A rank's entry in the store: "PID HOSTKEY\n" then its UCX worker address.
struct PeerCard {
  int pid = 0;
  std::string host, address;
  static PeerCard parse(const std::string& value) {
    PeerCard c;
    const size_t nl = value.find('\n');
    if (nl == std::string::npos) return c;
    std::istringstream head(value.substr(0, nl));
    head >> c.pid >> c.host;
    c.address = value.substr(nl + 1);
    return c;
  }
};

// The transport names in ucp_ep_print_info's lane lines ("lane[0]:  2:tcp/lo.0 md[1] ...").
std::vector<std::string> lane_transports(const std::string& info) {
  std::vector<std::string> out;
  for (absl::string_view line : absl::StrSplit(info, '\n')) {
    if (line.find("lane[") == absl::string_view::npos) continue;
    for (absl::string_view word : absl::StrSplit(line, ' ', absl::SkipEmpty())) {
      const size_t colon = word.find(':'), slash = word.find('/');
      if (colon != absl::string_view::npos && slash != absl::string_view::npos && colon < slash && colon > 0 &&
          std::isdigit(static_cast<unsigned char>(word[0]))) {
        out.emplace_back(word.substr(colon + 1, slash - colon - 1));
        break;
      }
    }
  }
  return out;
}

}  // namespace

struct UcxTransport::Impl {
  ucp_context_h context = nullptr;
  ucp_worker_h worker = nullptr;
  std::vector<ucp_ep_h> eps;
  std::vector<std::atomic<bool>> lost;  // per peer: its endpoint failed or its process ended (step 2)
  std::vector<int> pidfds;              // per peer on this host: its process, readable once it ends
  std::atomic<bool> abandoned{false};   // a request to a lost peer never finished (see ~Impl)
  explicit Impl(int size)
      : eps(static_cast<size_t>(size), nullptr), lost(static_cast<size_t>(size)), pidfds(static_cast<size_t>(size), -1) {}

  ~Impl() {
    for (int fd : pidfds)
      if (fd >= 0) close(fd);
    // With a request that never finished, UCX 1.13 crashes destroying the worker (its
    // leak report reads the request's protocol): the process is failing anyway, so the
    // worker is left to the exit.
    if (abandoned) return;
    for (size_t r = 0; r < eps.size(); ++r) {
      if (eps[r] == nullptr) continue;
      ucp_request_param_t p{};
      p.op_attr_mask = UCP_OP_ATTR_FIELD_FLAGS;
      // A forced close needs peer error handling on both sides; endpoints without it
      // (peers watched through their process) are flushed.
      p.flags = pidfds[r] >= 0 ? 0 : UCP_EP_CLOSE_FLAG_FORCE;
      ucs_status_ptr_t req = ucp_ep_close_nbx(eps[r], &p);
      if (UCS_PTR_IS_PTR(req)) {
        if (!settle(req, std::chrono::seconds(1))) abandoned = true;  // bounded: a lost peer must not hold the exit
        ucp_request_free(req);
      }
    }
    if (abandoned) return;
    if (worker) ucp_worker_destroy(worker);
    if (context) ucp_cleanup(context);
  }

  static void on_error(void* arg, ucp_ep_h ep, ucs_status_t) {
    auto* self = static_cast<Impl*>(arg);
    for (size_t r = 0; r < self->eps.size(); ++r)
      if (self->eps[r] == ep) self->lost[r] = true;
  }

  // Whether `peer` is gone: its endpoint failed (peers on other hosts), or its process
  // ended (peers on this host, whose shared-memory transports report no failures).
  bool is_lost(int peer) {
    const size_t p = static_cast<size_t>(peer);
    if (lost[p]) return true;
    if (pidfds[p] >= 0) {
      pollfd pfd{pidfds[p], POLLIN, 0};
      if (poll(&pfd, 1, 0) > 0) lost[p] = true;
    }
    return lost[p];
  }

  // Progresses until `req` is done or `limit` has passed (a request to a lost peer may
  // never finish); whether it finished.
  bool settle(void* req, std::chrono::milliseconds limit) {
    const auto until = Clock::now() + limit;
    while (ucp_request_check_status(req) == UCS_INPROGRESS) {
      if (Clock::now() > until) return false;
      ucp_worker_progress(worker);
    }
    return true;
  }

  // Cancels `req` (a request pointer still in progress, or not a pointer) and frees it. UCX
  // cancels receives; a send to a lost peer (or a receive already matched) may stay in
  // progress, and is freed anyway: UCX releases it if it ever completes. Its buffer could
  // then still be touched by a later progress call, but the group has failed — its op
  // queue runs nothing more — and ~Impl leaves the worker alone.
  void discard(ucs_status_ptr_t req) {
    if (!UCS_PTR_IS_PTR(req)) return;
    ucp_request_cancel(worker, req);
    if (!settle(req, std::chrono::milliseconds(100))) abandoned = true;
    ucp_request_free(req);
  }

  // Waits for `req` (a request pointer, null: done at once, or an error) while progressing,
  // and frees it; the error names `what` and, where a peer is lost, that peer. A failed
  // wait discards the request.
  absl::Status wait(ucs_status_ptr_t req, int peer, const std::string& what, Clock::time_point deadline) {
    if (req == nullptr) return absl::OkStatus();
    if (UCS_PTR_IS_ERR(req)) return failed(UCS_PTR_STATUS(req), peer, what);
    ucs_status_t st;
    int idle = 0;
    uint32_t polls = 0;
    auto next_check = Clock::now() + kCheckEvery;
    while ((st = ucp_request_check_status(req)) == UCS_INPROGRESS) {
      // Past a short spin, idle polls give the core away (ranks or their op queues may
      // outnumber cores, as Open MPI's yield_when_idle does).
      if (ucp_worker_progress(worker) != 0)
        idle = 0;
      else if (++idle > 64)
        sched_yield();
      // Every few milliseconds, busy or not: is the peer still there, is the deadline past?
      if (++polls % 64 != 0 || Clock::now() < next_check) continue;
      next_check = Clock::now() + kCheckEvery;
      bool gone = is_lost(peer);
      if (gone) {  // a peer that sent its last message and exited: take what it left first
        for (int k = 0; k < 1000 && ucp_request_check_status(req) == UCS_INPROGRESS; ++k) ucp_worker_progress(worker);
        if (ucp_request_check_status(req) != UCS_INPROGRESS) continue;
      }
      if (gone || Clock::now() > deadline) {
        discard(req);
        if (gone) return failed(UCS_ERR_CONNECTION_RESET, peer, what);
        return absl::DeadlineExceededError(absl::StrCat(what, ": rank ", peer, " did not answer by the deadline"));
      }
    }
    ucp_request_free(req);
    return st == UCS_OK ? absl::OkStatus() : failed(st, peer, what);
  }

  // A rank lost often takes others with it (a peer that waited on it fails and exits): the
  // error names every rank found gone, so the first loss is never hidden behind the last.
  absl::Status failed(ucs_status_t st, int peer, const std::string& what) {
    if (lost[static_cast<size_t>(peer)] || st == UCS_ERR_CONNECTION_RESET || st == UCS_ERR_ENDPOINT_TIMEOUT ||
        st == UCS_ERR_UNREACHABLE) {
      std::vector<std::string> gone;
      for (int p = 0; p < static_cast<int>(eps.size()); ++p)
        if (eps[static_cast<size_t>(p)] != nullptr && is_lost(p)) gone.push_back(absl::StrCat("rank ", p));
      return absl::UnavailableError(absl::StrCat(what, ": rank ", peer, " is lost (", ucs_text(st), ")",
                                                 gone.size() > 1 ? "; gone now: " + absl::StrJoin(gone, ", ") : ""));
    }
    return absl::InternalError(absl::StrCat(what, ": ", ucs_text(st)));
  }
};

UcxTransport::UcxTransport(std::shared_ptr<Impl> impl, int rank, std::vector<int> world_ranks, int group)
    : impl_(std::move(impl)),
      rank_(rank),
      size_(static_cast<int>(world_ranks.size())),
      world_ranks_(std::move(world_ranks)),
      group_(group) {}

std::string UcxTransport::peer_name(int group_rank) const {
  const int world = world_ranks_[static_cast<size_t>(group_rank)];
  return group_ == 0 ? absl::StrCat("rank ", group_rank) : absl::StrCat("rank ", group_rank, " (world rank ", world, ")");
}

uint64_t UcxTransport::tag_of(int group_rank, int tag) const {
  return make_tag(world_ranks_[static_cast<size_t>(group_rank)], group_, tag);
}

std::unique_ptr<UcxTransport> UcxTransport::subgroup(int group, const std::vector<int>& members, int rank) const {
  std::vector<int> world;
  for (int m : members) world.push_back(world_ranks_[static_cast<size_t>(m)]);
  auto t = std::unique_ptr<UcxTransport>(new UcxTransport(impl_, rank, std::move(world), group));
  t->transports_ = transports_;
  return t;
}

UcxTransport::~UcxTransport() = default;

absl::StatusOr<std::unique_ptr<UcxTransport>> UcxTransport::connect(rendezvous::Store& store, int rank, int size,
                                                                    Clock::time_point deadline) {
  auto impl = std::make_unique<Impl>(size);
  ucp_config_t* config = nullptr;
  if (ucs_status_t s = ucp_config_read(nullptr, nullptr, &config); s != UCS_OK)
    return absl::FailedPreconditionError(absl::StrCat("UCX: reading its configuration (UCX_*): ", ucs_text(s)));
  // Defaults measured with bench/allreduce_vs_mpi (the README's table), each kept only
  // where the user's environment does not set it: UCX 1.13's newer protocol selection
  // (1.6x faster at 16-256 KiB between ranks on one host) and rendezvous by the receiver
  // reading the sender's buffer (steady at 4-64 MiB, where the default scheme varies 3x).
  for (const auto& [name, value] : {std::pair{"PROTO_ENABLE", "y"}, std::pair{"RNDV_SCHEME", "get_zcopy"}})
    if (std::getenv(absl::StrCat("UCX_", name).c_str()) == nullptr) ucp_config_modify(config, name, value);
  ucp_params_t params{};
  params.field_mask = UCP_PARAM_FIELD_FEATURES;
  params.features = UCP_FEATURE_TAG;
  ucs_status_t s = ucp_init(&params, config, &impl->context);
  ucp_config_release(config);
  if (s != UCS_OK) return absl::FailedPreconditionError(absl::StrCat("UCX: ucp_init: ", ucs_text(s)));
  ucp_worker_params_t wp{};
  wp.field_mask = UCP_WORKER_PARAM_FIELD_THREAD_MODE;
  // Sub-groups share this worker and each runs its ops on its own queue thread.
  wp.thread_mode = UCS_THREAD_MODE_MULTI;
  if ((s = ucp_worker_create(impl->context, &wp, &impl->worker)) != UCS_OK)
    return absl::FailedPreconditionError(absl::StrCat("UCX: ucp_worker_create: ", ucs_text(s)));
  // Step 1.
  ucp_address_t* address = nullptr;
  size_t address_bytes = 0;
  if ((s = ucp_worker_get_address(impl->worker, &address, &address_bytes)) != UCS_OK)
    return absl::FailedPreconditionError(absl::StrCat("UCX: ucp_worker_get_address: ", ucs_text(s)));
  const std::string here = host_key();
  const std::string mine = absl::StrCat(getpid(), " ", here.empty() ? "-" : here, "\n",
                                        absl::string_view(reinterpret_cast<const char*>(address), address_bytes));
  ucp_worker_release_address(impl->worker, address);
  if (absl::Status st = store.set(absl::StrCat("ucx/", rank), mine); !st.ok()) return st;
  // Step 2.
  for (int r = 0; r < size; ++r) {
    if (r == rank) continue;
    absl::StatusOr<std::string> theirs = store.get(absl::StrCat("ucx/", r), deadline);
    if (!theirs.ok()) return theirs.status();
    const PeerCard card = PeerCard::parse(*theirs);
    if (card.address.empty() || card.pid <= 0)
      return absl::InvalidArgumentError(absl::StrCat("UCX: the store's entry ucx/", r, " (", store.describe(),
                                                     ") is not a trainyard rank's address"));
    // A peer on this host is watched through its process (UCX's shared-memory transports
    // have no failure detection, and asking for it would leave them out); one elsewhere,
    // or one whose process cannot be watched (or is this one: ranks as threads, in tests),
    // through UCX's peer error handling.
    int& pidfd = impl->pidfds[static_cast<size_t>(r)];
    if (!here.empty() && card.host == here && card.pid != getpid())  // ranks as threads: see below
      pidfd = static_cast<int>(syscall(SYS_pidfd_open, card.pid, 0));
    ucp_ep_params_t ep{};
    ep.field_mask =
        UCP_EP_PARAM_FIELD_REMOTE_ADDRESS | UCP_EP_PARAM_FIELD_ERR_HANDLING_MODE | UCP_EP_PARAM_FIELD_ERR_HANDLER;
    ep.address = reinterpret_cast<const ucp_address_t*>(card.address.data());
    ep.err_mode = pidfd >= 0 ? UCP_ERR_HANDLING_MODE_NONE : UCP_ERR_HANDLING_MODE_PEER;
    ep.err_handler.cb = &Impl::on_error;
    ep.err_handler.arg = impl.get();
    if ((s = ucp_ep_create(impl->worker, &ep, &impl->eps[static_cast<size_t>(r)])) != UCS_OK)
      return absl::UnavailableError(absl::StrCat("UCX: rank ", rank, " cannot reach rank ", r, ": ", ucs_text(s)));
  }
  std::vector<int> everyone(static_cast<size_t>(size));
  for (int r = 0; r < size; ++r) everyone[static_cast<size_t>(r)] = r;
  auto t = std::unique_ptr<UcxTransport>(new UcxTransport(std::move(impl), rank, std::move(everyone), 0));
  std::set<std::string> names;  // the transports of every lane to every peer, from UCX's own report
  for (ucp_ep_h ep : t->impl_->eps) {
    if (ep == nullptr) continue;
    char* text = nullptr;
    size_t text_bytes = 0;
    FILE* out = open_memstream(&text, &text_bytes);
    if (out == nullptr) continue;
    ucp_ep_print_info(ep, out);
    std::fclose(out);
    for (const std::string& name : lane_transports(std::string(text, text_bytes))) names.insert(name);
    std::free(text);
  }
  t->transports_ = names.empty() ? "self" : absl::StrJoin(names, ", ");
  return t;
}

absl::Status UcxTransport::send(int dst, int tag, const void* data, size_t bytes, Clock::time_point deadline) {
  ucp_request_param_t p{};
  const int peer = world_ranks_[static_cast<size_t>(dst)];
  ucs_status_ptr_t req = ucp_tag_send_nbx(impl_->eps[static_cast<size_t>(peer)], data, bytes, tag_of(rank_, tag), &p);
  return impl_->wait(req, peer, "send to " + peer_name(dst), deadline);
}

absl::Status UcxTransport::recv(int src, int tag, void* data, size_t bytes, Clock::time_point deadline) {
  ucp_request_param_t p{};
  ucs_status_ptr_t req = ucp_tag_recv_nbx(impl_->worker, data, bytes, tag_of(src, tag), kFullMask, &p);
  return impl_->wait(req, world_ranks_[static_cast<size_t>(src)], "receive from " + peer_name(src), deadline);
}

absl::Status UcxTransport::sendrecv(int dst, const void* send_data, size_t send_bytes, int src, void* recv_data,
                                    size_t recv_bytes, int tag, Clock::time_point deadline) {
  ucp_request_param_t p{};
  const int to = world_ranks_[static_cast<size_t>(dst)], from = world_ranks_[static_cast<size_t>(src)];
  ucs_status_ptr_t in = ucp_tag_recv_nbx(impl_->worker, recv_data, recv_bytes, tag_of(src, tag), kFullMask, &p);
  ucs_status_ptr_t out =
      ucp_tag_send_nbx(impl_->eps[static_cast<size_t>(to)], send_data, send_bytes, tag_of(rank_, tag), &p);
  absl::Status sent = impl_->wait(out, to, "send to " + peer_name(dst), deadline);
  absl::Status got = impl_->wait(in, from, "receive from " + peer_name(src), deadline);
  return sent.ok() ? got : sent;
}

absl::Status UcxTransport::sendrecv_pieces(int dst, const void* send_data, size_t send_bytes, int src, void* recv_data,
                                           size_t recv_bytes, size_t piece, int tag, Clock::time_point deadline,
                                           const OnPiece& on_piece) {
  const size_t ns = piece_count(send_bytes, piece), nr = piece_count(recv_bytes, piece);
  const int to = world_ranks_[static_cast<size_t>(dst)], from = world_ranks_[static_cast<size_t>(src)];
  const uint64_t in_tag = tag_of(src, tag), out_tag = tag_of(rank_, tag);
  // Every piece is posted at once: the receives first, so that none of the peer's pieces
  // waits in UCX's unexpected queue, then the sends. Messages with one tag on one endpoint
  // match in the order they were posted, so piece i lands in receive i.
  std::vector<ucs_status_ptr_t> ins(nr), outs(ns);
  ucp_request_param_t p{};
  for (size_t i = 0; i < nr; ++i) {
    const size_t off = std::min(i * piece, recv_bytes);
    ins[i] = ucp_tag_recv_nbx(impl_->worker, static_cast<char*>(recv_data) + off, std::min(piece, recv_bytes - off),
                              in_tag, kFullMask, &p);
  }
  ucp_ep_h ep = impl_->eps[static_cast<size_t>(to)];
  for (size_t i = 0; i < ns; ++i) {
    const size_t off = std::min(i * piece, send_bytes);
    outs[i] = ucp_tag_send_nbx(ep, static_cast<const char*>(send_data) + off, std::min(piece, send_bytes - off),
                               out_tag, &p);
  }
  absl::Status st;
  size_t i = 0;
  for (; i < nr && st.ok(); ++i) {
    st = impl_->wait(ins[i], from, "receive from " + peer_name(src), deadline);
    const size_t off = std::min(i * piece, recv_bytes);
    if (st.ok() && recv_bytes > off) on_piece(off, std::min(piece, recv_bytes - off));
  }
  for (; i < nr; ++i) impl_->discard(ins[i]);
  size_t j = 0;
  for (; j < ns && st.ok(); ++j) st = impl_->wait(outs[j], to, "send to " + peer_name(dst), deadline);
  for (; j < ns; ++j) impl_->discard(outs[j]);
  return st;
}

}  // namespace ty
