#include "store/resp_command.h"

#include <charconv>

namespace livefeed {
namespace {

// A number's decimal text, in `digits`.
template <typename Number>
std::string_view Decimal(char (&digits)[24], Number n) {
  const auto end = std::to_chars(digits, digits + sizeof digits, n).ptr;
  return std::string_view(digits, static_cast<std::size_t>(end - digits));
}

}  // namespace

RespCommand::RespCommand(std::initializer_list<std::string_view> args) {
  for (std::string_view arg : args) Add(arg);
}

RespCommand& RespCommand::Add(std::string_view arg) {
  char digits[24];
  args_.append("$").append(Decimal(digits, arg.size()));
  args_.append("\r\n").append(arg).append("\r\n");
  ++count_;
  return *this;
}

RespCommand& RespCommand::Add(std::int64_t number) {
  char digits[24];
  return Add(Decimal(digits, number));
}

RespCommand& RespCommand::Add(std::uint64_t number) {
  char digits[24];
  return Add(Decimal(digits, number));
}

RespCommand& RespCommand::Append(const RespCommand& rest) {
  args_ += rest.args_;
  count_ += rest.count_;
  return *this;
}

std::string_view RespCommand::name() const {
  // "$<length>\r\n<name>\r\n..."
  const std::size_t start = args_.find('\n');
  if (start == std::string::npos) return {};
  const std::size_t end = args_.find('\r', start + 1);
  return std::string_view(args_).substr(start + 1, end - start - 1);
}

std::string RespCommand::Bytes() const {
  char digits[24];
  std::string bytes;
  bytes.reserve(args_.size() + 24);
  bytes.append("*").append(Decimal(digits, count_)).append("\r\n").append(args_);
  return bytes;
}

}  // namespace livefeed
