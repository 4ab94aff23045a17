# Shared set-up for scripts/run, scripts/test and bench/run: install what is missing, start Redis and
# PostgreSQL as plain processes on loopback, stop them again. Source it; it defines functions only.

log() { printf '[%s] %s\n' "$(basename "$0")" "$*" >&2; }
die() { log "error: $*"; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else die "need root for: $*"; fi
}

apt_updated=0
apt_install() {
  command -v apt-get >/dev/null || die "apt-get not found: install $* by hand"
  if [ "$apt_updated" -eq 0 ]; then as_root apt-get update -qq >/dev/null; apt_updated=1; fi
  log "installing $*"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

pg_bin_dir() {
  if command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then dirname "$(command -v pg_ctl)"; return; fi
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$d" ] && [ -x "$d/pg_ctl" ] && echo "$d"
}

ensure_tools() {
  command -v dotnet >/dev/null || die "the .NET SDK (dotnet) is not on PATH; install .NET 10 first"
  command -v redis-server >/dev/null || apt_install redis-server
  [ -n "$(pg_bin_dir)" ] || apt_install postgresql
  PG_BIN=$(pg_bin_dir); [ -n "$PG_BIN" ] || die "PostgreSQL binaries not found after install"
  command -v psql >/dev/null || PATH="$PG_BIN:$PATH"
  export PG_BIN PATH
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# free_port START: the first port from START upwards that nothing listens on.
free_port() {
  local p=$1
  while port_in_use "$p"; do p=$((p + 1)); done
  echo "$p"
}

# PostgreSQL refuses to run as root: run its commands as the postgres user when we are root.
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# start_redis DIR PORT
start_redis() {
  local dir=$1 port=$2
  mkdir -p "$dir"
  if port_in_use "$port"; then
    redis-cli -p "$port" ping >/dev/null 2>&1 || die "port $port is taken by something that is not Redis (set REDIS_PORT)"
    log "redis already running on 127.0.0.1:$port"; return
  fi
  redis-server --bind 127.0.0.1 --port "$port" --dir "$dir" --daemonize yes \
    --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" \
    --appendonly yes --appendfsync everysec --save "" >/dev/null
  local deadline=$((SECONDS + 20))
  until redis-cli -p "$port" ping >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || die "redis did not start: see $dir/redis.log"
    sleep 0.1
  done
  log "redis on 127.0.0.1:$port (data in $dir)"
}

stop_redis() {
  local port=$1
  redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
}

# start_postgres DIR PORT [fast]: initdb on first use, then start; "fast" turns off fsync (tests only).
start_postgres() {
  local dir=$1 port=$2 mode=${3:-}
  local data="$dir/data"
  mkdir -p "$dir"
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres:postgres "$dir"
    # postgres must be able to reach the folder through its parents
    local p=$dir
    while [ "$p" != "/" ]; do p=$(dirname "$p"); chmod o+x "$p" 2>/dev/null || true; done
  fi
  if [ ! -s "$data/PG_VERSION" ]; then
    as_pg "$PG_BIN/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 \
      || die "initdb failed: see $dir/initdb.log"
  fi
  if as_pg "$PG_BIN/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    log "postgres already running from $data"; return
  fi
  port_in_use "$port" && die "port $port is taken (set PG_PORT)"
  local opts="-p $port -c listen_addresses=127.0.0.1 -k $dir -c max_connections=200"
  [ "$mode" = fast ] && opts="$opts -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  as_pg "$PG_BIN/pg_ctl" -D "$data" -l "$dir/postgres.log" -w -t 60 -o "$opts" start >/dev/null \
    || die "postgres did not start: see $dir/postgres.log"
  log "postgres on 127.0.0.1:$port (data in $data)"
}

stop_postgres() {
  local dir=$1
  [ -d "$dir/data" ] || return 0
  as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
}

# ensure_database PORT NAME
ensure_database() {
  local port=$1 name=$2
  if ! psql -h 127.0.0.1 -p "$port" -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname='$name'" | grep -q 1; then
    psql -h 127.0.0.1 -p "$port" -U postgres -d postgres -qc "CREATE DATABASE \"$name\"" >/dev/null
  fi
}

# free_cluster_ports START COUNT: COUNT consecutive free ports from START upwards whose cluster bus ports (+10000)
# are free too; the bus must stay below 65536, so START must be below 55536 - COUNT.
free_cluster_ports() {
  local p=$1 count=$2 i ok
  while :; do
    [ $((p + count + 10000)) -lt 65536 ] || die "no $count free cluster ports below 55536"
    ok=1
    for ((i = 0; i < count; i++)); do
      if port_in_use $((p + i)) || port_in_use $((p + i + 10000)); then ok=0; p=$((p + i + 1)); break; fi
    done
    [ $ok -eq 1 ] && break
  done
  seq "$p" $((p + count - 1)) | tr '\n' ' '
}

# start_redis_cluster DIR PORT...: one cluster-enabled redis-server per port (AOF as start_redis), then
# `redis-cli --cluster create` with one replica per master (so 6 ports make 3 masters and 3 replicas), then waits
# until every node reports cluster_state:ok and has the same view (every slot served by a master it knows).
start_redis_cluster() {
  local dir=$1; shift
  local port addrs=()
  for port in "$@"; do
    mkdir -p "$dir/$port"
    redis-server --bind 127.0.0.1 --port "$port" --dir "$dir/$port" --daemonize yes \
      --pidfile "$dir/$port/redis.pid" --logfile "$dir/$port/redis.log" \
      --appendonly yes --appendfsync everysec --save "" \
      --repl-diskless-sync-delay 0 --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout "${CLUSTER_NODE_TIMEOUT:-2000}" >/dev/null
    addrs+=("127.0.0.1:$port")
  done
  local deadline=$((SECONDS + 20))
  for port in "$@"; do
    until redis-cli -p "$port" ping >/dev/null 2>&1; do
      [ $SECONDS -lt $deadline ] || die "cluster node $port did not start: see $dir/$port/redis.log"
      sleep 0.1
    done
  done
  redis-cli --cluster create "${addrs[@]}" --cluster-replicas 1 --cluster-yes >"$dir/create.log" 2>&1 \
    || die "redis-cli --cluster create failed: see $dir/create.log"
  deadline=$((SECONDS + 60))
  for port in "$@"; do
    until redis-cli -p "$port" cluster info 2>/dev/null | grep -q 'cluster_state:ok' \
      && [ "$(redis-cli -p "$port" cluster nodes | grep -c 'master -')" -eq $(($# / 2)) ] \
      && ! redis-cli -p "$port" cluster nodes | grep -q 'handshake\|noaddr\|fail'; do
      [ $SECONDS -lt $deadline ] || die "cluster node $port did not report cluster_state:ok: see $dir/$port/redis.log"
      sleep 0.1
    done
  done
  # Replicas must be in sync before a test counts on them (WAIT, failover).
  deadline=$((SECONDS + 60))
  for port in "$@"; do
    if redis-cli -p "$port" role | head -n 1 | grep -q slave; then
      until redis-cli -p "$port" info replication | grep -q 'master_link_status:up'; do
        [ $SECONDS -lt $deadline ] || die "cluster replica $port did not sync: see $dir/$port/redis.log"
        sleep 0.1
      done
    fi
  done
  log "redis cluster on 127.0.0.1:$1..$(eval echo \${$#}) (3 masters, 3 replicas; data in $dir)"
}

stop_redis_cluster() {
  local port
  for port in "$@"; do redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true; done
}
