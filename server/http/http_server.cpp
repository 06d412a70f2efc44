#include "http/http_server.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "http/http_loop.h"
#include "http/server_context.h"

namespace livefeed {

class HttpServer::Impl {
 public:
  Impl(Feed& feed, HttpOptions options, metrics::Registry& metrics)
      : context_(feed, std::move(options), metrics) {
    // Values that live here are read when scraped, never mirrored.
    metrics.SetSources({
        .connections_open = [this] { return std::uint64_t{context_.open.load()}; },
        .subscribers_waiting =
            [this](metrics::Transport transport) {
              const std::uint64_t streams = context_.streams.load();
              const std::uint64_t all = context_.waiting.load();
              if (transport == metrics::Transport::kSse) return streams;
              return all > streams ? all - streams : 0;  // Read apart: never below 0.
            },
        .store =
            [this] {
              const StoreHealth health = context_.feed.store().Health();
              return metrics::StoreSample{.up = health.up,
                                          .errors = health.errors,
                                          .reconnects = health.reconnects,
                                          .evictions = health.evictions};
            },
    });
  }

  ~Impl() {
    // The sources read this server: none may run once it is gone.
    context_.metrics.SetSources({});
    // A worker still asking the application posts its answer to a loop: it finishes
    // while the loops are there to take it.
    context_.pool.Stop();
    loops_.clear();
    if (listen_fd_ >= 0) ::close(listen_fd_);
  }

  std::string Bind() {
    const HttpOptions& o = context_.options;
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    addrinfo* found = nullptr;
    const std::string where = o.bind + ":" + std::to_string(o.port);
    if (int rc = ::getaddrinfo(o.bind.c_str(), std::to_string(o.port).c_str(), &hints, &found);
        rc != 0) {
      return "cannot listen on " + where + ": " + ::gai_strerror(rc);
    }
    std::string error = Listen(*found);
    ::freeaddrinfo(found);
    if (!error.empty()) return "cannot listen on " + where + ": " + error;

    sockaddr_storage bound{};
    socklen_t length = sizeof bound;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&bound), &length);
    port_ = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6&>(bound).sin6_port
                                              : reinterpret_cast<sockaddr_in&>(bound).sin_port);

    for (std::size_t i = 0; i < std::max<std::size_t>(o.event_loops, 1); ++i) {
      auto loop = std::make_unique<HttpLoop>(context_, listen_fd_);
      if (!loop->error().empty()) return loop->error();
      HttpLoop* raw = loop.get();
      // Every loop hears of every channel's news and wakes its own subscribers.
      context_.feed.AddListener([raw](const std::string& channel, std::uint64_t newest) {
        raw->Notify(channel, newest);
      });
      context_.census.Add(
          {.post = [raw](std::function<void()> work) { raw->RunOnLoop(std::move(work)); },
           .count = [raw](const std::string& channel,
                          std::uint64_t id) { return raw->Subscribers(channel, id); }});
      loops_.push_back(std::move(loop));
    }
    return {};
  }

  int port() const { return port_; }

  void Run() {
    std::vector<std::thread> others;
    for (std::size_t i = 1; i < loops_.size(); ++i) {
      others.emplace_back([loop = loops_[i].get()] { loop->Run(); });
    }
    loops_[0]->Run();
    for (auto& thread : others) thread.join();
  }

  void Stop() {
    context_.stopping = true;
    for (auto& loop : loops_) loop->Stop();
  }

  void Reload(LiveSettings settings) { context_.live.Publish(std::move(settings)); }

 private:
  // Creates, configures, binds and listens; returns what failed, or empty.
  std::string Listen(const addrinfo& address) {
    listen_fd_ = ::socket(address.ai_family, address.ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                          address.ai_protocol);
    if (listen_fd_ < 0) return std::strerror(errno);
    const int yes = 1;
    // Deliberately not SO_REUSEPORT: a second server on the same port must fail to start
    // rather than silently share the traffic.
    const int idle = 60, interval = 10, count = 3;
    if (::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes) != 0 ||
        // Accepted sockets inherit keepalive: it finds peers that vanished without a FIN.
        ::setsockopt(listen_fd_, SOL_SOCKET, SO_KEEPALIVE, &yes, sizeof yes) != 0 ||
        ::setsockopt(listen_fd_, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle) != 0 ||
        ::setsockopt(listen_fd_, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval) != 0 ||
        ::setsockopt(listen_fd_, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count) != 0) {
      return std::string("setsockopt: ") + std::strerror(errno);
    }
    if (::bind(listen_fd_, address.ai_addr, address.ai_addrlen) != 0) return std::strerror(errno);
    // A burst of reconnecting clients must not see dropped SYNs and retransmit backoff.
    if (::listen(listen_fd_, static_cast<int>(context_.options.listen_backlog)) != 0) {
      return std::string("listen: ") + std::strerror(errno);
    }
    return {};
  }

  ServerContext context_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::vector<std::unique_ptr<HttpLoop>> loops_;
};

HttpServer::HttpServer(Feed& feed, HttpOptions options, metrics::Registry& metrics)
    : impl_(std::make_unique<Impl>(feed, std::move(options), metrics)) {}
HttpServer::~HttpServer() = default;
std::string HttpServer::Bind() { return impl_->Bind(); }
int HttpServer::port() const { return impl_->port(); }
void HttpServer::Run() { impl_->Run(); }
void HttpServer::Stop() { impl_->Stop(); }
void HttpServer::Reload(LiveSettings settings) { impl_->Reload(std::move(settings)); }

}  // namespace livefeed
