// libFuzzer target: the whole request path. One livefeed server (memory store, the repo's
// web/ as static files) runs in this process on a loopback port, its event loop on a thread
// with a small stack; each input is sent as raw bytes on a fresh connection, which is then
// half-closed, and the answer read until the server closes. The server's own code, the
// request parser, the routes, the transports, the delivery and cpp-httplib's static file
// path all run on fuzzer-chosen bytes under ASan and UBSan.
// Fails (traps) when: the server crashes (the process dies), it does not close the
// connection within the deadline (30 s: a hang, not a slow machine), or its output does not start
// with a status line.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "core/feed.h"
#include "http/http_server.h"
#include "log.h"
#include "store/memory_store.h"

namespace {

// The event loop's stack: small, so that anything recursive on client input overflows here
// (ASan reports it) rather than passing on a large default stack.
constexpr std::size_t kLoopStack = 256 * 1024;

struct Server {
  livefeed::MemoryStore store{{.max_items = 100}, livefeed::SystemWallClock()};
  livefeed::Feed feed{store};
  livefeed::metrics::Registry metrics;
  std::unique_ptr<livefeed::HttpServer> http;
  int port = 0;
};

Server* StartServer() {
  auto* server = new Server;
  livefeed::HttpOptions options;
  options.port = 0;
  options.web_root = LIVEFEED_SOURCE_DIR "/web";
  options.live.header_timeout = std::chrono::seconds(2);
  options.live.body_timeout = std::chrono::seconds(2);
  options.live.max_connections = 64;
  options.live.long_poll.default_timeout = std::chrono::seconds(1);
  options.live.long_poll.max_timeout_seconds = 1;
  options.live.cors = {.origins = {"https://app.example", "*"}};
  options.live.publish_token = "";
  server->http = std::make_unique<livefeed::HttpServer>(server->feed, options, server->metrics);
  if (std::string error = server->http->Bind(); !error.empty()) {
    std::fprintf(stderr, "request_fuzzer: %s\n", error.c_str());
    std::abort();
  }
  server->port = server->http->port();
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, kLoopStack);
  pthread_t thread;
  pthread_create(
      &thread, &attr,
      [](void* http) -> void* {
        static_cast<livefeed::HttpServer*>(http)->Run();
        return nullptr;
      },
      server->http.get());
  pthread_detach(thread);
  return server;
}

int Connect(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) return fd;
  // libFuzzer's timer signal may interrupt connect; the connection goes on regardless.
  int error = errno;
  if (error == EINTR) {
    pollfd p{fd, POLLOUT, 0};
    while (::poll(&p, 1, -1) < 0 && errno == EINTR) {
    }
    socklen_t length = sizeof error;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length);
    if (error == 0) return fd;
  }
  std::fprintf(stderr, "request_fuzzer: connect: %s\n", std::strerror(error));
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  std::signal(SIGPIPE, SIG_IGN);
  // An access line per input would only slow the search down.
  livefeed::SetLogLevel(livefeed::LogLevel::kWarn);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Server* server = StartServer();
  const int fd = Connect(server->port);
  std::size_t sent = 0;
  std::string answer;
  char buffer[16 * 1024];
  // Send while reading, so that a server answering and closing early is no deadlock.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  bool half_closed = false;
  for (;;) {
    if (!half_closed && sent == size) {
      ::shutdown(fd, SHUT_WR);
      half_closed = true;
    }
    pollfd p{fd, static_cast<short>(POLLIN | (half_closed ? 0 : POLLOUT)), 0};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      std::fprintf(stderr, "request_fuzzer: the server did not close the connection in time\n");
      __builtin_trap();
    }
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    if (p.revents & POLLOUT) {
      const ssize_t n = ::send(fd, data + sent, size - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) sent += static_cast<std::size_t>(n);
      if (n < 0 && errno != EAGAIN) half_closed = true;  // The server closed: fine.
    }
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
      const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      if (answer.size() < 64) answer.append(buffer, static_cast<std::size_t>(n));
    }
  }
  ::close(fd);
  // Whatever came back is HTTP: a status line first (or nothing, for a silent close).
  if (!answer.empty() && (answer.size() < 13 || answer.compare(0, 9, "HTTP/1.1 ") != 0 ||
                          answer[9] < '1' || answer[9] > '5')) {
    std::fprintf(stderr, "request_fuzzer: not a status line: %.40s\n", answer.c_str());
    __builtin_trap();
  }
  return 0;
}
