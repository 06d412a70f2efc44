// loadgen: livefeed's own load generator. One process, one epoll thread, non-blocking
// HTTP/1.1 keep-alive connections to a livefeed on 127.0.0.1 (loopback only).
//
// Phases (--phases, in this order):
//   longpoll  N clients hold a long-poll; one publish; time until each has its answer.
//             Repeated --rounds times (clients re-poll with the returned cursor, the next
//             publish waits until /healthz says N are waiting again). Also samples the
//             server's RSS, threads and CPU with N held (--pid).
//   sse       the same with N event streams, each waiting for the event with that id.
//   slow      S streams, a tenth of them reading at --slow-rate bytes/s, through a burst of
//             --burst-items items: the fast ones' fan-out, the slow ones complete and in
//             order, and what the server holds per slow stream beyond the backlog.
//   sustained S clients re-poll while publishers post as fast as they can; every client
//             must get every item once and in order.
//   publish   C connections post as fast as they can, no subscribers.
//   storm     M connections opened within about a second, one request each.
// With --publish-port Q (a second node sharing the first one's Redis store), the fan-out and
// sustained phases publish on Q while their clients wait on --port, and the publish phase
// spreads its connections over both.
// Prints a markdown table on stdout, progress on stderr. Exits 1 when a correctness check
// fails (loss, duplicates, reordering, wrong answers, unserved clients); timings are
// reported, never asserted.
#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "client_loop.h"
#include "server_probe.h"

namespace livefeed::bench {
namespace {

struct Options {
  std::uint16_t port = 0;
  std::uint16_t publish_port = 0;  // 0: publish on `port` too.
  pid_t pid = 0;
  std::size_t clients = 10000;
  int rounds = 5;
  std::size_t sustained_clients = 1000;
  double sustained_seconds = 10;
  std::size_t sustained_publishers = 1;
  std::size_t publish_connections = 4;
  double publish_seconds = 5;
  // Where the publish phase posts, and how many items each post carries (a JSON array when
  // more than one). Another server's publish endpoint (Nchan's) may be named for comparison.
  std::string publish_target = "/send_feed_item?channel=bench-publish";
  std::size_t publish_batch = 1;
  // Slow consumers: streams of which a tenth read at slow_rate bytes/s through a burst.
  std::size_t slow_clients = 1000;
  std::size_t slow_rate = 32 * 1024;
  std::size_t burst_items = 200;
  std::size_t burst_bytes = 2000;
  std::size_t storm = 10000;
  double storm_spread_seconds = 1;
  double cpu_seconds = 5;
  std::size_t open_batch = 500;
  std::string phases = "longpoll,sse,slow,sustained,publish,storm";
};

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// ---- Reading answers without a JSON parser: the bench publishes the data, so `{"id":`
// only ever starts an item.
std::vector<std::uint64_t> ItemIds(const std::string& body) {
  std::vector<std::uint64_t> ids;
  for (std::size_t pos = body.find("{\"id\":"); pos != std::string::npos;
       pos = body.find("{\"id\":", pos + 6)) {
    ids.push_back(std::strtoull(body.c_str() + pos + 6, nullptr, 10));
  }
  return ids;
}

std::uint64_t NumberAfter(const std::string& body, const char* key) {
  const std::size_t pos = body.find(key);
  if (pos == std::string::npos) return 0;
  return std::strtoull(body.c_str() + pos + std::strlen(key), nullptr, 10);
}

// Mixes an id so that a sum over a set of ids identifies the set (with its count).
std::uint64_t Mix(std::uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  return x ^ (x >> 33);
}

struct Latency {
  double p50 = 0, p99 = 0, max = 0;
  std::size_t count = 0;
  // CPU seconds spent during a fan-out round by the server and by the load generator.
  double server_cpu = 0, loadgen_cpu = 0;
};

double OwnCpuSeconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

Latency Summarize(std::vector<double> v) {
  Latency l;
  l.count = v.size();
  if (v.empty()) return l;
  std::sort(v.begin(), v.end());
  l.p50 = v[(v.size() - 1) / 2];
  l.p99 = v[static_cast<std::size_t>(std::ceil(0.99 * static_cast<double>(v.size()))) - 1];
  l.max = v.back();
  return l;
}

std::string PublishBody(std::uint64_t n) {
  return "{\"data\":{\"n\":" + std::to_string(n) + ",\"text\":\"bench item\"}}";
}

// `count` items: one object, or an array of them (a batch publish).
std::string PublishBodies(std::uint64_t first, std::size_t count) {
  if (count == 1) return PublishBody(first);
  std::string body = "[";
  for (std::size_t i = 0; i < count; ++i) {
    if (i) body += ',';
    body += PublishBody(first + i);
  }
  return body + "]";
}

// Everything the table needs; filled by the phases that ran.
struct Report {
  std::size_t n = 0;
  ProcessSample idle;
  std::optional<ProcessSample> held;
  double held_cpu_percent = -1;
  std::optional<ProcessSample> sse_held;
  std::vector<Latency> poll_rounds, sse_rounds;
  std::size_t poll_errors = 0, sse_errors = 0;
  // slow consumers
  bool slow_ran = false;
  std::size_t slow_fast = 0, slow_slow = 0, slow_complete = 0, fast_complete = 0;
  double slow_fast_all = 0, slow_all = 0, slow_kib_per_stream = 0;
  // sustained
  bool sustained_ran = false;
  std::size_t sustained_clients = 0;
  std::size_t published = 0, delivered = 0, loss = 0, duplicates = 0, reordered = 0, truncated = 0,
              sustained_errors = 0;
  double sustained_seconds = 0, publish_rate_sustained = 0;
  // Poll answers in the sustained phase: items per answer tells batching from per-item work.
  std::size_t sustained_answers = 0;
  // publish-only
  bool publish_ran = false;
  std::size_t publish_ok = 0, publish_errors = 0;  // Posts.
  double publish_seconds = 0;
  // storm
  bool storm_ran = false;
  std::size_t storm_total = 0, storm_served = 0, storm_over_1s = 0;
  double storm_max = 0, storm_p50 = 0, storm_open_seconds = 0;
  std::map<std::string, std::size_t> storm_failures;
  bool ok = true;
  std::vector<std::string> problems;
  void Problem(const std::string& what) {
    ok = false;
    problems.push_back(what);
    std::cerr << "loadgen: FAIL: " << what << "\n";
  }
};

class Bench {
 public:
  Bench(const Options& options) : o_(options), loop_(options.port) {}

  int Run() {
    control_ = std::make_unique<Conn>();
    if (!Healthz()) {
      std::cerr << "loadgen: no answer from /healthz on port " << o_.port << "\n";
      return 2;
    }
    report_.n = o_.clients;
    report_.idle = SampleProcess(o_.pid);
    auto has = [&](const std::string& phase) {
      return ("," + o_.phases + ",").find("," + phase + ",") != std::string::npos;
    };
    if (has("longpoll")) LongPollFanout();
    if (has("sse")) SseFanout();
    if (has("slow")) SlowConsumers();
    if (has("sustained")) Sustained();
    if (has("publish")) PublishOnly();
    if (has("storm")) Storm();
    PrintTable();
    return report_.ok ? 0 : 1;
  }

 private:
  // ---- Control requests, one at a time on a keep-alive connection of their own.
  std::optional<Response> Request(std::unique_ptr<Conn>& conn, const std::string& request,
                                  Clock::duration timeout = std::chrono::seconds(10)) {
    if (conn->fd < 0) {
      conn = std::make_unique<Conn>();
      loop_.Open(*conn);
    }
    std::optional<Response> got;
    conn->on_response = [&](Conn&, Response& r) { got = std::move(r); };
    loop_.Send(*conn, request);
    Conn* c = conn.get();
    loop_.RunUntil([&] { return got.has_value() || c->fd < 0; }, Clock::now() + timeout);
    conn->on_response = nullptr;
    return got;
  }

  std::optional<nlohmann::json> Healthz() {
    auto r = Request(control_, GetRequest("/healthz"));
    if (!r || r->status != 200) return std::nullopt;
    auto j = nlohmann::json::parse(r->body, nullptr, false);
    if (j.is_discarded()) return std::nullopt;
    return j;
  }

  std::uint64_t PublishNow(const std::string& channel) {
    auto r =
        Request(control_, PostJsonRequest("/send_feed_item?channel=" + channel, PublishBody(0)));
    if (!r || r->status != 200) return 0;
    return NumberAfter(r->body, "\"id\":");
  }

  // Polls /healthz until `check(health)` holds.
  bool WaitForHealth(const std::function<bool(const nlohmann::json&)>& check,
                     Clock::duration timeout) {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      if (auto h = Healthz(); h && check(*h)) return true;
      loop_.RunFor(std::chrono::milliseconds(10));
    }
    return false;
  }

  bool WaitForWaiting(std::size_t n, Clock::duration timeout = std::chrono::seconds(60)) {
    return WaitForHealth([n](const nlohmann::json& h) { return h.value("waiting", 0u) >= n; },
                         timeout);
  }

  // Between phases: the server has let go of the previous phase's connections.
  void WaitForQuiet() {
    WaitForHealth(
        [](const nlohmann::json& h) {
          return h.value("connections", 0u) <= 2 && h.value("waiting", 0u) == 0;
        },
        std::chrono::seconds(30));
  }

  // Opens conns in batches, each batch established before the next (the server creates a
  // thread per connection; a flood of SYNs beyond its backlog would only be retransmitted).
  void OpenAll(std::vector<std::unique_ptr<Conn>>& conns,
               const std::function<std::string(Conn&)>& request) {
    for (std::size_t start = 0; start < conns.size(); start += o_.open_batch) {
      const std::size_t end = std::min(conns.size(), start + o_.open_batch);
      for (std::size_t i = start; i < end; ++i) {
        loop_.Open(*conns[i]);
        loop_.Send(*conns[i], request(*conns[i]));
      }
      loop_.RunUntil(
          [&] {
            for (std::size_t i = start; i < end; ++i) {
              if (!conns[i]->connected && conns[i]->fd >= 0) return false;
            }
            return true;
          },
          Clock::now() + std::chrono::seconds(10));
    }
  }

  void CloseAll(std::vector<std::unique_ptr<Conn>>& conns) {
    for (auto& c : conns) loop_.Close(*c);
  }

  std::size_t CountFailed(const std::vector<std::unique_ptr<Conn>>& conns,
                          std::string* first_error) {
    std::size_t failed = 0;
    for (const auto& c : conns) {
      if (c->failed) {
        if (failed++ == 0 && first_error) *first_error = c->error;
      }
    }
    return failed;
  }

  // ---- Fan-out, shared by long-poll and SSE.
  struct FanoutClient {
    std::uint64_t cursor = 0;
    bool answered = false;
    std::uint64_t got_id = 0;
    std::size_t got_count = 0;
    double latency = 0;
    bool bad = false;
  };

  struct Round {
    Clock::time_point t0;
    bool active = false;
    std::size_t answered = 0;
    std::size_t failed = 0;  // Connections lost so far (counted by on_close).
  };

  // Runs the rounds over conns already held; returns each round's latencies.
  std::vector<Latency> FanoutRounds(const char* name, const std::string& channel,
                                    std::vector<std::unique_ptr<Conn>>& conns,
                                    std::vector<FanoutClient>& clients, Round& round,
                                    std::size_t& errors) {
    std::vector<Latency> rounds;
    // Connected before the clock starts: a round times the publish, not a TCP handshake.
    auto publisher = std::make_unique<Conn>();
    publisher->port = o_.publish_port;
    loop_.Open(*publisher);
    loop_.RunUntil([&] { return publisher->connected || publisher->fd < 0; },
                   Clock::now() + std::chrono::seconds(10));
    for (int r = 0; r < o_.rounds; ++r) {
      const std::size_t alive = conns.size() - CountFailed(conns, nullptr);
      if (!WaitForWaiting(alive)) {
        report_.Problem(std::string(name) + ": round " + std::to_string(r + 1) +
                        ": /healthz never showed " + std::to_string(alive) + " waiting");
        break;
      }
      for (auto& c : clients) c.answered = false, c.got_count = 0, c.got_id = 0;
      round.answered = 0;
      round.active = true;
      std::uint64_t published = 0;
      const double server_cpu0 = SampleProcess(o_.pid).cpu_seconds, own_cpu0 = OwnCpuSeconds();
      round.t0 = Clock::now();
      if (publisher->fd < 0) {
        publisher = std::make_unique<Conn>();
        publisher->port = o_.publish_port;
        loop_.Open(*publisher);
      }
      publisher->on_response = [&](Conn&, Response& res) {
        published = NumberAfter(res.body, "\"id\":");
      };
      loop_.Send(*publisher,
                 PostJsonRequest("/send_feed_item?channel=" + channel, PublishBody(r + 1)));
      const bool all = loop_.RunUntil(
          [&] { return published != 0 && round.answered + round.failed >= conns.size(); },
          round.t0 + std::chrono::seconds(60));
      round.active = false;
      const double server_cpu = SampleProcess(o_.pid).cpu_seconds - server_cpu0,
                   own_cpu = OwnCpuSeconds() - own_cpu0;
      std::vector<double> latencies;
      std::size_t unserved = 0, wrong = 0;
      for (std::size_t i = 0; i < clients.size(); ++i) {
        const FanoutClient& c = clients[i];
        if (!c.answered) {
          ++unserved;
          continue;
        }
        if (c.bad || c.got_count != 1 || c.got_id != published) ++wrong;
        latencies.push_back(c.latency);
      }
      Latency l = Summarize(latencies);
      l.server_cpu = server_cpu;
      l.loadgen_cpu = own_cpu;
      std::cerr << "[" << name << "] round " << r + 1 << ": " << l.count << " answered, p50 "
                << l.p50 << " s, p99 " << l.p99 << " s, all " << l.max << " s; CPU server "
                << server_cpu << " s, loadgen " << own_cpu << " s"
                << (all ? "" : " (deadline passed)") << "\n";
      if (unserved || wrong) {
        errors += unserved + wrong;
        std::string first;
        const std::size_t failed = CountFailed(conns, &first);
        report_.Problem(
            std::string(name) + ": round " + std::to_string(r + 1) + ": " +
            std::to_string(unserved) + " clients without an answer, " + std::to_string(wrong) +
            " wrong answers" +
            (failed ? " (" + std::to_string(failed) + " connections failed: " + first + ")" : ""));
      }
      rounds.push_back(l);
    }
    loop_.Close(*publisher);
    return rounds;
  }

  void SampleHeld(const char* name, std::optional<ProcessSample>& into, bool measure_cpu) {
    into = SampleProcess(o_.pid);
    if (!measure_cpu || o_.pid <= 0) return;
    const ProcessSample before = SampleProcess(o_.pid);
    const auto t0 = Clock::now();
    loop_.RunFor(
        std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o_.cpu_seconds)));
    const ProcessSample after = SampleProcess(o_.pid);
    report_.held_cpu_percent =
        100.0 * (after.cpu_seconds - before.cpu_seconds) / Seconds(Clock::now() - t0);
    std::cerr << "[" << name << "] held: RSS " << into->rss_kib << " KiB, " << into->threads
              << " threads, idle CPU " << report_.held_cpu_percent << " %\n";
  }

  void LongPollFanout() {
    const std::string channel = "bench-poll";
    const std::uint64_t start = PublishNow(channel);
    std::vector<std::unique_ptr<Conn>> conns(o_.clients);
    std::vector<FanoutClient> clients(o_.clients);
    Round round;
    auto poll = [channel](std::uint64_t since) {
      return GetRequest("/real_time_feed?channel=" + channel + "&since=" + std::to_string(since) +
                        "&timeout=120");
    };
    for (std::size_t i = 0; i < conns.size(); ++i) {
      conns[i] = std::make_unique<Conn>();
      conns[i]->index = i;
      conns[i]->on_close = [&round](Conn&) { ++round.failed; };
      clients[i].cursor = start;
      conns[i]->on_response = [&, poll](Conn& conn, Response& res) {
        FanoutClient& c = clients[conn.index];
        if (!round.active || c.answered) {
          c.bad = true;  // An answer nobody published for.
        } else {
          c.answered = true;
          ++round.answered;
          c.latency = Seconds(Clock::now() - round.t0);
          const auto ids = ItemIds(res.body);
          c.got_count = ids.size();
          c.got_id = ids.empty() ? 0 : ids.back();
          if (res.status != 200) c.bad = true;
        }
        c.cursor = std::max(c.cursor, NumberAfter(res.body, "\"cursor\":"));
        loop_.Send(conn, poll(c.cursor));
      };
    }
    const auto t_open = Clock::now();
    OpenAll(conns, [&](Conn& c) { return poll(clients[c.index].cursor); });
    if (!WaitForWaiting(conns.size(), std::chrono::seconds(120))) {
      std::string first;
      report_.Problem(
          "longpoll: " + std::to_string(o_.clients) + " long-polls were never all held (" +
          std::to_string(CountFailed(conns, &first)) + " connections failed: " + first + ")");
    }
    std::cerr << "[longpoll] " << o_.clients << " held after " << Seconds(Clock::now() - t_open)
              << " s\n";
    SampleHeld("longpoll", report_.held, true);
    report_.poll_rounds =
        FanoutRounds("longpoll", channel, conns, clients, round, report_.poll_errors);
    CloseAll(conns);
    WaitForQuiet();
  }

  void SseFanout() {
    const std::string channel = "bench-sse";
    const std::uint64_t start = PublishNow(channel);
    std::vector<std::unique_ptr<Conn>> conns(o_.clients);
    std::vector<FanoutClient> clients(o_.clients);
    Round round;
    for (std::size_t i = 0; i < conns.size(); ++i) {
      conns[i] = std::make_unique<Conn>();
      conns[i]->index = i;
      conns[i]->on_close = [&round](Conn&) { ++round.failed; };
      conns[i]->on_response = [&](Conn& conn, Response&) {
        clients[conn.index].bad = true;
      };  // Stream ended.
      conns[i]->on_stream = [&](Conn& conn, std::string& body) {
        std::size_t end;
        while ((end = body.find("\n\n")) != std::string::npos) {
          // One event; only those with an id are items (the rest: retry, comments).
          std::uint64_t id = 0;
          if (body.compare(0, 4, "id: ") == 0) id = std::strtoull(body.c_str() + 4, nullptr, 10);
          body.erase(0, end + 2);
          if (id == 0) continue;
          FanoutClient& c = clients[conn.index];
          if (!round.active || c.answered) {
            c.bad = true;
            continue;
          }
          c.answered = true;
          ++round.answered;
          c.latency = Seconds(Clock::now() - round.t0);
          c.got_id = id;
          c.got_count = 1;
        }
      };
    }
    const auto t_open = Clock::now();
    OpenAll(conns, [&](Conn&) {
      return GetRequest("/real_time_feed/stream?channel=" + channel +
                        "&since=" + std::to_string(start));
    });
    if (!WaitForWaiting(conns.size(), std::chrono::seconds(120))) {
      report_.Problem("sse: " + std::to_string(o_.clients) + " streams were never all waiting");
    }
    std::cerr << "[sse] " << o_.clients << " streams held after " << Seconds(Clock::now() - t_open)
              << " s\n";
    SampleHeld("sse", report_.sse_held, false);
    report_.sse_rounds = FanoutRounds("sse", channel, conns, clients, round, report_.sse_errors);
    CloseAll(conns);
    WaitForQuiet();
  }

  // ---- Slow consumers: a tenth of the streams read at --slow-rate through a burst. The fast
  // ones must get the burst as fast as ever; the slow ones all of it, in order, on their one
  // connection; and the server must hold little for them beyond the backlog itself.
  void SlowConsumers() {
    report_.slow_ran = true;
    const std::string channel = "bench-slow";
    const std::uint64_t start = PublishNow(channel);
    const std::size_t n = std::min(o_.slow_clients, o_.clients);
    const std::size_t slow = std::max<std::size_t>(1, n / 10);
    struct Client {
      std::uint64_t last = 0, count = 0;
      bool bad = false;
      Clock::time_point done{};
    };
    std::vector<Client> clients(n);
    std::vector<std::unique_ptr<Conn>> conns(n);
    for (std::size_t i = 0; i < n; ++i) {
      conns[i] = std::make_unique<Conn>();
      conns[i]->index = i;
      if (i < slow) conns[i]->read_rate = o_.slow_rate;
      conns[i]->on_stream = [&, start](Conn& conn, std::string& body) {
        Client& c = clients[conn.index];
        std::size_t end;
        while ((end = body.find("\n\n")) != std::string::npos) {
          std::uint64_t id = 0;
          if (body.compare(0, 4, "id: ") == 0) id = std::strtoull(body.c_str() + 4, nullptr, 10);
          body.erase(0, end + 2);
          if (id == 0) continue;
          if (id <= std::max(c.last, start)) c.bad = true;  // A duplicate or out of order.
          c.last = id;
          if (++c.count == o_.burst_items) c.done = Clock::now();
        }
      };
    }
    OpenAll(conns, [&](Conn& conn) {
      if (conn.read_rate) {
        // A small receive buffer, as a phone's: the kernel does not take the burst for it.
        const int bytes = 16 * 1024;
        ::setsockopt(conn.fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
      }
      return GetRequest("/real_time_feed/stream?channel=" + channel +
                        "&since=" + std::to_string(start));
    });
    if (!WaitForWaiting(n, std::chrono::seconds(120))) {
      report_.Problem("slow: " + std::to_string(n) + " streams were never all waiting");
    }
    report_.slow_fast = n - slow;
    report_.slow_slow = slow;
    const ProcessSample before = SampleProcess(o_.pid);
    std::cerr << "[slow] " << n << " streams, " << slow << " reading at " << o_.slow_rate
              << " B/s; burst of " << o_.burst_items << " x " << o_.burst_bytes << " B\n";
    const std::string data = "\"" + std::string(o_.burst_bytes, 'x') + "\"";
    const auto t0 = Clock::now();
    for (std::size_t i = 0; i < o_.burst_items; ++i) {
      Request(control_,
              PostJsonRequest("/send_feed_item?channel=" + channel, "{\"data\":" + data + "}"));
    }
    const auto published = Clock::now();
    auto all_done = [&](std::size_t from, std::size_t to) {
      return std::all_of(clients.begin() + static_cast<std::ptrdiff_t>(from),
                         clients.begin() + static_cast<std::ptrdiff_t>(to),
                         [&](const Client& c) { return c.count >= o_.burst_items; });
    };
    loop_.RunUntil([&] { return all_done(slow, n); }, published + std::chrono::seconds(60));
    report_.slow_fast_all = Seconds(Clock::now() - published);
    // Sampled while the slow ones are far behind: the burst is in the backlog, and what the
    // server holds for each slow stream is the rest.
    const ProcessSample during = SampleProcess(o_.pid);
    const double backlog_kib =
        static_cast<double>(o_.burst_items) * static_cast<double>(o_.burst_bytes + 200) / 1024.0;
    report_.slow_kib_per_stream =
        (static_cast<double>(during.rss_kib - before.rss_kib) - backlog_kib) /
        static_cast<double>(slow);
    const double needed = static_cast<double>(o_.burst_items * (o_.burst_bytes + 100)) /
                          static_cast<double>(o_.slow_rate);
    loop_.RunUntil([&] { return all_done(0, slow); },
                   published + std::chrono::duration_cast<Clock::duration>(
                                   std::chrono::duration<double>(needed * 2 + 30)));
    report_.slow_all = Seconds(Clock::now() - t0);
    for (std::size_t i = 0; i < n; ++i) {
      const bool complete =
          clients[i].count == o_.burst_items && !clients[i].bad && conns[i]->fd >= 0;
      (i < slow ? report_.slow_complete : report_.fast_complete) += complete;
    }
    std::cerr << "[slow] fast all " << report_.slow_fast_all << " s after the burst; slow done "
              << report_.slow_all << " s after it began; " << report_.slow_kib_per_stream
              << " KiB per slow stream beyond the backlog\n";
    if (report_.slow_complete != slow || report_.fast_complete != n - slow) {
      report_.Problem("slow: " + std::to_string(report_.slow_complete) + "/" +
                      std::to_string(slow) + " slow and " + std::to_string(report_.fast_complete) +
                      "/" + std::to_string(n - slow) +
                      " fast streams got the whole burst in order");
    }
    CloseAll(conns);
    WaitForQuiet();
  }

  // ---- Sustained delivery: every client must see every item once, in order.
  void Sustained() {
    report_.sustained_ran = true;
    const std::string channel = "bench-sustained";
    const std::uint64_t start = PublishNow(channel);
    const std::size_t n = std::min(o_.sustained_clients, o_.clients);
    report_.sustained_clients = n;
    struct Client {
      std::uint64_t cursor = 0, last = 0, count = 0, hash = 0;
    };
    std::vector<Client> clients(n);
    std::vector<std::unique_ptr<Conn>> conns(n);
    auto poll = [channel](std::uint64_t since) {
      return GetRequest("/real_time_feed?channel=" + channel + "&since=" + std::to_string(since) +
                        "&timeout=120");
    };
    std::size_t delivered = 0;
    Clock::time_point last_delivery;
    for (std::size_t i = 0; i < n; ++i) {
      clients[i].cursor = clients[i].last = start;
      conns[i] = std::make_unique<Conn>();
      conns[i]->index = i;
      conns[i]->on_response = [&, poll](Conn& conn, Response& res) {
        Client& c = clients[conn.index];
        ++report_.sustained_answers;
        if (res.status != 200) ++report_.sustained_errors;
        if (res.body.find("\"truncated\":true") != std::string::npos) ++report_.truncated;
        for (std::uint64_t id : ItemIds(res.body)) {
          if (id == c.last) {
            ++report_.duplicates;
          } else if (id < c.last) {
            ++report_.reordered;
          } else {
            c.last = id;
            ++c.count;
            c.hash += Mix(id);
            ++delivered;
            last_delivery = Clock::now();
          }
        }
        c.cursor = std::max(c.cursor, NumberAfter(res.body, "\"cursor\":"));
        loop_.Send(conn, poll(c.cursor));
      };
    }
    OpenAll(conns, [&](Conn& c) { return poll(clients[c.index].cursor); });
    if (!WaitForWaiting(n)) report_.Problem("sustained: the clients were never all waiting");

    std::cerr << "[sustained] " << n << " clients waiting; publishing for " << o_.sustained_seconds
              << " s\n";
    std::vector<std::uint64_t> published;
    std::size_t publish_errors = 0;
    std::vector<std::unique_ptr<Conn>> publishers(o_.sustained_publishers);
    const auto t0 = Clock::now();
    const auto t_end = t0 + std::chrono::duration_cast<Clock::duration>(
                                std::chrono::duration<double>(o_.sustained_seconds));
    std::uint64_t seq = 0;
    for (auto& p : publishers) {
      p = std::make_unique<Conn>();
      p->port = o_.publish_port;
      p->on_response = [&](Conn& conn, Response& res) {
        if (res.status == 200) {
          published.push_back(NumberAfter(res.body, "\"id\":"));
        } else {
          ++publish_errors;
        }
        if (Clock::now() < t_end)
          loop_.Send(conn,
                     PostJsonRequest("/send_feed_item?channel=" + channel, PublishBody(++seq)));
      };
      loop_.Open(*p);
      loop_.Send(*p, PostJsonRequest("/send_feed_item?channel=" + channel, PublishBody(++seq)));
    }
    loop_.RunUntil(
        [&] {
          for (auto& p : publishers) {
            if (p->awaiting && p->fd >= 0) return false;
          }
          return Clock::now() >= t_end;
        },
        t_end + std::chrono::seconds(10));
    const auto t_published = Clock::now();
    std::sort(published.begin(), published.end());
    const std::uint64_t final_id = published.empty() ? start : published.back();
    std::uint64_t expected_hash = 0;
    for (std::uint64_t id : published) expected_hash += Mix(id);
    const bool caught_up = loop_.RunUntil(
        [&] {
          for (const Client& c : clients) {
            if (c.last < final_id) return false;
          }
          return true;
        },
        Clock::now() + std::chrono::seconds(30));
    for (auto& p : publishers) loop_.Close(*p);

    report_.published = published.size();
    report_.delivered = delivered;
    report_.sustained_seconds = Seconds(std::max(last_delivery, t_published) - t0);
    report_.publish_rate_sustained =
        static_cast<double>(published.size()) / Seconds(t_published - t0);
    std::size_t wrong_sets = 0;
    for (const Client& c : clients) {
      if (c.count < published.size()) report_.loss += published.size() - c.count;
      if (c.count != published.size() || c.hash != expected_hash) ++wrong_sets;
    }
    std::string first;
    const std::size_t failed = CountFailed(conns, &first);
    std::cerr << "[sustained] " << n << " clients, " << published.size() << " published in "
              << Seconds(t_published - t0) << " s, " << delivered << " delivered in "
              << report_.sustained_seconds << " s in " << report_.sustained_answers << " answers\n";
    if (!caught_up || wrong_sets || report_.loss || report_.duplicates || report_.reordered ||
        report_.truncated || report_.sustained_errors || publish_errors || failed) {
      report_.Problem("sustained: " + std::to_string(wrong_sets) +
                      " clients did not get exactly the published items (loss " +
                      std::to_string(report_.loss) + ", duplicates " +
                      std::to_string(report_.duplicates) + ", reordered " +
                      std::to_string(report_.reordered) + ", truncated answers " +
                      std::to_string(report_.truncated) + ", error answers " +
                      std::to_string(report_.sustained_errors) + ", publish errors " +
                      std::to_string(publish_errors) + ", failed connections " +
                      std::to_string(failed) + (failed ? " (" + first + ")" : "") + ")");
    }
    CloseAll(conns);
    WaitForQuiet();
  }

  // ---- Publish-only throughput.
  void PublishOnly() {
    report_.publish_ran = true;
    const std::string& target = o_.publish_target;
    const std::size_t batch = o_.publish_batch;
    std::vector<std::unique_ptr<Conn>> conns(o_.publish_connections);
    for (std::size_t i = 0; i < conns.size(); ++i) {
      conns[i] = std::make_unique<Conn>();
      // Two nodes: every other connection publishes on the second one.
      if (i % 2 == 1) conns[i]->port = o_.publish_port;
      loop_.Open(*conns[i]);
    }
    loop_.RunUntil(
        [&] {
          return std::all_of(conns.begin(), conns.end(),
                             [](auto& c) { return c->connected || c->fd < 0; });
        },
        Clock::now() + std::chrono::seconds(10));
    std::cerr << "[publish] " << conns.size() << " connections posting " << batch
              << " item(s) each to " << target << " for " << o_.publish_seconds << " s\n";
    const auto t0 = Clock::now();
    const auto t_end = t0 + std::chrono::duration_cast<Clock::duration>(
                                std::chrono::duration<double>(o_.publish_seconds));
    std::uint64_t seq = 0;
    auto next = [&] {
      seq += batch;
      return PostJsonRequest(target, PublishBodies(seq, batch));
    };
    for (auto& c : conns) {
      c->on_response = [&](Conn& conn, Response& res) {
        // Any 2xx: Nchan answers a publish with 201 or 202.
        if (res.status / 100 == 2) {
          ++report_.publish_ok;
        } else {
          ++report_.publish_errors;
        }
        if (Clock::now() < t_end) loop_.Send(conn, next());
      };
      loop_.Send(*c, next());
    }
    loop_.RunUntil(
        [&] {
          return Clock::now() >= t_end && std::none_of(conns.begin(), conns.end(), [](auto& c) {
                   return c->awaiting && c->fd >= 0;
                 });
        },
        t_end + std::chrono::seconds(10));
    report_.publish_seconds = Seconds(Clock::now() - t0);
    std::string first;
    const std::size_t failed = CountFailed(conns, &first);
    std::cerr << "[publish] " << report_.publish_ok << " publishes in " << report_.publish_seconds
              << " s\n";
    if (report_.publish_errors || failed) {
      report_.Problem("publish: " + std::to_string(report_.publish_errors) + " error answers, " +
                      std::to_string(failed) + " failed connections " + first);
    }
    CloseAll(conns);
    WaitForQuiet();
  }

  // ---- Reconnect storm: connections opened at a steady pace over about a second.
  void Storm() {
    report_.storm_ran = true;
    const std::string channel = "bench-storm";
    PublishNow(channel);  // So that since=0 is answered at once with the backlog.
    const std::size_t n = o_.storm;
    report_.storm_total = n;
    std::vector<std::unique_ptr<Conn>> conns(n);
    std::vector<double> times;
    times.reserve(n);
    std::size_t finished = 0;
    const std::string request = GetRequest("/real_time_feed?channel=" + channel + "&since=0");
    for (std::size_t i = 0; i < n; ++i) {
      conns[i] = std::make_unique<Conn>();
      conns[i]->on_response = [&](Conn& conn, Response& res) {
        ++finished;
        const double t = Seconds(Clock::now() - conn.opened_at);
        if (res.status == 200 && !ItemIds(res.body).empty()) {
          ++report_.storm_served;
          times.push_back(t);
          if (t > 1.0) ++report_.storm_over_1s;
        } else {
          ++report_.storm_failures["HTTP " + std::to_string(res.status)];
        }
        loop_.Close(conn);
      };
      conns[i]->on_close = [&](Conn& conn) {
        ++finished;
        ++report_.storm_failures[conn.error];
      };
    }
    const int slices = std::max(1, static_cast<int>(o_.storm_spread_seconds * 100));
    const auto t0 = Clock::now();
    std::size_t opened = 0;
    for (int s = 1; s <= slices; ++s) {
      const std::size_t upto = n * static_cast<std::size_t>(s) / static_cast<std::size_t>(slices);
      for (; opened < upto; ++opened) {
        loop_.Open(*conns[opened]);
        loop_.Send(*conns[opened], request);
      }
      loop_.RunUntil([] { return false; }, t0 + std::chrono::milliseconds(10 * s));
    }
    report_.storm_open_seconds = Seconds(Clock::now() - t0);
    loop_.RunUntil([&] { return finished >= n; }, Clock::now() + std::chrono::seconds(60));
    for (auto& c : conns) {
      if (c->fd >= 0) ++report_.storm_failures["no answer within 60 s"];
    }
    CloseAll(conns);
    const Latency l = Summarize(times);
    report_.storm_max = l.max;
    report_.storm_p50 = l.p50;
    std::cerr << "[storm] " << report_.storm_served << "/" << n << " served (opened in "
              << report_.storm_open_seconds << " s), " << report_.storm_over_1s << " over 1 s, max "
              << l.max << " s\n";
    if (report_.storm_served != n) {
      std::string why;
      for (const auto& [what, count] : report_.storm_failures) {
        why += ' ';
        why += std::to_string(count);
        why += "× ";
        why += what;
        why += ';';
      }
      report_.Problem("storm: " + std::to_string(n - report_.storm_served) + " of " +
                      std::to_string(n) + " connections not served:" + why);
    }
    WaitForQuiet();
  }

  // ---- The table.
  static std::string Fixed(double v, int digits) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", digits, v);
    return buf;
  }

  static std::string Count(std::size_t v) {
    std::string s = std::to_string(v), out;
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (i && (s.size() - i) % 3 == 0) out += ',';
      out += s[i];
    }
    return out;
  }

  // The round whose "all" is the median of the rounds.
  static Latency MedianRound(std::vector<Latency> rounds) {
    std::sort(rounds.begin(), rounds.end(),
              [](const Latency& a, const Latency& b) { return a.max < b.max; });
    return rounds[(rounds.size() - 1) / 2];
  }

  static std::string RoundsDetail(const std::vector<Latency>& rounds) {
    std::string s;
    for (const Latency& l : rounds) s += (s.empty() ? "" : ", ") + Fixed(l.max, 3);
    return s;
  }

  static const char* Met(bool yes) { return yes ? "yes" : "**no**"; }

  void PrintTable() {
    const Report& r = report_;
    std::ostringstream t;
    t << "| measure | result | target | met |\n|---|---|---|---|\n";
    if (o_.publish_port) {
      t << "| publishes go to a second node (port " << o_.publish_port
        << "); clients wait on the first | | | |\n";
    }
    t << "| N (waiting clients) | " << Count(r.n) << " | 10,000 (stretch 19,000) | "
      << (r.n < 10000    ? "— (small run)"
          : r.n >= 19000 ? "yes (stretch)"
                         : "yes")
      << " |\n";
    auto fanout = [&](const char* name, const std::vector<Latency>& rounds, std::size_t errors) {
      if (rounds.empty()) return;
      const Latency m = MedianRound(rounds);
      t << "| " << name << " fan-out p50 / p99 / all (median of " << rounds.size() << " rounds) | "
        << Fixed(m.p50, 3) << " / " << Fixed(m.p99, 3) << " / " << Fixed(m.max, 3)
        << " s (all, per round: " << RoundsDetail(rounds) << "; CPU in that round: server "
        << Fixed(m.server_cpu, 2) << " s, loadgen " << Fixed(m.loadgen_cpu, 2) << " s)"
        << (errors ? "; " + Count(errors) + " unserved or wrong" : "")
        << " | all ≤ 0.25 s (goal ≤ 0.11 s) | "
        << (errors          ? "**no**"
            : m.max <= 0.11 ? "yes (goal)"
                            : Met(m.max <= 0.25))
        << " |\n";
    };
    fanout("long-poll", r.poll_rounds, r.poll_errors);
    fanout("SSE", r.sse_rounds, r.sse_errors);
    if (r.sustained_ran) {
      const bool clean =
          !r.loss && !r.duplicates && !r.reordered && !r.truncated && !r.sustained_errors;
      t << "| sustained: " << Count(r.sustained_clients) << " re-polling clients, 1 publisher | "
        << Count(static_cast<std::size_t>(static_cast<double>(r.delivered) /
                                          std::max(r.sustained_seconds, 1e-9)))
        << " items/s delivered (" << Count(r.delivered) << " in " << Fixed(r.sustained_seconds, 1)
        << " s); " << Count(r.published) << " published ("
        << Count(static_cast<std::size_t>(r.publish_rate_sustained)) << "/s); loss " << r.loss
        << ", duplicates " << r.duplicates << ", reordered " << r.reordered << ", truncated "
        << r.truncated << "; " << Count(r.sustained_answers) << " answers ("
        << Fixed(static_cast<double>(r.delivered) /
                     static_cast<double>(std::max<std::size_t>(r.sustained_answers, 1)),
                 2)
        << " items each) | zero loss/dup/reorder | " << Met(clean) << " |\n";
    }
    if (r.slow_ran) {
      t << "| slow consumers: " << r.slow_fast << " fast + " << r.slow_slow << " streams at "
        << o_.slow_rate / 1024 << " KiB/s, burst of " << o_.burst_items << " x " << o_.burst_bytes
        << " B | fast: all " << Fixed(r.slow_fast_all, 3) << " s after the burst, "
        << r.fast_complete << " complete; slow: " << r.slow_complete
        << " complete and in order after " << Fixed(r.slow_all, 1)
        << " s | every stream complete, in order | "
        << Met(r.slow_complete == r.slow_slow && r.fast_complete == r.slow_fast) << " |\n";
      t << "| server memory per slow stream beyond the backlog | "
        << Fixed(r.slow_kib_per_stream, 1) << " KiB | ≤ 64 KiB | "
        << Met(r.slow_kib_per_stream <= 64) << " |\n";
    }
    if (r.publish_ran) {
      const double rate = static_cast<double>(r.publish_ok) / std::max(r.publish_seconds, 1e-9);
      if (o_.publish_batch == 1) {
        t << "| publish-only: " << o_.publish_connections << " keep-alive connections"
          << (o_.publish_port ? " over two nodes" : "") << ", " << Fixed(o_.publish_seconds, 0)
          << " s | " << Count(static_cast<std::size_t>(rate)) << " publishes/s ("
          << Count(r.publish_ok) << ", " << r.publish_errors
          << " errors) | ≥ Nchan's in the same run | — |\n";
      } else {
        const double items = rate * static_cast<double>(o_.publish_batch);
        t << "| batch publish: " << o_.publish_connections << " keep-alive connections, "
          << o_.publish_batch << " items per post, " << Fixed(o_.publish_seconds, 0) << " s | "
          << Count(static_cast<std::size_t>(items)) << " items/s ("
          << Count(static_cast<std::size_t>(rate)) << " posts/s, " << r.publish_errors
          << " errors) | ≥ 300,000 items/s | " << Met(items >= 300000) << " |\n";
      }
    }
    if (r.storm_ran) {
      t << "| reconnect storm: " << Count(r.storm_total) << " connections opened in "
        << Fixed(r.storm_open_seconds, 2) << " s | " << Count(r.storm_served) << " served; "
        << Count(r.storm_over_1s) << " took > 1 s; p50 " << Fixed(r.storm_p50, 3) << " s, max "
        << Fixed(r.storm_max, 3) << " s | all served | " << Met(r.storm_served == r.storm_total)
        << " |\n";
    }
    if (r.held) {
      const double per_client_kib =
          static_cast<double>(r.held->rss_kib - r.idle.rss_kib) / static_cast<double>(r.n);
      t << "| server RSS idle / with N long-polls held | " << Fixed(r.idle.rss_kib / 1024.0, 1)
        << " MiB / " << Fixed(r.held->rss_kib / 1024.0, 1) << " MiB | | |\n";
      t << "| bytes per held client ((RSS held − idle) / N) | " << Fixed(per_client_kib, 1)
        << " KiB | ≤ 24 KiB | " << Met(per_client_kib <= 24) << " |\n";
      if (r.sse_held) {
        t << "| (same with N SSE streams held) | "
          << Fixed(static_cast<double>(r.sse_held->rss_kib - r.idle.rss_kib) /
                       static_cast<double>(r.n),
                   1)
          << " KiB/client (RSS " << Fixed(r.sse_held->rss_kib / 1024.0, 1) << " MiB) | | |\n";
      }
      t << "| idle CPU with N held (" << Fixed(o_.cpu_seconds, 0) << " s) | "
        << Fixed(r.held_cpu_percent, 2) << " % | ~0 % | " << Met(r.held_cpu_percent < 1.0)
        << " |\n";
      t << "| server threads idle / with N held | " << r.idle.threads << " / " << r.held->threads
        << " | | |\n";
    }
    std::cout << t.str();
    if (!r.ok) {
      std::cout << "\nCorrectness failures:\n";
      for (const auto& p : r.problems) std::cout << "- " << p << "\n";
    }
    std::cout.flush();
  }

  Options o_;
  ClientLoop loop_;
  std::unique_ptr<Conn> control_;
  Report report_;
};

void Usage() {
  std::cerr
      << "usage: loadgen --port P [--pid SERVER_PID] [--clients N] [--rounds R]\n"
         "  [--publish-port Q]\n"
         "  [--sustained-clients S] [--sustained-seconds T] [--sustained-publishers K]\n"
         "  [--publish-connections C] [--publish-seconds T] [--storm M] [--storm-spread T]\n"
         "  [--cpu-seconds T] [--open-batch B] [--phases longpoll,sse,sustained,publish,storm]\n"
         "  [--publish-target PATH] [--publish-batch ITEMS]\n"
         "  [--slow-clients S] [--slow-rate BYTES_PER_S] [--burst-items K] [--burst-bytes B]\n";
}

std::size_t RaiseOpenFileLimit() {
  rlimit limit{};
  ::getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = limit.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &limit);
  ::getrlimit(RLIMIT_NOFILE, &limit);
  return limit.rlim_cur;
}

}  // namespace
}  // namespace livefeed::bench

int main(int argc, char** argv) {
  using livefeed::bench::Options;
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      livefeed::bench::Usage();
      return 0;
    }
    if (i + 1 >= argc) {
      livefeed::bench::Usage();
      return 2;
    }
    const std::string value = argv[++i];
    try {
      if (arg == "--port")
        o.port = static_cast<std::uint16_t>(std::stoi(value));
      else if (arg == "--publish-port")
        o.publish_port = static_cast<std::uint16_t>(std::stoi(value));
      else if (arg == "--pid")
        o.pid = std::stoi(value);
      else if (arg == "--clients")
        o.clients = std::stoul(value);
      else if (arg == "--rounds")
        o.rounds = std::stoi(value);
      else if (arg == "--sustained-clients")
        o.sustained_clients = std::stoul(value);
      else if (arg == "--sustained-seconds")
        o.sustained_seconds = std::stod(value);
      else if (arg == "--sustained-publishers")
        o.sustained_publishers = std::stoul(value);
      else if (arg == "--publish-connections")
        o.publish_connections = std::stoul(value);
      else if (arg == "--publish-seconds")
        o.publish_seconds = std::stod(value);
      else if (arg == "--storm")
        o.storm = std::stoul(value);
      else if (arg == "--storm-spread")
        o.storm_spread_seconds = std::stod(value);
      else if (arg == "--cpu-seconds")
        o.cpu_seconds = std::stod(value);
      else if (arg == "--open-batch")
        o.open_batch = std::stoul(value);
      else if (arg == "--phases")
        o.phases = value;
      else if (arg == "--publish-target")
        o.publish_target = value;
      else if (arg == "--slow-clients")
        o.slow_clients = std::stoul(value);
      else if (arg == "--slow-rate")
        o.slow_rate = std::stoul(value);
      else if (arg == "--burst-items")
        o.burst_items = std::stoul(value);
      else if (arg == "--burst-bytes")
        o.burst_bytes = std::stoul(value);
      else if (arg == "--publish-batch")
        o.publish_batch = std::max<std::size_t>(1, std::stoul(value));
      else {
        livefeed::bench::Usage();
        return 2;
      }
    } catch (const std::exception&) {
      std::cerr << "loadgen: bad value for " << arg << ": " << value << "\n";
      return 2;
    }
  }
  if (o.port == 0 || o.clients == 0 || o.rounds < 1 || o.open_batch == 0) {
    livefeed::bench::Usage();
    return 2;
  }
  const std::size_t files = livefeed::bench::RaiseOpenFileLimit();
  const std::size_t needed = std::max({o.clients, o.storm, o.sustained_clients}) + 32;
  if (needed > files) {
    std::cerr << "loadgen: needs " << needed << " open files, the limit is " << files << "\n";
    return 2;
  }
  livefeed::bench::Bench bench(o);
  return bench.Run();
}
