#include "http/http_server.h"

#include <httplib.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>

#include "http/connection.h"
#include "http/parking_lot.h"
#include "http/socket_stream.h"
#include "http/thread_per_connection.h"
#include "log.h"
#include "transport/access.h"
#include "transport/publish.h"
#include "transport/sse_stream.h"

namespace livefeed {
namespace {

// The connection a request handler runs on. Each connection is served by one thread at a
// time, so the handler finds it in a thread_local.
thread_local Connection* t_connection = nullptr;

void CloseAfterResponse() {
  if (t_connection) t_connection->close_after_response = true;
}

void SendReply(const Reply& reply, httplib::Response& res) {
  res.status = reply.status;
  for (const auto& [name, value] : reply.headers) res.set_header(name, value);
  res.set_content(reply.body, reply.content_type);
}

void SendError(httplib::Response& res, int status, std::string_view message) {
  SendReply(JsonError(status, message), res);
}

constexpr std::size_t kStreamSendBuffer = 256 * 1024;

bool IsSubscribePath(const std::string& path) {
  return path == "/real_time_feed" || path == "/real_time_feed/stream";
}

}  // namespace

class HttpServer::Impl final : public httplib::Server {
 public:
  Impl(Feed& feed, HttpOptions options)
      : feed_(feed),
        options_(std::move(options)),
        current_(Keep(options_.reloadable)),
        idempotency_(options_.idempotency_window, 100000),
        stop_fd_(::eventfd(0, EFD_CLOEXEC)),
        threads_(options_.thread_stack_bytes),
        lot_(feed,
             {.keep_alive = options_.keep_alive_timeout,
              .write_timeout = options_.write_timeout,
              .sse = options_.reloadable.sse},
             {.serve_inline = [this](Connection& c,
                                     std::string& output) { return ServeInline(c, output); },
              .resume = [this](std::unique_ptr<Connection> c) { Resume(std::move(c)); },
              .close = [this](std::unique_ptr<Connection> c) { CloseConnection(std::move(c)); }}) {
    new_task_queue = [this] { return new ThreadPerConnection(threads_); };
    set_socket_options([this](socket_t fd) { ConfigureListeningSocket(fd); });
    set_keep_alive_max_count(100000);
    set_keep_alive_timeout(options_.keep_alive_timeout.count());
    set_read_timeout(options_.read_timeout.count());
    set_write_timeout(options_.write_timeout.count());
    set_payload_max_length(options_.max_body);
    set_tcp_nodelay(true);
    InstallRoutes();
  }

  ~Impl() override { ::close(stop_fd_); }

  std::string Bind() {
    bool ok;
    if (options_.port == 0) {
      port_ = bind_to_any_port(options_.bind);
      ok = port_ > 0;
    } else {
      port_ = options_.port;
      ok = bind_to_port(options_.bind, options_.port);
    }
    if (!ok) {
      return "cannot listen on " + options_.bind + ":" + std::to_string(options_.port) + ": " +
             std::strerror(errno);
    }
    // The library listens with a backlog of 5: a burst of reconnecting clients would see
    // dropped SYNs and seconds of retransmit backoff. Listening again only raises it.
    ::listen(listen_fd_, static_cast<int>(options_.listen_backlog));
    return {};
  }

  int port() const { return port_; }

  void Reload(ReloadableSettings settings) {
    // The lot's stream timers keep what they were built with.
    settings.sse.ping_interval = options_.reloadable.sse.ping_interval;
    settings.sse.retry_ms = options_.reloadable.sse.retry_ms;
    current_.store(Keep(std::move(settings)), std::memory_order_release);
  }

  void Run() { listen_after_bind(); }

  void Stop() {
    if (stopping_.exchange(true)) return;
    // Idle keep-alive connections and request reads wait on this fd as well as their own.
    const std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(stop_fd_, &one, sizeof one);
    // Parked long-polls are answered (and idle parked connections closed) by the lot.
    lot_.Stop();
    // The library's stop() does nothing until Run has begun listening (a SIGTERM right
    // after startup left Run blocked in accept for good). Then shut the listening socket
    // down instead: accept fails at once, whenever Run gets there, and the library closes
    // the socket as it returns. Never both, or the socket would be closed twice.
    if (is_running()) {
      stop();
    } else {
      ::shutdown(listen_fd_, SHUT_RDWR);
    }
  }

 private:
  // The reloadable settings with what is derived from them, immutable once made. Reload
  // installs a new one; a request reads the current one once and keeps using what it got.
  // Every snapshot stays until the server goes (a reload is rare and costs about a
  // kilobyte), so reading needs neither a lock nor a reference count.
  struct Snapshot {
    ReloadableSettings settings;
    CorsPolicy cors;
  };
  const Snapshot& Current() const { return *current_.load(std::memory_order_acquire); }
  const Snapshot* Keep(ReloadableSettings settings) {
    CorsPolicy cors{settings.cors_origins};
    std::lock_guard lock(snapshots_mu_);
    snapshots_.push_back(
        std::make_unique<const Snapshot>(Snapshot{std::move(settings), std::move(cors)}));
    return snapshots_.back().get();
  }

  void ConfigureListeningSocket(int fd) {
    listen_fd_ = fd;
    int yes = 1;
    // Deliberately not SO_REUSEPORT (the library's default): a second server on the same
    // port must fail to start rather than silently share the traffic.
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    // Accepted sockets inherit keepalive: it finds peers that vanished without a FIN.
    ::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &yes, sizeof yes);
    int idle = 60, interval = 10, count = 3;
    ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
    ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
    ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count);
  }

  // Replaces the library's keep-alive loop, which polls every 10 ms per idle connection:
  // here an idle connection blocks in poll() on its socket and the stop eventfd.
  bool process_and_close_socket(socket_t fd) override {
    const std::size_t open = ++open_;
    if (open > Current().settings.max_connections || ThreadPerConnection::RunningInline()) {
      RefuseBusy(fd, !ThreadPerConnection::RunningInline());
      ::close(fd);
      --open_;
      return false;
    }
    Serve(std::make_unique<Connection>(fd, stop_fd_, options_.read_timeout, options_.write_timeout),
          true);
    return true;
  }

  void CloseConnection(std::unique_ptr<Connection> connection) {
    ::shutdown(connection->fd, SHUT_RDWR);
    ::close(connection->fd);
    --open_;
  }

  // A parked connection's next request arrived: serve it on a thread again.
  void Resume(std::unique_ptr<Connection> connection) {
    if (stopping_) return CloseConnection(std::move(connection));
    Connection* raw = connection.release();
    threads_.enqueue([this, raw] {
      std::unique_ptr<Connection> resumed(raw);
      // Without a thread of its own it must not block the lot's thread: drop it.
      if (ThreadPerConnection::RunningInline()) return CloseConnection(std::move(resumed));
      Serve(std::move(resumed), false);
    });
  }

  enum class Next { kKeepAlive, kClose, kPark };

  // Runs one request of `connection` through the library; says what comes next.
  // REQUIRES: t_connection == &connection.
  Next ProcessOne(Connection& connection, bool last) {
    SocketStream& stream = connection.stream;
    stream.BeginHead(std::chrono::steady_clock::now() + Current().settings.header_timeout,
                     options_.max_header_bytes);
    bool closed_by_client = false;
    // The library calls this once the request line and headers are in.
    const bool ok = process_request(stream, last, closed_by_client,
                                    [&stream](httplib::Request&) { stream.EndHead(); });
    if (connection.parked) {
      stream.DiscardWrites(false);
      connection.parked->close_after = closed_by_client;
      return Next::kPark;
    }
    const bool close =
        !ok || closed_by_client || connection.close_after_response || stream.head_failed();
    return close ? Next::kClose : Next::kKeepAlive;
  }

  // On the parking lot's thread, which must never block: a long-poll that has arrived
  // whole (the usual re-poll of an answered client) is served right there.
  ParkingLot::InlineOutcome ServeInline(Connection& connection, std::string& output) {
    using Outcome = ParkingLot::InlineOutcome;
    if (stopping_) return Outcome::kNotServed;
    const std::string_view head = connection.stream.CompleteBodilessHead();
    if (!head.starts_with("GET /real_time_feed?") && !head.starts_with("GET /real_time_feed ")) {
      return Outcome::kNotServed;
    }
    t_connection = &connection;
    connection.stream.SetNonBlocking(true);
    const Next next = ProcessOne(connection, false);
    connection.stream.SetNonBlocking(false);
    t_connection = nullptr;
    if (next == Next::kPark) return Outcome::kParked;
    output = connection.stream.TakeOutput();
    return next == Next::kClose ? Outcome::kClose : Outcome::kAnswered;
  }

  // Serves requests on this thread until the connection closes or parks.
  void Serve(std::unique_ptr<Connection> owned, bool fresh) {
    Connection& connection = *owned;
    SocketStream& stream = connection.stream;
    t_connection = &connection;
    const auto keep_alive =
        std::chrono::duration_cast<std::chrono::milliseconds>(options_.keep_alive_timeout);
    // A fresh connection gets only the header timeout to start its request: connections
    // opened and left silent (a flood) must not hold slots for the keep-alive time.
    auto idle_limit = fresh ? std::chrono::duration_cast<std::chrono::milliseconds>(
                                  Current().settings.header_timeout)
                            : keep_alive;
    while (!stopping_) {
      if (!stream.WaitReadable(idle_limit)) break;
      idle_limit = keep_alive;
      const Next next = ProcessOne(connection, stopping_.load());
      if (next == Next::kClose) break;
      if (next == Next::kPark) {
        t_connection = nullptr;
        // Earlier responses go before the lot writes to the socket itself.
        if (stream.Flush() && lot_.Park(owned)) return;  // This thread is done.
        AnswerUnparked(connection);
        break;
      }
    }
    stream.Flush();
    t_connection = nullptr;
    if (connection.close_after_response) DrainBeforeClose(connection.fd);
    CloseConnection(std::move(owned));
  }

  // The lot refused a parked poll (it is stopping): answer it here with what there is.
  // A stream gets nothing: its client reconnects to the restarted server.
  void AnswerUnparked(Connection& connection) {
    ParkedRequest& poll = *connection.parked;
    feed_.EndWait(poll.request.channels, poll.waiter);
    if (poll.kind == ParkedRequest::Kind::kStream) return;
    WaitResult result = feed_.CheckWait(poll.request);
    if (result.status == WaitStatus::kPending) result.status = WaitStatus::kShutdown;
    const Reply reply = LongPollReply(result);
    const std::string head = ParkingLot::FormatHead(reply, reply.body.size(), poll.extra_headers,
                                                    true, options_.keep_alive_timeout);
    connection.stream.write(head.data(), head.size());
    connection.stream.write(reply.body.data(), reply.body.size());
  }

  // Closing a socket with unread input sends a RST, which may destroy the response we
  // just wrote before the client reads it. Half-close, then read until the client closes.
  static void DrainBeforeClose(int fd) {
    ::shutdown(fd, SHUT_WR);
    char sink[4096];
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    std::size_t drained = 0;
    while (drained < (1u << 20) && std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 200) <= 0) break;
      const ssize_t n = ::recv(fd, sink, sizeof sink, MSG_DONTWAIT);
      if (n <= 0) break;
      drained += static_cast<std::size_t>(n);
    }
  }

  // Over the connection cap (or out of threads): answer 503 at once without reading the
  // request, so the client retries later instead of hanging in our queue.
  void RefuseBusy(int fd, bool wait_for_peer) {
    static constexpr char kResponse[] =
        "HTTP/1.1 503 Service Unavailable\r\n"
        "Content-Type: application/json\r\n"
        "Retry-After: 1\r\n"
        "Connection: close\r\n"
        "Content-Length: 62\r\n"
        "\r\n"
        "{\"error\":\"too many connections, retry in a second\",\"code\":503}";
    static_assert(
        sizeof("{\"error\":\"too many connections, retry in a second\",\"code\":503}") - 1 == 62);
    [[maybe_unused]] ssize_t n =
        ::send(fd, kResponse, sizeof kResponse - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (wait_for_peer) DrainBeforeClose(fd);
    refused_++;
    if (LogEnabled(LogLevel::kDebug))
      Log(LogLevel::kDebug, "refused a connection: at the connection cap");
  }

  void InstallRoutes() {
    set_pre_routing_handler(
        [this](const httplib::Request& req, httplib::Response& res) { return PreRoute(req, res); });

    // Also what operators (and tests) watch: how many requests are held and how many
    // connections are open.
    Get("/healthz", [this](const httplib::Request&, httplib::Response& res) {
      res.set_header("Cache-Control", "no-store");
      res.set_content("{\"status\":\"ok\",\"waiting\":" + std::to_string(feed_.WaiterCount()) +
                          ",\"connections\":" + std::to_string(open_.load()) +
                          ",\"refused\":" + std::to_string(refused_.load()) + "}",
                      "application/json");
    });

    // A poll answered at once is answered here; one that must wait is parked, so that a
    // waiting client holds no thread (see parking_lot.h).
    Get("/real_time_feed", [this](const httplib::Request& req, httplib::Response& res) {
      const Snapshot& current = Current();
      if (!Authorized(current.settings.subscribe_token, req, res)) return;
      auto waiter = std::make_shared<Waiter>();
      LongPollStart start = StartLongPoll(feed_, req.params, current.settings.long_poll, waiter);
      if (start.reply) return SendReply(*start.reply, res);
      ParkedRequest& parked = Park(req, ParkedRequest::Kind::kPoll, current);
      parked.request = std::move(start.request);
      parked.waiter = std::move(waiter);
      parked.deadline = start.deadline;
    });

    Get("/real_time_feed/stream",
        [this](const httplib::Request& req, httplib::Response& res) { ServeStream(req, res); });

    // A content reader so the body limit holds for chunked bodies too, and form bodies
    // are not cut at the library's compile-time 8 KiB.
    Post("/send_feed_item", [this](const httplib::Request& req, httplib::Response& res,
                                   const httplib::ContentReader& read_content) {
      PublishRequest publish;
      publish.content_type = req.get_header_value("Content-Type");
      publish.params = req.params;
      publish.idempotency_key = req.get_header_value("Idempotency-Key");
      bool too_large = false;
      const bool read_ok = read_content([&](const char* data, size_t length) {
        if (publish.body.size() + length > options_.max_body) {
          too_large = true;
          return false;
        }
        publish.body.append(data, length);
        return true;
      });
      if (too_large) {
        CloseAfterResponse();
        return SendError(res, 413,
                         "body larger than " + std::to_string(options_.max_body) + " bytes");
      }
      if (!read_ok) {
        CloseAfterResponse();
        return SendError(res, 400, "could not read the request body");
      }
      SendReply(HandlePublish(feed_, publish, &idempotency_), res);
    });

    if (!options_.web_root.empty()) {
      // Static pages may change with a deploy: browsers revalidate instead of guessing.
      set_mount_point("/", options_.web_root, {{"Cache-Control", "no-cache"}});
    }

    set_error_handler(httplib::Server::HandlerWithResponse(
        [](const httplib::Request& req, httplib::Response& res) {
          // Bodies our handlers set are already JSON errors; fill in only the library's own.
          if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
          std::string message;
          switch (res.status) {
            case 404:
              message = "not found: " + req.path;
              break;
            case 413:
              message = "body too large";
              break;
            case 414:
              message = "URI too long";
              break;
            case 400:
              message = "malformed HTTP request";
              break;
            default:
              message = "request failed with status " + std::to_string(res.status);
          }
          SendError(res, res.status, message);
          return httplib::Server::HandlerResponse::Handled;
        }));

    set_exception_handler(
        [](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
          std::string what = "unknown exception";
          try {
            std::rethrow_exception(ep);
          } catch (const std::exception& e) {
            what = e.what();
          } catch (...) {
          }
          Log(LogLevel::kError, "internal error on " + req.method + " " + req.path + ": " + what);
          SendError(res, 500, "internal server error");
        });

    set_post_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      const CorsPolicy& cors = Current().cors;
      if (!cors.enabled() || res.has_header("Access-Control-Allow-Origin")) return;
      const bool publishing = req.path == "/send_feed_item";
      if (!publishing && !IsSubscribePath(req.path)) return;
      for (const auto& [name, value] :
           cors.ResponseHeaders(req.get_header_value("Origin"), publishing)) {
        res.set_header(name, value);
      }
    });

    set_logger([this](const httplib::Request& req, const httplib::Response& res) {
      // A parked poll is logged when the lot answers it.
      if (!LogEnabled(LogLevel::kInfo) || (t_connection && t_connection->parked)) return;
      Log(LogLevel::kInfo, ClientAddress(req, Current().settings) + " \"" + req.method + " " +
                               RedactToken(req.target) + "\" " + std::to_string(res.status) + " " +
                               std::to_string(res.body.size()));
    });
  }

  // A stream is parked for its whole life: the lot writes its events (see parking_lot.h).
  void ServeStream(const httplib::Request& req, httplib::Response& res) {
    const Snapshot& current = Current();
    if (!Authorized(current.settings.subscribe_token, req, res)) return;
    OpenedSseStream opened =
        OpenSseStream(req.params, req.get_header_value("Last-Event-ID"), current.settings.sse);
    if (!opened.request) return SendReply(opened.error, res);
    if (req.method == "HEAD") {
      res.set_header("Cache-Control", "no-cache");
      res.set_header("Content-Type", "text/event-stream");
      return;
    }
    // What a stream may have in flight to a client that stopped reading: the socket's send
    // buffer, capped here (the kernel would let it grow to megabytes), plus the lot's own
    // queue of at most ParkingLot::kMaxStreamQueue. Past that the stream is dropped and the
    // browser resumes from Last-Event-ID; publishers and other streams never wait for it.
    const int send_buffer = static_cast<int>(kStreamSendBuffer);
    ::setsockopt(t_connection->fd, SOL_SOCKET, SO_SNDBUF, &send_buffer, sizeof send_buffer);
    ParkedRequest& parked = Park(req, ParkedRequest::Kind::kStream, current);
    parked.request = std::move(*opened.request);
    parked.waiter = std::make_shared<Waiter>();
    parked.typed = opened.typed;
    feed_.StartWatching(parked.request, parked.waiter);
  }

  // Marks this request to be parked once the library is done with it. Its response from
  // the library goes nowhere; the lot sends the real one.
  ParkedRequest& Park(const httplib::Request& req, ParkedRequest::Kind kind,
                      const Snapshot& current) {
    ParkedRequest& parked = t_connection->parked.emplace();
    parked.kind = kind;
    for (const auto& [name, value] :
         current.cors.ResponseHeaders(req.get_header_value("Origin"), /*publishing=*/false)) {
      parked.extra_headers += name + ": " + value + "\r\n";
    }
    // Built only when it will be used: this runs for every waiting request.
    if (LogEnabled(LogLevel::kInfo)) {
      parked.log_prefix = ClientAddress(req, current.settings) + " \"" + req.method + " " +
                          RedactToken(req.target) + "\"";
    }
    t_connection->stream.DiscardWrites(true);
    return parked;
  }

  // Behind a proxy the peer is the proxy; the client is what a trusted proxy says it is.
  static std::string ClientAddress(const httplib::Request& req,
                                   const ReloadableSettings& settings) {
    const auto& trusted = settings.trusted_proxies;
    if (std::find(trusted.begin(), trusted.end(), req.remote_addr) == trusted.end())
      return req.remote_addr;
    if (std::string real_ip = req.get_header_value("X-Real-IP"); !real_ip.empty()) return real_ip;
    // The last hop appended the address it saw; earlier entries are the client's own claims.
    std::string forwarded = req.get_header_value("X-Forwarded-For");
    if (forwarded.empty()) return req.remote_addr;
    forwarded = forwarded.substr(forwarded.rfind(',') + 1);
    forwarded.erase(0, forwarded.find_first_not_of(' '));
    return forwarded;
  }

  // Sends 401/403 and returns false unless the request carries `token` (when one is set).
  // Subscribers may put it in the query, as EventSource cannot set headers.
  bool Authorized(const std::string& token, const httplib::Request& req, httplib::Response& res,
                  bool query_allowed = true) {
    if (token.empty()) return true;
    const auto query_token = req.params.find("token");
    std::optional<Reply> refusal =
        CheckToken(token, req.get_header_value("Authorization"),
                   query_allowed && query_token != req.params.end() ? query_token->second : "");
    if (!refusal) return true;
    SendReply(*refusal, res);
    return false;
  }

  httplib::Server::HandlerResponse PreRoute(const httplib::Request& req, httplib::Response& res) {
    using Handled = httplib::Server::HandlerResponse;
    const bool has_body = req.has_header("Content-Length") || req.has_header("Transfer-Encoding");
    const bool publishing = req.path == "/send_feed_item";
    const bool feed_path = publishing || IsSubscribePath(req.path) || req.path == "/healthz";
    if (!feed_path) return Handled::Unhandled;
    const Snapshot& current = Current();
    const CorsPolicy& cors = current.cors;
    // A body we do not read must not be taken for the next request.
    if (has_body && !(publishing && req.method == "POST")) CloseAfterResponse();

    if (req.method == "OPTIONS" && cors.enabled() && req.path != "/healthz") {
      SendReply(AnswerPreflight(cors, req.get_header_value("Origin"), publishing), res);
      return Handled::Handled;
    }
    if (!publishing && req.method != "GET" && req.method != "HEAD") {
      res.set_header("Allow", cors.enabled() ? "GET, HEAD, OPTIONS" : "GET, HEAD");
      SendError(res, 405, req.method + " is not allowed on " + req.path + "; use GET");
      return Handled::Handled;
    }
    if (publishing) {
      if (req.method != "POST") {
        res.set_header("Allow", cors.enabled() ? "POST, OPTIONS" : "POST");
        SendError(res, 405, req.method + " is not allowed on /send_feed_item; use POST");
        return Handled::Handled;
      }
      // Checked before the body is read: an unauthorized client cannot make us read it.
      if (!Authorized(current.settings.publish_token, req, res, /*query_allowed=*/false)) {
        if (has_body) CloseAfterResponse();
        return Handled::Handled;
      }
      if (!has_body) {
        // Without a length the body would be read until the client closes.
        SendError(res, 411, "a publish needs a Content-Length (or chunked) body");
        return Handled::Handled;
      }
      if (req.has_header("Content-Length") &&
          req.get_header_value<std::uint64_t>("Content-Length") > options_.max_body) {
        CloseAfterResponse();
        SendError(res, 413, "body larger than " + std::to_string(options_.max_body) + " bytes");
        return Handled::Handled;
      }
    }
    return Handled::Unhandled;
  }

  Feed& feed_;
  const HttpOptions options_;  // Its `reloadable` holds the values at start only.
  std::mutex snapshots_mu_;
  std::vector<std::unique_ptr<const Snapshot>> snapshots_;  // Guarded by snapshots_mu_.
  std::atomic<const Snapshot*> current_;
  IdempotencyCache idempotency_;
  const int stop_fd_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::size_t> open_{0};
  std::atomic<std::size_t> refused_{0};
  std::atomic<int> listen_fd_{-1};
  int port_ = 0;
  ThreadPerConnection threads_;
  // Last: its thread calls back into the members above, so it is built after them and
  // stopped (destroyed) before them.
  ParkingLot lot_;
};

HttpServer::HttpServer(Feed& feed, HttpOptions options)
    : impl_(std::make_unique<Impl>(feed, std::move(options))) {}
HttpServer::~HttpServer() = default;
std::string HttpServer::Bind() { return impl_->Bind(); }
int HttpServer::port() const { return impl_->port(); }
void HttpServer::Run() { impl_->Run(); }
void HttpServer::Stop() { impl_->Stop(); }
void HttpServer::Reload(const ReloadableSettings& settings) { impl_->Reload(settings); }

}  // namespace livefeed
