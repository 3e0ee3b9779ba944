#include "pipeline.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <functional>
#include <future>
#include <thread>

#include "support/process.hpp"

namespace danemq::receiver {
namespace {

using namespace std::chrono_literals;

/// Polls `done` until it holds or a generous deadline passes (a loaded
/// two-core machine is slow, never wrong).
template <class Predicate>
bool eventually(Predicate done) {
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

/// Decides every message "quarantined" and records that in the real store.
/// Messages from `held_from` on wait at a gate until it opens, or until the
/// pipeline cancels them (it is stopping): then, as the real processor does,
/// there is nothing to record.
class fake_decider final : public message_decider {
 public:
  explicit fake_decider(store::message_store& store) : store_(store) {}

  decision decide(const store::pending_message& message, const std::atomic<bool>* cancelled) override {
    // Messages marked alone (not by their load), counted while in here.
    struct unmarked_count {
      fake_decider& self;
      bool counted;
      unmarked_count(fake_decider& decider, bool unmarked) : self(decider), counted(unmarked) {
        raise(self.most_deciding_, ++self.all_deciding_);
        if (counted) raise(self.most_unmarked_deciding_, ++self.unmarked_deciding_);
      }
      ~unmarked_count() {
        --self.all_deciding_;
        if (counted) --self.unmarked_deciding_;
      }
      static void raise(std::atomic<int>& most, int now) {
        int seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
      }
      unmarked_count(const unmarked_count&) = delete;
      unmarked_count& operator=(const unmarked_count&) = delete;
    } in_here(*this, !message.marked);
    std::unique_lock lock(mutex_);
    ++deciding_;
    ++loaded_;
    max_loaded_ = std::max(max_loaded_, loaded_);
    seen_.push_back(seen_message{message.raw_id, message.unfinished, message.marked});
    while (message.raw_id >= held_from_ && !open_ && !(cancelled != nullptr && cancelled->load())) {
      changed_.wait_for(lock, 2ms);  // the pipeline's cancel flag does not notify
    }
    --deciding_;
    const auto slow_until = slow_until_;
    const auto defer_id = defer_id_;
    lock.unlock();
    // The earlier a message arrived, the longer it takes: without ordering,
    // the later ones would be recorded first.
    if (message.raw_id < slow_until)
      std::this_thread::sleep_for(std::chrono::milliseconds(slow_until - message.raw_id));
    lock.lock();
    decision out;
    out.outcome.raw_id = message.raw_id;
    out.outcome.attempts = message.attempts;
    if (message.raw_id == defer_id) {
      out.outcome.what = fate::deferred;
      store::outcome_record record;
      record.what = store::outcome_record::kind::defer;
      record.raw_id = message.raw_id;
      record.attempts = message.attempts + 1;
      record.next_attempt_at = std::chrono::system_clock::now() + 1h;
      record.first_failure_at = std::chrono::system_clock::now();
      record.reason = store::refusal{"jose", 15, "fake DNS timeout"};
      out.record = std::move(record);
      return out;
    }
    if (message.raw_id >= held_from_ && !open_) {
      --loaded_;
      ++cancelled_;
      return out;  // cancelled: unchanged, nothing to record
    }
    out.outcome.what = fate::quarantined;
    out.outcome.reason = fail(store::errc::not_found, "fake refusal");
    store::outcome_record record;
    record.what = store::outcome_record::kind::quarantine;
    record.raw_id = message.raw_id;
    record.reason = store::refusal::of(*out.outcome.reason);
    out.record = std::move(record);
    return out;
  }

  std::vector<processing_outcome> record(std::vector<decision> decisions) override {
    std::vector<store::outcome_record> records;
    std::vector<processing_outcome> outcomes;
    for (auto& one : decisions) {
      if (one.record) records.push_back(*one.record);
      outcomes.push_back(one.outcome);
    }
    auto stored = store_.record(records);
    std::lock_guard lock(mutex_);
    for (auto& outcome : outcomes) {
      if (!stored) {
        outcome.what = fate::unchanged;
      } else {
        committed_.push_back(outcome.raw_id);
      }
      --loaded_;
    }
    return outcomes;
  }

  void hold_from(std::int64_t raw_id) {
    std::lock_guard lock(mutex_);
    held_from_ = raw_id;
  }
  /// Messages below `raw_id` take raw_id - id milliseconds to decide.
  void slow_until(std::int64_t raw_id) {
    std::lock_guard lock(mutex_);
    slow_until_ = raw_id;
  }
  /// Decides `raw_id` deferred (a temporary DNS failure) for an hour.
  void defer(std::int64_t raw_id) {
    std::lock_guard lock(mutex_);
    defer_id_ = raw_id;
  }
  void open() {
    std::lock_guard lock(mutex_);
    open_ = true;
    changed_.notify_all();
  }
  [[nodiscard]] std::vector<std::int64_t> committed() const {
    std::lock_guard lock(mutex_);
    return committed_;
  }
  [[nodiscard]] int deciding() const {
    std::lock_guard lock(mutex_);
    return deciding_;
  }
  [[nodiscard]] int max_loaded() const {
    std::lock_guard lock(mutex_);
    return max_loaded_;
  }
  /// A message as decide() got it.
  struct seen_message {
    std::int64_t raw_id{0};
    int unfinished{0};
    bool marked{false};
  };
  [[nodiscard]] std::vector<seen_message> seen() const {
    std::lock_guard lock(mutex_);
    return seen_;
  }

 private:
  store::message_store& store_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::int64_t held_from_{0};  // 0: every message is held until open()
  bool open_{false};
  int deciding_{0};
  int loaded_{0};  // handed to decide() and not recorded or cancelled yet
  int max_loaded_{0};
  int cancelled_{0};
  std::int64_t slow_until_{0};
  std::int64_t defer_id_{0};
  std::vector<std::int64_t> committed_;
  std::vector<seen_message> seen_;
  std::atomic<int> unmarked_deciding_{0};
  std::atomic<int> all_deciding_{0};

 public:
  std::atomic<int> most_unmarked_deciding_{0};
  std::atomic<int> most_deciding_{0};
};

class Pipeline : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = store::message_store::open(dir.path() / "receiver.db");
    ASSERT_TRUE(opened);
    db.emplace(std::move(*opened));
    decider = std::make_unique<fake_decider>(*db);
    io_thread = std::thread([this] { io.run(); });
  }

  void TearDown() override {
    if (line) {
      on_io([this] { (void)line->stop(60s); });
      on_io([this] { line.reset(); });
    }
    work.reset();
    io_thread.join();
  }

  /// Runs `task` on the io thread (where the daemon drives the pipeline) and waits for it.
  void on_io(const std::function<void()>& task) {
    std::promise<void> done;
    boost::asio::post(io, [&] {
      task();
      done.set_value();
    });
    done.get_future().wait();
  }

  void start(const pipeline_options& options) {
    on_io([&] {
      line = std::make_unique<pipeline>(
          io, *db, *decider, options, [](const processing_outcome&) {},
          [this](bool paused) {
            std::lock_guard lock(pauses_mutex);
            pauses.push_back(paused);
          });
      ASSERT_TRUE(line->start());
    });
  }

  /// Stores `count` distinct messages; returns their raw ids.
  std::vector<std::int64_t> store_messages(std::size_t count) {
    std::vector<store::incoming_message> incoming;
    for (std::size_t i = 0; i < count; ++i) {
      const auto text = "message " + std::to_string(stored_so_far++);
      incoming.push_back(
          store::incoming_message{"bob.example", {text.begin(), text.end()}, std::chrono::system_clock::now()});
    }
    auto stored = db->raw().store_raw(incoming);
    EXPECT_TRUE(stored);
    std::vector<std::int64_t> ids;
    if (stored) {
      for (const auto& one : *stored) ids.push_back(one.raw_id);
    }
    return ids;
  }

  std::vector<bool> pause_calls() {
    std::lock_guard lock(pauses_mutex);
    return pauses;
  }

  /// Each pending message's unfinished processing marks, in arrival order.
  std::vector<int> marks() {
    std::vector<int> out;
    auto loaded = db->raw().pending_after(0, std::chrono::system_clock::now() + 1h, 1000);
    EXPECT_TRUE(loaded);
    if (loaded) {
      for (const auto& one : *loaded) out.push_back(one.unfinished);
    }
    return out;
  }

  std::size_t pending() {
    auto count = db->raw().pending_count();
    EXPECT_TRUE(count);
    return count ? *count : 0;
  }

  test::temp_dir dir{"danemq-pipeline"};
  std::optional<store::message_store> db;
  std::unique_ptr<fake_decider> decider;
  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{io.get_executor()};
  std::thread io_thread;
  std::unique_ptr<pipeline> line;
  std::mutex pauses_mutex;
  std::vector<bool> pauses;
  std::size_t stored_so_far{0};
};

TEST_F(Pipeline, CommitsTheStoredBacklogAndThenNewArrivalsInArrivalOrder) {
  auto expected = store_messages(10);
  decider->open();
  start(pipeline_options{.workers = 1, .in_flight = 4, .backlog_limit = 1000});
  ASSERT_TRUE(eventually([&] { return decider->committed().size() == 10; }));

  const auto later = store_messages(5);
  expected.insert(expected.end(), later.begin(), later.end());
  line->notify_stored(later.size());
  ASSERT_TRUE(eventually([&] { return decider->committed().size() == 15; }));

  EXPECT_TRUE(std::is_sorted(expected.begin(), expected.end()));
  EXPECT_EQ(decider->committed(), expected);
  EXPECT_EQ(pending(), 0U);
}

// Reproduced: three messages were printed and listed 3, 2, 1 when the
// workers finished them in that order.
TEST_F(Pipeline, RecordsInArrivalOrderAlthoughTheWorkersFinishOutOfOrder) {
  decider->open();
  const auto ids = store_messages(40);
  decider->slow_until(ids.back() + 1);
  start(pipeline_options{.workers = 8, .in_flight = 16, .backlog_limit = 1000});
  ASSERT_TRUE(eventually([&] { return decider->committed().size() == ids.size(); }));
  EXPECT_EQ(decider->committed(), ids);
}

TEST_F(Pipeline, ADeferredMessageDoesNotHoldBackTheOthers) {
  decider->open();
  const auto ids = store_messages(20);
  decider->defer(ids.front());
  decider->slow_until(ids.back() + 1);
  start(pipeline_options{.workers = 8, .in_flight = 32, .backlog_limit = 1000});
  ASSERT_TRUE(eventually([&] { return decider->committed().size() == ids.size(); }));
  auto committed = decider->committed();
  EXPECT_EQ(committed.front(), ids.front()) << "the deferral is recorded when decided";
  committed.erase(committed.begin());
  EXPECT_EQ(committed, std::vector<std::int64_t>(ids.begin() + 1, ids.end()));
  EXPECT_EQ(pending(), 1u) << "the deferred one waits for its retry";
}

TEST_F(Pipeline, LoadsNoMoreThanItsInFlightBoundAndPausesReadingWhileTheBacklogIsFull) {
  const pipeline_options options{.workers = 4, .in_flight = 2, .backlog_limit = 6};
  start(options);
  const auto ids = store_messages(8);
  line->notify_stored(ids.size());
  // Back-pressure: reading from the broker pauses at once; nothing is dropped.
  ASSERT_TRUE(eventually([&] { return !pause_calls().empty(); }));
  EXPECT_EQ(pause_calls(), std::vector<bool>{true});
  ASSERT_TRUE(eventually([&] { return decider->deciding() == 2; }));

  decider->open();
  ASSERT_TRUE(eventually([&] { return decider->committed().size() == ids.size(); }));
  // Resumed once the backlog fell to half the limit.
  ASSERT_TRUE(eventually([&] { return pause_calls().size() == 2; }));
  EXPECT_EQ(pause_calls(), (std::vector<bool>{true, false}));
  EXPECT_LE(decider->max_loaded(), static_cast<int>(options.in_flight));
  auto committed = decider->committed();
  std::sort(committed.begin(), committed.end());
  EXPECT_EQ(committed, ids);  // each once
  EXPECT_EQ(pending(), 0U);
}

TEST_F(Pipeline, RunsTheGroupHandlerOnceAfterTheOutcomesOfEachTransaction) {
  decider->open();
  const auto ids = store_messages(50);
  std::mutex mutex;
  std::size_t outcomes = 0;
  std::vector<std::size_t> outcomes_at_group;  // outcomes seen when each group handler ran
  on_io([&] {
    line = std::make_unique<pipeline>(
        io, *db, *decider, pipeline_options{.workers = 4, .in_flight = 16, .backlog_limit = 1000},
        [&](const processing_outcome&) {
          std::lock_guard lock(mutex);
          ++outcomes;
        },
        [](bool) {},
        [&] {
          std::lock_guard lock(mutex);
          outcomes_at_group.push_back(outcomes);
        });
    ASSERT_TRUE(line->start());
  });
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lock(mutex);
    return !outcomes_at_group.empty() && outcomes_at_group.back() == ids.size();
  }));
  on_io([this] { (void)line->stop(60s); });
  on_io([this] { line.reset(); });
  std::lock_guard lock(mutex);
  // One call a transaction, each after at least one new outcome: the last
  // printed line is flushed with its group, and no group is flushed twice.
  EXPECT_LE(outcomes_at_group.size(), ids.size());
  EXPECT_GT(outcomes_at_group.front(), 0U);
  EXPECT_EQ(std::adjacent_find(outcomes_at_group.begin(), outcomes_at_group.end(), std::greater_equal<>()),
            outcomes_at_group.end());
}

TEST_F(Pipeline, LoadsAgainAtHalfTheRoomAlsoWithRoomForOne) {
  decider->open();
  const auto ids = store_messages(5);
  start(pipeline_options{.workers = 2, .in_flight = 1, .backlog_limit = 1000});
  ASSERT_TRUE(eventually([&] { return decider->committed().size() == ids.size(); }));
  EXPECT_EQ(decider->committed(), ids);
  EXPECT_EQ(decider->max_loaded(), 1);
}

TEST_F(Pipeline, StopWithWorkInFlightLosesNothingAndCommitsNothingTwice) {
  const auto ids = store_messages(8);
  decider->hold_from(ids[3]);  // the first three go through, the rest wait at the gate
  start(pipeline_options{.workers = 2, .in_flight = 4, .backlog_limit = 1000});
  ASSERT_TRUE(eventually([&] { return decider->committed().size() == 3 && decider->deciding() == 2; }));

  bool all_finished = false;
  on_io([&] { all_finished = line->stop(60s); });
  EXPECT_TRUE(all_finished);  // the held ones were cancelled, not abandoned
  on_io([&] { line.reset(); });
  auto first = decider->committed();
  std::sort(first.begin(), first.end());  // two workers: any order
  EXPECT_EQ(first, std::vector<std::int64_t>(ids.begin(), ids.begin() + 3));
  EXPECT_EQ(pending(), ids.size() - 3);  // the rest is still stored, pending

  // The next start processes what was left, each message once.
  decider->open();
  start(pipeline_options{.workers = 2, .in_flight = 4, .backlog_limit = 1000});
  ASSERT_TRUE(eventually([&] { return decider->committed().size() >= ids.size(); }));
  on_io([&] { (void)line->stop(60s); });
  auto committed = decider->committed();
  EXPECT_EQ(committed.size(), ids.size());
  std::sort(committed.begin(), committed.end());
  EXPECT_EQ(committed, ids);
  EXPECT_EQ(pending(), 0U);
}

TEST_F(Pipeline, ALoadMarksItsMessagesBegunAndAStopTakesBackTheMarksOfThoseNeverBegun) {
  const auto ids = store_messages(6);
  // Every message waits at the gate: one worker holds the first, the others wait their turn.
  start(pipeline_options{.workers = 1, .in_flight = 6, .backlog_limit = 1000});
  ASSERT_TRUE(eventually([&] { return decider->deciding() == 1; }));
  EXPECT_EQ(marks(), std::vector<int>(6, 1)) << "marked by the load, before any is parsed";
  const auto first = decider->seen();
  ASSERT_EQ(first.size(), 1u);
  EXPECT_TRUE(first[0].marked) << "decide() does not mark it again";
  EXPECT_EQ(first[0].unfinished, 0);

  bool all_finished = false;
  on_io([&] { all_finished = line->stop(60s); });
  EXPECT_TRUE(all_finished);
  on_io([&] { line.reset(); });
  // The one begun keeps its mark (the real decider takes it back itself when
  // cancelled; this one does not): a stop is no crash for the five never begun.
  EXPECT_EQ(marks(), (std::vector<int>{1, 0, 0, 0, 0, 0}));
}

// Reproduced with the marks of a whole load: a message that crashed the
// receiver three times would have taken every message loaded with it to the
// quarantine. Those that were being processed at a crash go one at a time.
TEST_F(Pipeline, MessagesBeingProcessedAtACrashAreProcessedOneAtATimeAndTheOthersAsUsual) {
  const auto ids = store_messages(10);
  ASSERT_TRUE(db->raw().begin_processing_all(std::vector<std::int64_t>(ids.begin(), ids.begin() + 4)));
  ASSERT_TRUE(db->raw().begin_processing_all(std::vector<std::int64_t>{ids[1]}));
  decider->open();
  decider->slow_until(ids.back() + 20);  // long enough for the workers to overlap
  start(pipeline_options{.workers = 4, .in_flight = 16, .backlog_limit = 1000});
  ASSERT_TRUE(eventually([&] { return decider->committed().size() == ids.size(); }));
  EXPECT_EQ(decider->committed(), ids) << "in arrival order all the same";

  int suspects = 0;
  for (const auto& one : decider->seen()) {
    const auto index = std::find(ids.begin(), ids.end(), one.raw_id) - ids.begin();
    if (index < 4) {
      ++suspects;
      EXPECT_FALSE(one.marked) << "#" << index << " is marked alone, by decide()";
      EXPECT_EQ(one.unfinished, index == 1 ? 2 : 1) << "#" << index;
    } else {
      EXPECT_TRUE(one.marked) << "#" << index << " was marked with its load";
      EXPECT_EQ(one.unfinished, 0);
    }
  }
  EXPECT_EQ(suspects, 4);
  EXPECT_EQ(decider->most_unmarked_deciding_.load(), 1) << "never two of them at once";
  EXPECT_GT(decider->most_deciding_.load(), 1) << "the others still go to several workers at once";
}

}  // namespace
}  // namespace danemq::receiver
