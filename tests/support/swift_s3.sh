#!/usr/bin/env bash
# swift_s3.sh up|down DIR [PORT]: a one-node OpenStack Swift (Debian swift-* packages) with the
# s3api middleware on 127.0.0.1:PORT (default 8089); its object, container and account
# servers and memcached take PORT+10..PORT+13. S3 credentials: access key "test:tester",
# secret "testing" (tempauth); a second user "test:secure" (same account) has a secret no output could hold by
# chance, for the tests that check that credentials never show. Everything lives under DIR; "down" stops it and removes DIR.
# The S3 tests and benches start it (tests/CMakeLists.txt: the swift_s3 fixture).
set -u
cmd=$1; d=$(readlink -f "$2"); port=${3:-8089}
if [ "$cmd" = down ]; then
  for f in "$d"/run/*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null; done
  sleep 0.5; rm -rf "$d"; exit 0
fi
# A stale one from an earlier run in the same place: stop it first.
for f in "$d"/run/*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null; done
rm -rf "$d"
mkdir -p "$d"/{etc,srv/d1,run,log}
cat > "$d/etc/swift.conf" <<C
[swift-hash]
swift_hash_path_suffix = tysuffix
swift_hash_path_prefix = typrefix
[storage-policy:0]
name = gold
default = yes
C
common="[DEFAULT]
devices = $d/srv
mount_check = false
swift_dir = $d/etc
bind_ip = 127.0.0.1
workers = 1
log_facility = LOG_LOCAL0
user = root"
for s in object:$((port+10)) container:$((port+11)) account:$((port+12)); do
  n=${s%%:*}; p=${s##*:}
  printf '%s\nbind_port = %s\n[pipeline:main]\npipeline = %s-server\n[app:%s-server]\nuse = egg:swift#%s\n' "$common" "$p" "$n" "$n" "$n" > "$d/etc/$n-server.conf"
  [ "$n" = object ] && printf '[object-replicator]\n[object-updater]\n[object-auditor]\n' >> "$d/etc/$n-server.conf"
  [ "$n" = container ] && printf '[container-replicator]\n[container-updater]\n[container-auditor]\n[container-sync]\n' >> "$d/etc/$n-server.conf"
  [ "$n" = account ] && printf '[account-replicator]\n[account-auditor]\n[account-reaper]\n' >> "$d/etc/$n-server.conf"
  ( cd "$d/etc" && swift-ring-builder $n.builder create 4 1 1 >/dev/null && swift-ring-builder $n.builder add r1z1-127.0.0.1:$p/d1 1 >/dev/null && swift-ring-builder $n.builder rebalance >/dev/null 2>&1 )
done
cat > "$d/etc/proxy-server.conf" <<C
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $port
swift_dir = $d/etc
workers = 1
user = root
[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache s3api tempauth bulk slo proxy-logging proxy-server
[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = testing .admin
user_test_secure = Sup3r-S3cret-Value-9f2e .admin
[filter:s3api]
use = egg:swift#s3api
location = us-east-1
[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:$((port+13))
[filter:bulk]
use = egg:swift#bulk
[filter:slo]
use = egg:swift#slo
[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:proxy-logging]
use = egg:swift#proxy_logging
C
memcached -u root -l 127.0.0.1 -p $((port+13)) -d -P "$d/run/memcached.pid"
for n in object container account proxy; do
  swift-$n-server "$d/etc/$n-server.conf" > "$d/log/$n.log" 2>&1 & echo $! > "$d/run/$n.pid"
done
# Healthy, and ours: a proxy of another build on the same port would answer too.
for i in $(seq 300); do
  if ! kill -0 "$(cat "$d/run/proxy.pid")" 2>/dev/null; then
    echo "swift's proxy exited (port $port taken?); logs in $d/log" >&2; exit 1
  fi
  curl -sf "http://127.0.0.1:$port/healthcheck" >/dev/null && { echo "swift s3api on http://127.0.0.1:$port"; exit 0; }
  sleep 0.2
done
echo "swift did not start; logs in $d/log" >&2; exit 1
