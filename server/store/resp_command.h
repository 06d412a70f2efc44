// A Redis command written in RESP, the protocol's own framing, one argument at a time into
// one buffer: what goes to Redis is these bytes, with no string per argument and no second
// formatting by the client library (a group of publishes has hundreds of arguments).
// Plain data; safe to share once built.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

namespace livefeed {

class RespCommand {
 public:
  RespCommand() = default;
  RespCommand(std::initializer_list<std::string_view> args);

  RespCommand& Add(std::string_view arg);
  RespCommand& Add(std::int64_t number);
  RespCommand& Add(std::uint64_t number);
  // Another command's arguments, after this one's.
  RespCommand& Append(const RespCommand& rest);
  void Reserve(std::size_t bytes) { args_.reserve(bytes); }

  std::size_t count() const { return count_; }
  // The arguments' bytes (without the count).
  std::size_t size() const { return args_.size(); }
  // The first argument (the command's name), for messages.
  std::string_view name() const;
  // The whole command: the number of arguments, then the arguments.
  std::string Bytes() const;

 private:
  std::string args_;  // Each "$<length>\r\n<bytes>\r\n".
  std::size_t count_ = 0;
};

}  // namespace livefeed
