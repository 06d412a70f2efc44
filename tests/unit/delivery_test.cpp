// Delivery: subscribers as cursors over a real MemoryStore, on real socket pairs, with the
// event loop played by the test (its rounds, timers and posts). What is checked is what a
// client would see: who is answered, with what, and how much is held for a slow reader.
#include "http/delivery.h"

#include <doctest/doctest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "failing_store.h"

namespace livefeed {
namespace {

using nlohmann::json;
using std::chrono::seconds;
using Clock = Delivery::Clock;

constexpr std::int64_t kSomeTimeUs = 1'700'000'000'000'000;

// The loop, as the delivery sees it: answers and stream bytes go to real sockets.
struct FakeLoop : Delivery::Host {
  struct Answered {
    Reply reply;
    Bytes body;
  };
  Clock::time_point clock = Clock::now();
  Delivery* delivery = nullptr;
  std::map<std::uint64_t, Answered> answered;
  std::set<std::uint64_t> closed, ended;
  std::map<std::uint64_t, Clock::time_point> armed;
  std::vector<std::function<void()>> posted;
  std::map<std::uint64_t, Connection*> connections;

  void Answer(Connection& c, const Reply& reply, const Bytes& body) override {
    answered[c.id] = {reply, body};
  }
  void Send(Connection& c, const Bytes& bytes) override {
    c.Queue(bytes);
    c.Flush(clock);
  }
  void End(Connection& c, const Bytes& last) override {
    ended.insert(c.id);
    Send(c, last);
  }
  void Close(Connection& c) override {
    closed.insert(c.id);
    delivery->Remove(c);
  }
  void Arm(Connection& c, Clock::time_point at) override { armed[c.id] = at; }
  Connection* Find(std::uint64_t id) override {
    return connections.count(id) ? connections[id] : nullptr;
  }
  void Post(std::function<void()> work) override { posted.push_back(std::move(work)); }
  Clock::time_point now() override { return clock; }

  void RunPosted() {
    std::vector<std::function<void()>> work;
    work.swap(posted);
    for (auto& w : work) w();
  }
};

// A connection on one end of a socket pair; the test reads the other end as the client.
struct Client {
  explicit Client(std::uint64_t id, int send_buffer = 0) {
    int fds[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds) == 0);
    if (send_buffer) ::setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &send_buffer, sizeof send_buffer);
    connection = std::make_unique<Connection>(fds[0], id, "test");
    peer = fds[1];
  }
  ~Client() { ::close(peer); }
  // What has arrived so far (at most `max` bytes).
  std::string Read(std::size_t max = 1 << 20) {
    std::string out(max, '\0');
    const ssize_t n = ::recv(peer, out.data(), max, MSG_DONTWAIT);
    out.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
    return out;
  }
  std::unique_ptr<Connection> connection;
  int peer = -1;
};

struct DeliveryFixture {
  testing::FailingStore store{[] { return kSomeTimeUs; }, MemoryStoreLimits{.max_items = 100'000}};
  FakeLoop loop;
  metrics::Registry metrics;
  Delivery delivery{loop, store, metrics};
  DeliveryFixture() {
    loop.delivery = &delivery;
    store.SetListener([this](const std::string& channel, std::uint64_t newest) {
      delivery.OnNews(channel, newest, Clock::now());
    });
  }

  std::uint64_t Publish(const std::string& data = "1", const std::string& channel = "default") {
    AppendRequest request;
    request.drafts.push_back({channel, "", data});
    return store.Append(std::move(request), nullptr)->items.at(0)->id;
  }
  Client& Add(std::uint64_t id, int send_buffer = 0) {
    clients.push_back(std::make_unique<Client>(id, send_buffer));
    loop.connections[id] = clients.back()->connection.get();
    return *clients.back();
  }
  void Poll(Client& client, QueryParams params) {
    delivery.AddPoll(*client.connection,
                     std::move(*LongPollSession::Open(params, {}, loop.clock).session));
  }
  void Stream(Client& client, QueryParams params, SseOptions options = {},
              std::optional<Clock::time_point> expires = std::nullopt) {
    SseSession session = std::move(*SseSession::Open(params, "", options).session);
    if (expires) session.ExpireAt(*expires);
    delivery.AddStream(*client.connection, std::move(session), true);
  }
  std::vector<std::unique_ptr<Client>> clients;
};

std::vector<std::uint64_t> EventIds(const std::string& text) {
  std::vector<std::uint64_t> ids;
  for (std::size_t pos = text.find("\nid: "); pos != std::string::npos;
       pos = text.find("\nid: ", pos + 1)) {
    ids.push_back(std::stoull(text.substr(pos + 5)));
  }
  return ids;
}

TEST_CASE_FIXTURE(DeliveryFixture,
                  "polls at one cursor get one answer, formatted once, on a publish") {
  const std::uint64_t start = Publish();
  for (std::uint64_t id = 1; id <= 3; ++id) Poll(Add(id), {{"since", std::to_string(start)}});
  delivery.AfterRound();
  CHECK(loop.answered.empty());
  CHECK(delivery.polls() == 3);
  const std::uint64_t next = Publish("2");
  delivery.AfterRound();
  REQUIRE(loop.answered.size() == 3);
  // The very same bytes for every one of them.
  CHECK(loop.answered[1].body == loop.answered[2].body);
  CHECK(loop.answered[2].body == loop.answered[3].body);
  const json body = json::parse(*loop.answered[1].body);
  CHECK(body["cursor"] == next);
  CHECK(body["items"].size() == 1);
  CHECK(delivery.polls() == 0);
}

TEST_CASE_FIXTURE(DeliveryFixture,
                  "a poll with items after its cursor is answered in the next round") {
  const std::uint64_t first = Publish();
  Publish("2");
  Poll(Add(1), {{"since", std::to_string(first)}});
  delivery.AfterRound();
  REQUIRE(loop.answered.count(1));
  CHECK(json::parse(*loop.answered[1].body)["items"].size() == 1);
}

TEST_CASE_FIXTURE(DeliveryFixture,
                  "a poll from now ignores what came before and takes what comes after") {
  Publish();
  Poll(Add(1), {});
  delivery.AfterRound();
  CHECK(loop.answered.empty());
  const std::uint64_t id = Publish("\"later\"");
  delivery.AfterRound();
  REQUIRE(loop.answered.count(1));
  CHECK(json::parse(*loop.answered[1].body)["items"][0]["id"] == id);
}

TEST_CASE_FIXTURE(DeliveryFixture, "news of another channel wakes nobody") {
  const std::uint64_t start = Publish();
  Poll(Add(1), {{"since", std::to_string(start)}, {"channel", "a"}});
  delivery.AfterRound();
  Publish("x", "b");
  CHECK_FALSE(delivery.busy());
  delivery.AfterRound();
  CHECK(loop.answered.empty());
}

TEST_CASE_FIXTURE(DeliveryFixture, "at its deadline a poll answers empty with its cursor") {
  const std::uint64_t start = Publish();
  Client& client = Add(1);
  Poll(client, {{"since", std::to_string(start)}, {"timeout", "5"}});
  delivery.AfterRound();
  CHECK(loop.armed[1] == loop.clock + seconds(5));
  delivery.OnTimer(*client.connection);
  REQUIRE(loop.answered.count(1));
  CHECK(json::parse(*loop.answered[1].body) == json{{"items", json::array()}, {"cursor", start}});
}

TEST_CASE_FIXTURE(DeliveryFixture, "a poll whose client left is forgotten, not answered") {
  const std::uint64_t start = Publish();
  Client& client = Add(1);
  Poll(client, {{"since", std::to_string(start)}});
  delivery.AfterRound();
  delivery.Remove(*client.connection);
  Publish("2");
  delivery.AfterRound();
  CHECK(loop.answered.empty());
  CHECK(delivery.Count("default") == 0);
}

TEST_CASE_FIXTURE(DeliveryFixture,
                  "a read that completes later answers then; news meanwhile is read again") {
  const std::uint64_t start = Publish();
  Poll(Add(1), {{"since", std::to_string(start)}});
  store.set_reads_later(true);
  delivery.AfterRound();                  // Reads: nothing new, answered later.
  const std::uint64_t id = Publish("2");  // News while that read is in flight.
  delivery.AfterRound();
  CHECK(loop.answered.empty());
  CHECK(store.Complete() == 1);
  loop.RunPosted();  // The empty read: the poll reads again.
  delivery.AfterRound();
  CHECK(store.Complete() == 1);
  loop.RunPosted();
  REQUIRE(loop.answered.count(1));
  CHECK(json::parse(*loop.answered[1].body)["cursor"] == id);
}

TEST_CASE_FIXTURE(DeliveryFixture, "news of every channel (an empty name) wakes every subscriber") {
  const std::uint64_t start = Publish("1", "a");
  Client& a = Add(1);
  Client& b = Add(2);
  Poll(a, {{"since", std::to_string(start)}, {"channel", "a"}});
  Stream(b, {{"since", std::to_string(start)}, {"channel", "b"}});
  delivery.AfterRound();
  b.Read();
  // Items the subscribers were never told of, as after a store starts over.
  store.SetListener(nullptr);
  const std::uint64_t on_a = Publish("2", "a");
  const std::uint64_t on_b = Publish("3", "b");
  delivery.AfterRound();
  CHECK(loop.answered.empty());
  delivery.OnNews("");
  CHECK(delivery.busy());
  delivery.AfterRound();
  REQUIRE(loop.answered.count(1));
  CHECK(json::parse(*loop.answered[1].body)["cursor"] == on_a);
  CHECK(EventIds(b.Read()) == std::vector<std::uint64_t>{on_b});
}

TEST_CASE_FIXTURE(DeliveryFixture, "a poll whose first read fails is answered 503 at once") {
  const std::uint64_t start = Publish();
  store.set_reads_fail(true);
  Poll(Add(1), {{"since", std::to_string(start)}});
  delivery.AfterRound();
  REQUIRE(loop.answered.count(1));
  CHECK(loop.answered[1].reply.status == 503);
  CHECK(json::parse(*loop.answered[1].body)["error"].is_string());
  const auto& headers = loop.answered[1].reply.headers;
  CHECK(std::find(headers.begin(), headers.end(),
                  std::pair<std::string, std::string>("Retry-After", "1")) != headers.end());
  CHECK(delivery.polls() == 0);
}

TEST_CASE_FIXTURE(DeliveryFixture,
                  "a held poll keeps its connection through failed reads and times out as usual") {
  const std::uint64_t start = Publish();
  Client& client = Add(1);
  Poll(client, {{"since", std::to_string(start)}, {"timeout", "5"}});
  delivery.AfterRound();  // Its first read: nothing yet, so it is held.
  store.set_reads_fail(true);
  Publish("2");
  delivery.AfterRound();  // Woken, and the read fails: it waits on.
  CHECK(loop.answered.empty());
  CHECK(delivery.polls() == 1);
  delivery.OnTimer(*client.connection);  // Its deadline, and the store still fails.
  REQUIRE(loop.answered.count(1));
  CHECK(loop.answered[1].reply.status == 200);
  CHECK(json::parse(*loop.answered[1].body) == json{{"items", json::array()}, {"cursor", start}});
}

TEST_CASE_FIXTURE(DeliveryFixture, "a held poll whose read failed gets the item at the next wake") {
  const std::uint64_t start = Publish();
  Poll(Add(1), {{"since", std::to_string(start)}});
  delivery.AfterRound();
  store.set_reads_fail(true);
  const std::uint64_t missed = Publish("2");
  delivery.AfterRound();
  CHECK(loop.answered.empty());
  store.set_reads_fail(false);
  delivery.OnNews("");  // The store is back.
  delivery.AfterRound();
  REQUIRE(loop.answered.count(1));
  CHECK(json::parse(*loop.answered[1].body)["cursor"] == missed);
}

TEST_CASE_FIXTURE(DeliveryFixture,
                  "a stream whose read fails keeps its cursor and reads again a second later") {
  const std::uint64_t start = Publish();
  Client& client = Add(1);
  Stream(client, {{"since", std::to_string(start)}});
  delivery.AfterRound();
  client.Read();
  store.set_reads_fail(true);
  const std::uint64_t id = Publish("2");
  delivery.AfterRound();
  CHECK(client.Read().empty());
  CHECK(loop.closed.empty());
  CHECK(loop.armed[1] == loop.clock + seconds(1));
  store.set_reads_fail(false);
  loop.clock += seconds(1);
  delivery.OnTimer(*client.connection);
  delivery.AfterRound();
  CHECK(EventIds(client.Read()) == std::vector<std::uint64_t>{id});
}

TEST_CASE_FIXTURE(DeliveryFixture, "streams at one cursor share each batch of events") {
  const std::uint64_t start = Publish();
  Client& a = Add(1);
  Client& b = Add(2);
  Stream(a, {{"since", std::to_string(start)}});
  Stream(b, {{"since", std::to_string(start)}});
  delivery.AfterRound();
  const std::uint64_t id = Publish("2");
  delivery.AfterRound();
  for (Client* client : {&a, &b}) CHECK(EventIds(client->Read()) == std::vector<std::uint64_t>{id});
}

TEST_CASE_FIXTURE(DeliveryFixture,
                  "a far-behind slow reader holds one batch at most, and gets everything") {
  constexpr int kItems = 300;
  std::vector<std::uint64_t> ids;
  for (int i = 0; i < kItems; ++i) ids.push_back(Publish("\"" + std::string(1000, 'x') + "\""));
  Client& slow = Add(1, 4096);
  constexpr std::size_t kBatch = 8 * 1024;
  Stream(slow, {{"since", "0"}}, {.batch_bytes = kBatch});
  std::string received;
  std::size_t most_held = 0;
  for (int round = 0; round < 100000 && EventIds(received).size() < kItems; ++round) {
    delivery.AfterRound();
    most_held = std::max(most_held, slow.connection->unsent_bytes());
    received += slow.Read(3000);  // The client reads a little at a time.
    if (slow.connection->unsent() &&
        slow.connection->Flush(loop.clock) == Connection::Flushed::kAll) {
      delivery.OnDrained(*slow.connection);
    }
  }
  CHECK(EventIds(received) == ids);
  // One batch of items plus the framing of their events, however far behind it was.
  CHECK(most_held <= kBatch + 1200 + kItems);
  CHECK(most_held > 0);
  CHECK(loop.closed.empty());
}

TEST_CASE_FIXTURE(DeliveryFixture, "a stream whose socket is full reads nothing until it drains") {
  const std::uint64_t start = Publish();
  Client& client = Add(1, 4096);
  Stream(client, {{"since", std::to_string(start)}});
  delivery.AfterRound();
  // Fill the socket: the client does not read.
  Publish("\"" + std::string(60000, 'x') + "\"");
  delivery.AfterRound();
  REQUIRE(client.connection->unsent());
  const std::uint64_t held = client.connection->unsent_bytes();
  const std::uint64_t last = Publish("3");
  delivery.AfterRound();
  CHECK(client.connection->unsent_bytes() == held);  // Nothing more was formatted.
  std::string received;
  for (int i = 0; i < 1000 && EventIds(received).size() < 2; ++i) {
    received += client.Read();
    if (client.connection->Flush(loop.clock) == Connection::Flushed::kAll) {
      delivery.OnDrained(*client.connection);
    }
    delivery.AfterRound();
  }
  CHECK(EventIds(received).back() == last);
}

TEST_CASE_FIXTURE(DeliveryFixture, "a stalled stream is closed at the write timeout, not before") {
  Client& client = Add(1, 4096);
  Stream(client, {{"since", "0"}}, {.ping_interval = seconds(15), .write_timeout = seconds(60)});
  Publish("\"" + std::string(60000, 'x') + "\"");
  delivery.AfterRound();
  REQUIRE(client.connection->unsent());
  loop.clock += seconds(59);
  delivery.OnTimer(*client.connection);
  CHECK(loop.closed.empty());
  loop.clock += seconds(2);
  delivery.OnTimer(*client.connection);
  CHECK(loop.closed.count(1));
  CHECK(delivery.stalled_streams() == 1);
  CHECK(metrics.slow_streams_dropped.value() == 1);
}

TEST_CASE_FIXTURE(DeliveryFixture,
                  "items delivered are counted per answer, with one latency sample per answer "
                  "woken by news") {
  const std::uint64_t start = Publish();
  for (std::uint64_t id = 1; id <= 3; ++id) Poll(Add(id), {{"since", std::to_string(start)}});
  Stream(Add(4), {{"since", std::to_string(start)}});
  delivery.AfterRound();
  CHECK(metrics.items_delivered[metrics::Transport::kLongPoll].value() == 0);
  Publish("2");
  Publish("3");
  delivery.AfterRound();
  REQUIRE(loop.answered.size() == 3);
  CHECK(metrics.items_delivered[metrics::Transport::kLongPoll].value() == 3 * 2);
  CHECK(metrics.items_delivered[metrics::Transport::kSse].value() == 2);
  CHECK(metrics.delivery_latency[metrics::Transport::kLongPoll].Snapshot().count() == 3);
  CHECK(metrics.delivery_latency[metrics::Transport::kSse].Snapshot().count() == 1);
  // A poll that finds items at once was woken by no news: counted, but no latency sample.
  Poll(Add(5), {{"since", std::to_string(start)}});
  delivery.AfterRound();
  REQUIRE(loop.answered.count(5));
  CHECK(metrics.items_delivered[metrics::Transport::kLongPoll].value() == 4 * 2);
  CHECK(metrics.delivery_latency[metrics::Transport::kLongPoll].Snapshot().count() == 3);
  CHECK(metrics.truncated_answers[metrics::Transport::kLongPoll].value() == 0);
}

TEST_CASE_FIXTURE(DeliveryFixture, "an answer that may have missed items counts as truncated") {
  Publish();
  // A cursor from before anything this store holds: it cannot vouch nothing was lost.
  Poll(Add(1), {{"since", "1"}});
  Stream(Add(2), {{"since", "1"}});
  delivery.AfterRound();
  REQUIRE(loop.answered.count(1));
  REQUIRE(json::parse(*loop.answered[1].body)["truncated"] == true);
  CHECK(metrics.truncated_answers[metrics::Transport::kLongPoll].value() == 1);
  CHECK(metrics.truncated_answers[metrics::Transport::kSse].value() == 1);
}

TEST_CASE_FIXTURE(DeliveryFixture,
                  "subscribers of an item are counted as its news found them, answered or not") {
  const std::uint64_t start = Publish();
  Poll(Add(1), {{"since", std::to_string(start)}});
  Poll(Add(2), {{"since", std::to_string(start)}});
  Stream(Add(3), {});
  delivery.AfterRound();
  CHECK(delivery.Count("default") == 3);
  const std::uint64_t id = Publish("2");
  delivery.AfterRound();  // Both polls are answered and gone.
  CHECK(delivery.Count("default") == 1);
  CHECK(delivery.Count("default", id) == 3);
  CHECK(delivery.Count("default", id + 1) == 1);  // Not heard of yet: those waiting now.
}

TEST_CASE_FIXTURE(DeliveryFixture, "a quiet stream gets a ping") {
  Client& client = Add(1);
  Stream(client, {}, {.ping_interval = seconds(15)});
  client.Read();
  loop.clock += seconds(16);
  delivery.OnTimer(*client.connection);
  CHECK(client.Read().find(": ping") != std::string::npos);
}

TEST_CASE_FIXTURE(DeliveryFixture,
                  "a stream whose token expires is told so by its last event, and ends") {
  const std::uint64_t first = Publish();
  Client& client = Add(1);
  Stream(client, {{"since", "0"}}, {.ping_interval = seconds(15)}, loop.clock + seconds(2));
  CHECK(loop.armed[1] == loop.clock + seconds(2));  // Checked at the expiry, not at 15 s.
  delivery.AfterRound();
  CHECK(EventIds(client.Read()) == std::vector<std::uint64_t>{first});
  loop.clock += seconds(2);
  delivery.OnTimer(*client.connection);
  CHECK(loop.ended.count(1));
  CHECK(delivery.streams() == 0);
  CHECK(delivery.expired_streams() == 1);
  // The event carries no id: the client resumes from the last item it had.
  const std::string last = client.Read();
  CHECK(last.find("\r\nevent: unauthorized\ndata: {\"error\":\"token expired\"}\n\n\r\n") !=
        std::string::npos);
  CHECK(last.find("id:") == std::string::npos);
  CHECK(last.ends_with("\r\n0\r\n\r\n"));  // The body's last chunk.
  // What is published afterwards is no longer its to read.
  Publish("2");
  delivery.AfterRound();
  CHECK(client.Read().empty());
}

TEST_CASE_FIXTURE(DeliveryFixture, "a poll held until its token's expiry is answered empty then") {
  const std::uint64_t start = Publish();
  Client& client = Add(1);
  LongPollSession session =
      std::move(*LongPollSession::Open({{"since", std::to_string(start)}}, {}, loop.clock).session);
  session.EndBy(loop.clock + seconds(2));
  delivery.AddPoll(*client.connection, std::move(session));
  delivery.AfterRound();
  CHECK(loop.armed[1] == loop.clock + seconds(2));
  delivery.OnTimer(*client.connection);
  REQUIRE(loop.answered.count(1));
  CHECK(json::parse(*loop.answered[1].body) == json{{"items", json::array()}, {"cursor", start}});
}

TEST_CASE_FIXTURE(DeliveryFixture, "shutdown answers polls with what they have and ends streams") {
  const std::uint64_t start = Publish();
  Poll(Add(1), {{"since", std::to_string(start)}});
  Stream(Add(2), {});
  delivery.AfterRound();
  delivery.Shutdown();
  REQUIRE(loop.answered.count(1));
  CHECK(json::parse(*loop.answered[1].body)["cursor"] == start);
  CHECK(loop.ended.count(2));
  CHECK(delivery.polls() == 0);
  CHECK(delivery.streams() == 0);
}

}  // namespace
}  // namespace livefeed
