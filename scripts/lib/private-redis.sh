# shellcheck shell=bash
# Sourced by the benchmark scripts. start_private_redis DIR NAME: starts a redis-server on a
# free loopback port (the first port from a random start that it manages to bind: it exits
# at once when the port is taken), with DIR as its directory and no persistence. Sets
# redis_pid and redis_port; on failure says so as NAME and exits 2.
start_private_redis() {
  local dir=$1 name=$2
  mkdir -p "$dir"
  for _ in $(seq 20); do
    redis_port=$((20000 + RANDOM % 20000))
    redis-server --bind 127.0.0.1 --port "$redis_port" --dir "$dir" --save "" \
      --appendonly no --daemonize no --logfile "$dir/redis.log" &
    redis_pid=$!
    for _ in $(seq 50); do
      redis-cli -p "$redis_port" ping 2>/dev/null | grep -q PONG && return 0
      kill -0 "$redis_pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$redis_pid" 2>/dev/null || true
    wait "$redis_pid" 2>/dev/null || true
    redis_pid=""
  done
  echo "$name: redis-server did not start" >&2
  exit 2
}
