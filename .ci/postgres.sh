#!/usr/bin/env bash
# Start a throwaway PostgreSQL server on 127.0.0.1:PORT (default 55432) and print its
# SQLAlchemy URL. Needs Debian's `postgresql` package (apt-get install postgresql).
# Stop it with: pg_ctl -D "$DIR/data" stop  (DIR is printed on stderr).
set -euo pipefail
PORT=${1:-55432}
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
DIR=$(mktemp -d /tmp/knowable-pg.XXXXXX)
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
if [ "$(id -u)" = 0 ]; then chown postgres "$DIR"; fi
as_pg "$PGBIN/initdb" -D "$DIR/data" -A trust -U postgres >"$DIR/initdb.log"
as_pg "$PGBIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w \
  -o "-p $PORT -k $DIR -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
echo "postgres data in $DIR" >&2
echo "postgresql+psycopg://postgres@127.0.0.1:$PORT/postgres"
