// One connection to Redis, for the store's event loop: commands with a callback per reply,
// or a subscription with a callback per message. The only file that includes hiredis is
// redis_connection.cpp; it also holds the small epoll adapter hiredis lacks.
// Not thread-safe: made, used and destroyed on the loop's thread. Never destroy it from
// inside one of its own callbacks: Close() there, and destroy it later.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "store/redis_event_loop.h"
#include "store/resp_command.h"

namespace livefeed {

// A reply, copied out of hiredis.
struct RedisReply {
  enum class Type { kNil, kString, kStatus, kError, kInteger, kArray };
  Type type = Type::kNil;
  std::string str;  // kString, kStatus, kError.
  long long integer = 0;
  std::vector<RedisReply> elements;  // kArray.

  bool is_error() const { return type == Type::kError; }
};

class RedisConnection {
 public:
  // nullptr: the connection ended before the reply came.
  using OnReply = std::function<void(const RedisReply* reply)>;

  // Starts connecting (a host name is resolved here, on the loop's thread). `on_connected`
  // runs once the TCP connection is up; `on_closed` runs once when it ends for any reason,
  // with why, always from a posted task (never inside a call into this object), and never
  // after the object is destroyed.
  RedisConnection(RedisEventLoop& loop, const std::string& host, int port,
                  std::function<void()> on_connected,
                  std::function<void(const std::string& why)> on_closed);
  ~RedisConnection();  // Close().
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  // Queues a command; false (and no callback) when the connection is closed or closing.
  bool Send(const RespCommand& command, OnReply on_reply);
  // SUBSCRIBE: `on_message` gets every message of the channel (the subscribe confirmation
  // first), and nullptr once when the connection ends.
  bool Subscribe(const std::string& channel, OnReply on_message);
  // Ends the connection: every pending callback gets nullptr (at once, or right after the
  // callback this is called from returns).
  void Close();
  bool open() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace livefeed
