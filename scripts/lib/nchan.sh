# shellcheck shell=bash
# Sourced by the benchmark scripts. write_nchan_conf DIR PORT [DIRECTIVE...]: writes
# DIR/nginx.conf for Debian's nginx with libnginx-mod-nchan as Nchan's documentation sets up a
# publisher (/pub?id=CHANNEL), one worker, no access log, on 127.0.0.1:PORT, with a /healthz
# for the load generator's check. The DIRECTIVEs go at the top (e.g. "master_process off;").
# Run it with: nginx -c DIR/nginx.conf -p DIR
write_nchan_conf() {
  local dir=$1 port=$2
  shift 2
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
  server {
    listen 127.0.0.1:$port;
    location = /healthz { default_type application/json; return 200 '{"status":"ok","waiting":0}'; }
    location = /pub { nchan_publisher; nchan_channel_id \$arg_id; nchan_message_buffer_length 1000; }
  }
}
CONF
  } >"$dir/nginx.conf"
}
