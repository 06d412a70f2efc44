// How many of this node's subscribers follow a channel, over all its event loops. Each
// loop's subscribers are its own and read only on its thread, so the census asks every
// loop on its own thread (a posted task) and sums what they answer:
//   1. Count() posts one task per loop with the channels to count.
//   2. Each task counts on its loop and adds its numbers to a shared tally.
//   3. The last loop to answer calls `done` with the sums, on its own thread.
// Nothing is locked or counted on the subscribe or delivery paths: the cost is one post
// per loop per question. Loops are added before serving; then Count is safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

namespace livefeed {

class SubscriberCensus {
 public:
  // One event loop as the census sees it. `count(channel, id)` runs on the loop's thread:
  // its subscribers of `channel`; with an item id, those it had when news of that item
  // came (a poll answered with it still counts), else those it has now.
  struct Loop {
    std::function<void(std::function<void()>)> post;
    std::function<std::size_t(const std::string& channel, std::uint64_t id)> count;
  };
  // A question: a channel, and an item id or 0 for "now".
  struct Question {
    std::string channel;
    std::uint64_t id = 0;
  };
  using Counts = std::unordered_map<std::string, std::size_t>;  // By channel.
  using Counter = std::function<std::size_t(const std::string& channel)>;

  // `counts` as a function of a channel (0 for one not asked about); it refers to `counts`,
  // which must outlive it.
  static Counter Lookup(const Counts& counts) {
    return [&counts](const std::string& channel) {
      auto it = counts.find(channel);
      return it == counts.end() ? std::size_t{0} : it->second;
    };
  }

  void Add(Loop loop) { loops_.push_back(std::move(loop)); }
  std::size_t loops() const { return loops_.size(); }
  // With one loop, on its thread: its count, at once.
  std::size_t CountOnOnlyLoop(const std::string& channel, std::uint64_t id) const {
    return loops_.front().count(channel, id);
  }

  // Counts every question's channel (distinct) on every loop; `done` runs once, on the thread of
  // the last loop to answer. A loop that has stopped never answers: then neither does `done`.
  void Count(std::vector<Question> questions, std::function<void(Counts)> done) const;

 private:
  std::vector<Loop> loops_;  // Fixed before serving.
};

}  // namespace livefeed
