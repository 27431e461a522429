#!/usr/bin/env bash
# A throwaway PostgreSQL server for the campaign tests (Debian's `postgresql` package).
#   bash .ci/postgres.sh start [PORT] [DIR]   -> prints the SQLAlchemy URL on stdout
#   bash .ci/postgres.sh stop DIR
# PORT defaults to 55432, DIR to a new temporary folder (printed on stderr). As root the
# server runs as the `postgres` user. fsync is off: this server holds test data only.
set -euo pipefail
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
if [ -z "$PGBIN" ]; then echo "no PostgreSQL server binaries: apt-get install postgresql" >&2; exit 1; fi
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
case "${1:-start}" in
  start)
    PORT=${2:-55432}
    DIR=${3:-$(mktemp -d /tmp/knowable-pg.XXXXXX)}
    mkdir -p "$DIR"
    if [ "$(id -u)" = 0 ]; then chown postgres "$DIR"; fi
    as_pg "$PGBIN/initdb" -D "$DIR/data" -A trust -U postgres >"$DIR/initdb.log"
    as_pg "$PGBIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w \
      -o "-p $PORT -k $DIR -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
    echo "postgres data in $DIR" >&2
    echo "postgresql+psycopg://postgres@127.0.0.1:$PORT/postgres"
    ;;
  stop)
    as_pg "$PGBIN/pg_ctl" -D "$2/data" -m fast -w stop >/dev/null
    ;;
  *) echo "usage: $0 start [PORT] [DIR] | stop DIR" >&2; exit 2 ;;
esac
