# shellcheck shell=bash
# Sourced by the benchmark scripts. write_nchan_conf DIR PORT [DIRECTIVE...]: writes
# DIR/nginx.conf for Debian's nginx with libnginx-mod-nchan as Nchan's documentation sets up a
# publisher (/pub?id=CHANNEL), one worker, no access log, on 127.0.0.1:PORT, with a /healthz
# for the load generator's check. The DIRECTIVEs go at the top (e.g. "master_process off;").
# With nchan_redis set to a redis:// URL, Nchan keeps its messages in that Redis
# (nchan_redis_pass), as livefeed's --store redis does. start_nchan (below) runs it.
write_nchan_conf() {
  local dir=$1 port=$2 upstream="" pass=""
  shift 2
  if [ -n "${nchan_redis:-}" ]; then
    upstream="upstream redis_store { nchan_redis_server $nchan_redis; }"
    pass="nchan_redis_pass redis_store;"
  fi
  mkdir -p "$dir/logs"
  {
    echo "load_module /usr/lib/nginx/modules/ngx_nchan_module.so;"
    for directive in "$@"; do echo "$directive"; done
    cat <<CONF
worker_processes 1;
daemon off;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
events { worker_connections 20000; }
http {
  access_log off;
  # nginx closes a keep-alive connection after 1000 requests by default; livefeed does not.
  keepalive_requests 100000000;
  client_body_temp_path $dir/body;
  $upstream
  server {
    listen 127.0.0.1:$port;
    location = /healthz { default_type application/json; return 200 '{"status":"ok","waiting":0}'; }
    location = /pub { nchan_publisher; nchan_channel_id \$arg_id; nchan_message_buffer_length 1000; $pass }
  }
}
CONF
  } >"$dir/nginx.conf"
}

# start_nchan DIR NAME DIRECTIVES [COMMAND...]: writes DIR/nginx.conf for a free loopback port
# (write_nchan_conf, with DIRECTIVES, which may be "") and starts nginx with it in the
# background, under COMMAND if given (e.g. valgrind), then waits up to 60 s for its /healthz.
# Sets nchan_pid and nchan_port; on failure says so as NAME and exits 2.
start_nchan() {
  local dir=$1 name=$2 directives=$3
  shift 3
  nchan_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  write_nchan_conf "$dir" "$nchan_port" "$directives"
  "$@" nginx -c "$dir/nginx.conf" -p "$dir" >"$dir/nginx.out" 2>&1 &
  # shellcheck disable=SC2034  # nchan_pid is the caller's, as the header says.
  nchan_pid=$!
  for _ in $(seq 600); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$nchan_port/healthz")" = 200 ] &&
      return 0
    kill -0 "$nchan_pid" 2>/dev/null || break  # nginx exited: its error is in nginx.out.
    sleep 0.1
  done
  echo "$name: Nchan did not start" >&2
  cat "$dir/nginx.out" "$dir/logs/error.log" >&2 2>/dev/null || true
  kill -TERM "$nchan_pid" 2>/dev/null || true
  exit 2
}
