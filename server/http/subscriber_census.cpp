#include "http/subscriber_census.h"

#include <memory>
#include <mutex>

namespace livefeed {

void SubscriberCensus::Count(std::vector<Question> questions,
                             std::function<void(Counts)> done) const {
  struct Tally {
    std::vector<Question> questions;
    std::function<void(Counts)> done;
    std::mutex mu;
    std::vector<std::size_t> sums;  // Guarded by mu; one per question.
    std::size_t left = 0;           // Guarded by mu: loops yet to answer.
  };
  auto tally = std::make_shared<Tally>();
  tally->sums.assign(questions.size(), 0);
  tally->questions = std::move(questions);
  tally->done = std::move(done);
  tally->left = loops_.size();
  if (loops_.empty()) return tally->done({});
  for (const Loop& loop : loops_) {
    loop.post([tally, count = loop.count] {
      std::vector<std::size_t> mine;
      mine.reserve(tally->questions.size());
      for (const Question& question : tally->questions) {
        mine.push_back(count(question.channel, question.id));
      }
      {
        std::lock_guard lock(tally->mu);
        for (std::size_t i = 0; i < mine.size(); ++i) tally->sums[i] += mine[i];
        if (--tally->left > 0) return;
      }
      // The last to answer: every other loop is done with the tally.
      Counts counts;
      for (std::size_t i = 0; i < tally->questions.size(); ++i) {
        counts[tally->questions[i].channel] = tally->sums[i];
      }
      tally->done(std::move(counts));
    });
  }
}

}  // namespace livefeed
