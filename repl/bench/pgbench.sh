#!/usr/bin/env bash
# pgbench against `isodb serve` and against a PostgreSQL server this script
# starts itself on another loopback port: the same pgbench, scale, scripts,
# query mode, isolation level and durability (every commit fsynced: isodb's
# default Durability::Sync; PostgreSQL with fsync=on, synchronous_commit=on).
#
#   repl/bench/pgbench.sh                 # 30 s per run, scale 1, 1 and 2 clients
#   DURATION=5 repl/bench/pgbench.sh      # a quick look
#
# Knobs (environment): DURATION (seconds per run, 30), SCALE (1), CLIENTS
# ("1 2"), MODE (pgbench's query mode: simple, extended, prepared; simple),
# LEVEL (the default isolation level of both servers; "read committed",
# PostgreSQL's default), ISODB_PORT (55432), PG_PORT (55433).
#
# Tables: pgbench's own initialisation (-i) where the server takes it; isodb
# has no timestamp type, so for it the same four tables are created and
# loaded with plain SQL (the script says which). Transactions: pgbench's
# built-in select-only (-S); for the TPC-B-like one, pgbench's built-in
# script when the server runs every statement of it, otherwise the same
# statements with the history row's mtime left out (isodb has no
# CURRENT_TIMESTAMP), run on both servers so they do the same work (the
# script says which). Every run is -n: no vacuum between runs.
#
# Needs pgbench and PostgreSQL's server binaries: installed with apt-get
# (postgresql, postgresql-contrib) when missing. PostgreSQL refuses to run
# as root, so as root its cluster runs as the user postgres.
set -euo pipefail
cd "$(dirname "$0")/../.."

DURATION=${DURATION:-30}
SCALE=${SCALE:-1}
CLIENTS=${CLIENTS:-1 2}
MODE=${MODE:-simple}
LEVEL=${LEVEL:-read committed}
ISODB_PORT=${ISODB_PORT:-55432}
PG_PORT=${PG_PORT:-55433}

say() { printf '%s\n' "$*" >&2; }

pg_bindir() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -n "$dir" ] && [ -x "$dir/initdb" ]; then echo "$dir"; return; fi
  if command -v initdb >/dev/null; then dirname "$(command -v initdb)"; fi
}

if ! command -v pgbench >/dev/null || [ -z "$(pg_bindir)" ]; then
  say "installing postgresql and postgresql-contrib (pgbench, initdb, postgres)..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends postgresql postgresql-contrib >/dev/null
fi
PG_BIN=$(pg_bindir)
[ -n "$PG_BIN" ] || { say "no PostgreSQL server binaries found"; exit 1; }

say "building isodb (release)..."
cargo build --release -q -p isodb-repl
ISODB=$PWD/target/release/isodb

WORK=$(mktemp -d "${TMPDIR:-/tmp}/isodb-pgbench.XXXXXX")
chmod 755 "$WORK"
ISODB_PID=""
PG_STARTED=""

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

cleanup() {
  if [ -n "$ISODB_PID" ]; then kill -TERM "$ISODB_PID" 2>/dev/null || true; wait "$ISODB_PID" 2>/dev/null || true; fi
  if [ -n "$PG_STARTED" ]; then as_pg "$PG_BIN/pg_ctl" -D "$WORK/pg" -m fast stop >/dev/null 2>&1 || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# --- isodb serve -------------------------------------------------------------
"$ISODB" serve "$WORK/isodb" --listen "127.0.0.1:$ISODB_PORT" --isolation "$LEVEL" \
  --max-connections 16 >"$WORK/isodb.log" 2>&1 &
ISODB_PID=$!

# --- PostgreSQL --------------------------------------------------------------
mkdir -p "$WORK/pg" "$WORK/pgsock"
[ "$(id -u)" = 0 ] && chown postgres "$WORK/pg" "$WORK/pgsock"
as_pg "$PG_BIN/initdb" -D "$WORK/pg" -A trust -U bench -E UTF8 >/dev/null
as_pg "$PG_BIN/pg_ctl" -D "$WORK/pg" -l "$WORK/pgsock/log" -w start -o \
  "-p $PG_PORT -k $WORK/pgsock -c listen_addresses=127.0.0.1 -c fsync=on -c synchronous_commit=on -c full_page_writes=on -c default_transaction_isolation='$LEVEL'" >/dev/null
PG_STARTED=1

for _ in $(seq 100); do
  psql -X -q -h 127.0.0.1 -p "$ISODB_PORT" -U bench -d bench -c "SELECT 1" >/dev/null 2>&1 && break
  sleep 0.1
done
psql -X -q -h 127.0.0.1 -p "$PG_PORT" -U bench -d postgres -c "CREATE DATABASE bench" >/dev/null

PGB=(pgbench -h 127.0.0.1 -U bench)

# --- tables ------------------------------------------------------------------
own_init_sql() {
  local accounts=$((100000 * SCALE)) tellers=$((10 * SCALE)) branches=$SCALE
  cat <<EOF
DROP TABLE IF EXISTS pgbench_branches;
DROP TABLE IF EXISTS pgbench_tellers;
DROP TABLE IF EXISTS pgbench_accounts;
DROP TABLE IF EXISTS pgbench_history;
CREATE TABLE pgbench_branches (bid INT PRIMARY KEY, bbalance INT, filler TEXT);
CREATE TABLE pgbench_tellers (tid INT PRIMARY KEY, bid INT, tbalance INT, filler TEXT);
CREATE TABLE pgbench_accounts (aid INT PRIMARY KEY, bid INT, abalance INT, filler TEXT);
CREATE TABLE pgbench_history (tid INT, bid INT, aid INT, delta INT, mtime TEXT, filler TEXT);
EOF
  seq 1 "$branches" | awk '{ printf "INSERT INTO pgbench_branches VALUES (%d, 0, NULL);\n", $1 }'
  seq 1 "$tellers" | awk '{ printf "INSERT INTO pgbench_tellers VALUES (%d, %d, 0, NULL);\n", $1, int(($1 - 1) / 10) + 1 }'
  seq 1 "$accounts" | awk -v pad="$(printf '%84s' '')" '{
    if ((NR - 1) % 1000 == 0) printf "INSERT INTO pgbench_accounts VALUES ";
    printf "(%d, %d, 0, '\''%s'\'')", $1, int(($1 - 1) / 100000) + 1, pad;
    if (NR % 1000 == 0) print ";"; else printf ", ";
  }'
}

# Prints how the tables of the server on port $1 were made.
init_tables() {
  local port=$1
  if "${PGB[@]}" -p "$port" -i -q -s "$SCALE" bench >"$WORK/init-$port.log" 2>&1; then
    echo "pgbench -i"
  else
    own_init_sql >"$WORK/init.sql"
    psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U bench -d bench -f "$WORK/init.sql" >/dev/null
    echo "own SQL (pgbench -i: $(grep -m1 -o 'ERROR: .*' "$WORK/init-$port.log" || echo failed))"
  fi
}

ISODB_INIT=$(init_tables "$ISODB_PORT")
PG_INIT=$(init_tables "$PG_PORT")

# --- the TPC-B-like script ----------------------------------------------------
cat >"$WORK/tpcb-like.sql" <<'EOF'
\set aid random(1, 100000 * :scale)
\set bid random(1, 1 * :scale)
\set tid random(1, 10 * :scale)
\set delta random(-5000, 5000)
BEGIN;
UPDATE pgbench_accounts SET abalance = abalance + :delta WHERE aid = :aid;
SELECT abalance FROM pgbench_accounts WHERE aid = :aid;
UPDATE pgbench_tellers SET tbalance = tbalance + :delta WHERE tid = :tid;
UPDATE pgbench_branches SET bbalance = bbalance + :delta WHERE bid = :bid;
INSERT INTO pgbench_history (tid, bid, aid, delta) VALUES (:tid, :bid, :aid, :delta);
END;
EOF
if "${PGB[@]}" -p "$ISODB_PORT" -n -M "$MODE" -t 1 -b tpcb-like bench >"$WORK/probe.log" 2>&1 \
   && ! grep -q "aborted" "$WORK/probe.log"; then
  TPCB=(-b tpcb-like)
  TPCB_NOTE="pgbench's built-in tpcb-like script"
else
  TPCB=(-f "$WORK/tpcb-like.sql")
  TPCB_NOTE="pgbench's tpcb-like statements with the history mtime left out ($(grep -m1 -o 'ERROR: .*' "$WORK/probe.log" || echo 'the built-in script failed') on isodb), on both servers"
fi

# --- runs ----------------------------------------------------------------------
# Prints "tps latency_ms" of one run.
run() {
  local port=$1 clients=$2; shift 2
  local out="$WORK/run.log"
  "${PGB[@]}" -p "$port" -n -M "$MODE" -T "$DURATION" -c "$clients" -j "$clients" "$@" bench >"$out" 2>&1 || true
  local tps latency failed
  tps=$(awk '/^tps = / { print $3 }' "$out")
  latency=$(awk '/^latency average = / { print $4 }' "$out")
  if [ -z "$tps" ] || grep -q "aborted" "$out"; then
    say "a run failed:"; cat "$out" >&2
    echo "- -"; return
  fi
  failed=$(awk '/^number of failed transactions/ { print $5 }' "$out")
  [ "${failed:-0}" = 0 ] || say "note: $failed failed transactions on port $port"
  printf '%.0f %.3f\n' "$tps" "$latency"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2fx", a / b }'; }

say "tables: isodb: $ISODB_INIT; PostgreSQL: $PG_INIT"
say "tpcb-like: $TPCB_NOTE"
say "each run: pgbench -n -M $MODE -T $DURATION, scale $SCALE, $LEVEL, fsync on both"

PG_VERSION=$(psql -X -A -t -h 127.0.0.1 -p "$PG_PORT" -U bench -d bench -c "SHOW server_version" | awk '{ print $1 }')
TABLE="| workload | clients | isodb tps | isodb latency | PostgreSQL $PG_VERSION tps | PostgreSQL latency | isodb / PostgreSQL |
| --- | --: | --: | --: | --: | --: | --: |"
for workload in select-only tpcb-like; do
  for clients in $CLIENTS; do
    if [ "$workload" = select-only ]; then args=(-S); else args=("${TPCB[@]}"); fi
    say "running $workload with $clients client(s) on isodb, then PostgreSQL..."
    read -r itps ilat < <(run "$ISODB_PORT" "$clients" "${args[@]}")
    read -r ptps plat < <(run "$PG_PORT" "$clients" "${args[@]}")
    TABLE+="
| $workload | $clients | $itps | $ilat ms | $ptps | $plat ms | $(ratio "$itps" "$ptps") |"
  done
done

mkdir -p target/isodb-bench
{
  echo "$TABLE"
  echo
  echo "tables: isodb: $ISODB_INIT; PostgreSQL: $PG_INIT."
  echo "tpcb-like: $TPCB_NOTE."
  echo "pgbench -n -M $MODE -T $DURATION -c N -j N, scale $SCALE, default isolation $LEVEL, every commit fsynced on both."
  echo "targets: select-only >= 1.0x PostgreSQL, tpcb-like >= 0.7x PostgreSQL."
} | tee target/isodb-bench/pgbench.md
