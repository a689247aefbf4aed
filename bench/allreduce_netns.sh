#!/bin/bash
# Allreduce between two "hosts" on one machine: two network namespaces joined by veth
# pairs to a bridge, one rank in each, so every byte crosses TCP over veth. Runs
# bench/allreduce_vs_mpi there: raw MPI_Allreduce of Open MPI with `--mca btl tcp,self`
# (and pml ob1, so that Open MPI's own UCX layer stays out) against trainyard over UCX with
# UCX_TLS=tcp,self, in the same run. mpirun starts its remote daemon through an rsh agent
# that runs `ip netns exec`. `--bind-to none`: each "host" would bind its rank to its
# first core, the same core on this one machine (8 ms per 4 KiB allreduce, time-sliced).
# Needs root; cleans up after itself.
#
#   bench/allreduce_netns.sh [build dir, default build] [allreduce_vs_mpi args...]
set -euo pipefail
BUILD=$(realpath "${1:-build}")
shift || true
BIN="$BUILD/bench/allreduce_vs_mpi"
[ -x "$BIN" ] || { echo "no $BIN: build first (cmake --build $BUILD)" >&2; exit 2; }
ID=$$
NET="10.78.$((ID % 250))"
BR="tyab$((ID % 100000))"
WORK=$(mktemp -d)
cleanup() {
  for i in 0 1; do
    ip netns pids "tya$ID-$i" 2>/dev/null | xargs -r kill -9 || true
    ip netns del "tya$ID-$i" 2>/dev/null || true
  done
  ip link del "$BR" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
ip link add "$BR" type bridge
ip link set "$BR" up
for i in 0 1; do
  ns="tya$ID-$i"
  ip netns add "$ns"
  ip link add "tyav$((ID % 100000))$i" type veth peer name eth0 netns "$ns"
  ip link set "tyav$((ID % 100000))$i" master "$BR" up
  ip -n "$ns" addr add "$NET.$((i + 1))/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" link set lo up
done
# The rsh agent: mpirun calls it with the host (an address here) and the daemon's command.
cat > "$WORK/agent" <<AGENT
#!/bin/bash
while [[ "\$1" == -* ]]; do shift; done
host=\$1; shift
case "\$host" in
  $NET.1) ns=tya$ID-0 ;;
  $NET.2) ns=tya$ID-1 ;;
  *) echo "agent: unknown host \$host" >&2; exit 1 ;;
esac
exec ip netns exec "\$ns" bash -c "\$*"
AGENT
chmod +x "$WORK/agent"
echo "2 ranks in network namespaces $NET.1 and $NET.2 (TCP over veth): Open MPI btl tcp,self vs trainyard UCX tcp"
ip netns exec "tya$ID-0" mpirun --allow-run-as-root --oversubscribe \
  --host "$NET.1:1,$NET.2:1" -np 2 --bind-to none \
  --mca plm_rsh_agent "$WORK/agent" \
  --mca pml ob1 --mca btl tcp,self --mca btl_tcp_if_include "$NET.0/24" --mca oob_tcp_if_include "$NET.0/24" \
  -x UCX_TLS=tcp,self -x PATH ${MPIRUN_EXTRA:-} \
  "$BIN" "$@"
