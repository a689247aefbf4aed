#include "comm/ucx/ucx_communicator.h"

#include "absl/strings/str_cat.h"

namespace ty {

UcxCommunicator::UcxCommunicator(std::unique_ptr<UcxTransport> transport, const UcxTransport* raw, int group_id,
                                 CommOptions options, std::string group)
    : TransportCommunicator(std::move(transport), options, "ucx", std::move(group)),
      transport_(raw),
      group_id_(group_id) {}

absl::StatusOr<std::unique_ptr<UcxCommunicator>> UcxCommunicator::create(rendezvous::Store& store, int rank, int size,
                                                                         CommOptions options) {
  auto t = UcxTransport::connect(store, rank, size, Transport::Clock::now() + options.timeout);
  if (!t.ok()) return t.status();
  const UcxTransport* raw = t->get();
  return std::unique_ptr<UcxCommunicator>(new UcxCommunicator(std::move(*t), raw, 0, options, "world"));
}

std::unique_ptr<Communicator> UcxCommunicator::make_child(int split, int color, const std::vector<int>& members,
                                                          int rank) {
  // The same id on every member (all agree on this group's id, the split number and the
  // color); ids of groups alive together differ unless 4095 values collide.
  const int id = 1 + static_cast<int>((static_cast<uint64_t>(group_id_) * 131 + split * 31 + color) % 4095);
  std::unique_ptr<UcxTransport> sub = transport_->subgroup(id, members, rank);
  const UcxTransport* raw = sub.get();
  return std::unique_ptr<Communicator>(
      new UcxCommunicator(std::move(sub), raw, id, options(), absl::StrCat(group(), "/split ", color)));
}

}  // namespace ty
