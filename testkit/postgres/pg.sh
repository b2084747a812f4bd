#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests, from Debian's `postgresql` package: a fresh cluster (initdb) in a
# folder of its own, listening on 127.0.0.1 only, on a port of its own, with its socket in that folder (nothing
# under /var/run/postgresql is used or needed).
#
#   pg.sh start DIR PORT PASSWORD   initdb DIR/data (superuser 'sortie', scram-sha-256 on TCP) and start it; prints
#                                   "ready" once it accepts connections
#   pg.sh stop DIR                  stop it (fast shutdown) if it runs
#   pg.sh serve DIR PORT PASSWORD   start as above, print "ready", then stay until stdin closes; then stop the server
#                                   and delete DIR. The test JVM holds the other end of stdin, so however it ends
#                                   (close, System.exit, SIGKILL) its server goes with it instead of outliving it.
#
# PostgreSQL refuses to run as root: when started as root the cluster belongs to a dedicated system user,
# 'sortie-pg' (created here once), and every command runs as that user with runuser.
set -euo pipefail

bindir() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -n "$d" ] && [ -x "$d/initdb" ]; then echo "$d"; return; fi
  if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then pg_config --bindir; return; fi
  if command -v initdb >/dev/null 2>&1; then dirname "$(command -v initdb)"; return; fi
  echo "pg.sh: no PostgreSQL server found (install Debian's 'postgresql' package)" >&2
  exit 3
}

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u sortie-pg -- "$@"
  else
    "$@"
  fi
}

usage='usage: pg.sh start DIR PORT PASSWORD | stop DIR | serve DIR PORT PASSWORD'
cmd=${1:?$usage}
dir=${2:?$usage}
bin=$(bindir)

case "$cmd" in
  start)
    port=${3:?usage: pg.sh start DIR PORT PASSWORD}
    password=${4:?usage: pg.sh start DIR PORT PASSWORD}
    mkdir -p "$dir"
    if [ "$(id -u)" -eq 0 ]; then
      id -u sortie-pg >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin sortie-pg
      chown sortie-pg "$dir"
      # the owner must be able to reach the folder (a temp folder under a 0700 home would not do)
      chmod 0755 "$dir"
      if ! runuser -u sortie-pg -- test -x "$dir"; then
        echo "pg.sh: the user sortie-pg cannot reach $dir (a folder above it is closed to others: 0700?); use a folder it can reach" >&2
        exit 3
      fi
    fi
    pwfile="$dir/pwfile"
    printf '%s\n' "$password" > "$pwfile"
    [ "$(id -u)" -eq 0 ] && chown sortie-pg "$pwfile"
    chmod 0600 "$pwfile"
    as_owner "$bin/initdb" -D "$dir/data" -U sortie --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 \
      -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 3; }
    rm -f "$pwfile"
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
      start >/dev/null || { cat "$dir/server.log" >&2; exit 3; }
    echo ready
    ;;
  stop)
    if [ -f "$dir/data/postmaster.pid" ]; then
      as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null
    fi
    ;;
  serve)
    port=${3:?usage: pg.sh serve DIR PORT PASSWORD}
    password=${4:?usage: pg.sh serve DIR PORT PASSWORD}
    # Whoever holds stdin may be gone by the time anything is written (SIGKILLed mid-start): a write must fail, not
    # kill this script before it stops the server. Every way out of here stops it.
    trap '' PIPE
    trap '"$0" stop "$dir" >&2 || true; rm -rf "$dir"' EXIT
    trap 'exit 1' INT TERM HUP
    if ! out=$("$0" start "$dir" "$port" "$password" 2>&1); then
      printf '%s\n' "$out" >&2 || true
      exit 3
    fi
    echo ready || true
    cat >/dev/null 2>&1 || true
    ;;
  *)
    echo "pg.sh: unknown command '$cmd' (start, stop or serve)" >&2
    exit 2
    ;;
esac
