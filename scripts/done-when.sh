#!/usr/bin/env bash
# Runs the pgbench checks named in the issues' "Done when" against a fresh PostgreSQL and Sluice
# (transaction mode, default_pool_size = 20; session mode for the last one) and prints pgbench's summary lines.
# Usage: scripts/done-when.sh [seconds]   (default 30). Needs PostgreSQL binaries and a published Sluice
# (artifacts/sluice/sluice, built by scripts/run.sh or scripts/test.sh). Runs everything as `postgres` when root.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
SECONDS_PER_RUN="${1:-30}"
BIN="$(pwd)/artifacts/sluice/sluice"
PG_BIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
WORK="$(mktemp -d /tmp/sluice-done-when.XXXXXX)"
chmod 755 "$WORK"
as_user() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] && chown postgres "$WORK"
PG_PORT=25432; PORT=26432; SPORT=26433
cleanup() {
  [ -n "${SLUICE_PID:-}" ] && kill "$SLUICE_PID" 2>/dev/null || true
  [ -n "${SESSION_PID:-}" ] && kill "$SESSION_PID" 2>/dev/null || true
  as_user "$PG_BIN/pg_ctl" -D "$WORK/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
as_user "$PG_BIN/initdb" -D "$WORK/data" -U postgres --auth=trust -E UTF8 --locale=C >/dev/null
cat >> "$WORK/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$WORK'
max_connections = 250
fsync = off
synchronous_commit = off
shared_buffers = 256MB
password_encryption = 'scram-sha-256'
CONF
printf 'local all all trust\nhost all postgres 127.0.0.1/32 trust\nhost all all 127.0.0.1/32 scram-sha-256\n' > "$WORK/data/pg_hba.conf"
as_user "$PG_BIN/pg_ctl" -D "$WORK/data" -l "$WORK/pg.log" -w start >/dev/null
psql -h "$WORK" -p $PG_PORT -U postgres -qc "create role bench login password 'bench'" -qc "create database bench owner bench"
PGPASSWORD=bench pgbench -h 127.0.0.1 -p $PG_PORT -U bench -i -s 10 -q bench >/dev/null 2>&1
printf '"bench" "%s"\n' "$(psql -h "$WORK" -p $PG_PORT -U postgres -Atc "select rolpassword from pg_authid where rolname='bench'")" > "$WORK/userlist.txt"
for mode in transaction session; do
  port=$PORT; [ $mode = session ] && port=$SPORT
  cat > "$WORK/$mode.ini" <<INI
[databases]
bench = host=127.0.0.1 port=$PG_PORT dbname=bench
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = scram-sha-256
auth_file = $WORK/userlist.txt
pool_mode = $mode
default_pool_size = 20
max_client_conn = 2000
log_connections = 0
log_disconnections = 0
INI
done
[ "$(id -u)" = 0 ] && chown postgres "$WORK"/*.ini "$WORK/userlist.txt"
as_user "$BIN" "$WORK/transaction.ini" 2>"$WORK/sluice.log" & SLUICE_PID=$!
as_user "$BIN" "$WORK/session.ini" 2>"$WORK/sluice-session.log" & SESSION_PID=$!
sleep 2
run() {
  echo "### pgbench $*"
  PGPASSWORD=bench pgbench -h 127.0.0.1 -U bench -n -T "$SECONDS_PER_RUN" "$@" bench 2>&1 | grep -E "query mode|number of clients|number of transactions actually|number of failed|latency average|^tps"
}
run -p $PORT -c 50 -j 2 -M extended
run -p $PORT -c 50 -j 2 -M simple
run -p $SPORT -c 20
run -p $PORT -c 50 -j 2 -S -M prepared
run -p $PORT -c 50 -j 2 -S -M extended
