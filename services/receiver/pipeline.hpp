#pragma once
// The receiver's processing pipeline on Boost.Asio. The network thread only
// stores raw messages and calls notify_stored(); the pipeline, on the
// io_context's thread, loads due pending messages from the database — the
// backlog left by a restart first, in arrival order — into a bounded set in
// flight and hands each to a pool of workers, so that one slow DNS lookup
// holds up one worker and not the others. Parked messages (temporary
// failures) come back when their retry time is due. A committer thread
// records the workers' decisions, many per transaction, in arrival order: a
// reorder buffer keyed by raw id holds a new message's decision until every
// earlier new message is decided, so that the inbox and the printed stream
// follow arrival although the workers finish in any order. A deferral (a
// temporary DNS failure) and a retry hold back nothing. When too many stored
// messages wait, reading from the broker is paused (back-pressure), never
// dropped.

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "message_processor.hpp"

namespace danemq::receiver {

struct pipeline_options {
  unsigned workers{8};
  std::size_t in_flight{128};       ///< messages loaded into memory at once
  std::size_t backlog_limit{2048};  ///< untried stored messages at which reading pauses (resumes at half)
  /// Longest a decision waits for an earlier message still being decided (a
  /// slow DNS lookup): order is kept, but one slow sender does not stall the
  /// others for longer than this.
  std::chrono::milliseconds order_wait{std::chrono::seconds(5)};
};

struct pipeline_statistics {
  std::uint64_t accepted{0};
  std::uint64_t receipts{0};  ///< verified receipts for our messages
  std::uint64_t quarantined{0};
  std::uint64_t deferred{0};
  std::uint64_t unchanged{0};
  std::size_t backlog{0};  ///< stored messages never processed yet
  bool paused{false};
};

class pipeline {
 public:
  using outcome_handler = std::function<void(const processing_outcome&)>;
  using pause_handler = std::function<void(bool paused)>;
  using group_handler = std::function<void()>;

  /// `on_outcome` runs on the committer thread after the outcome is recorded,
  /// in arrival order; `after_group`, when given, after the outcomes of one
  /// transaction (e.g. to flush what they printed, once for the group);
  /// `pause` is told when reading from the broker must pause or may resume.
  pipeline(boost::asio::io_context& io, store::message_store& store, message_decider& processor,
           const pipeline_options& options, outcome_handler on_outcome, pause_handler pause,
           group_handler after_group = {});
  ~pipeline();
  pipeline(const pipeline&) = delete;
  pipeline& operator=(const pipeline&) = delete;

  /// Counts the stored backlog and starts loading it. Failure: the database's.
  [[nodiscard]] result<void> start();
  /// From any thread (the network thread): `fresh` new messages were stored.
  void notify_stored(std::size_t fresh);
  /// From any thread: looks again for due retries (a safety net the daemon
  /// pulls periodically; the retry timer normally does it).
  void rescan();
  /// From any thread: while off, stored messages are kept and none is
  /// judged (the system clock cannot be trusted yet: clock_status.hpp);
  /// turned on again, the backlog and the due retries are loaded. On by default.
  void set_judging(bool on);
  /// Stops loading; waits up to `grace` for the messages being processed.
  /// True when all finished; false when some were still busy (they stay
  /// pending in the database and are processed at the next start).
  [[nodiscard]] bool stop(std::chrono::milliseconds grace);

  [[nodiscard]] pipeline_statistics statistics() const;

 private:
  // A decision of a worker waiting for the committer thread.
  struct queued_decision {
    decision decided;
    bool was_untried{false};
    std::chrono::steady_clock::time_point decided_at{};
  };

  void fill();
  /// On the io thread: hands a loaded message to the workers.
  void post_work(store::pending_message message, bool ordered);
  /// On the io thread: hands the next suspect to the workers when none is busy.
  void next_suspect();
  void read_failed(const failure& why);
  /// Loads nothing for a while after the database failed, then scans again.
  void hold();
  void schedule_retry();
  void work(const store::pending_message& message, bool ordered);
  /// With commit_mutex_: `raw_id` is decided (`decided`, or nothing to
  /// record); queues it and every held decision no undecided message precedes.
  void release(std::int64_t raw_id, bool ordered, std::optional<queued_decision> decided);
  /// With commit_mutex_: queues the held decisions that waited order_wait.
  void release_overdue();
  void commit_loop();
  // A message whose outcome is known (recorded, or given up for now).
  struct finished_message {
    std::int64_t raw_id{0};
    bool was_untried{false};
    fate what{fate::unchanged};
  };
  /// From a worker or the committer: counts the messages and hands them to
  /// the io thread in one post (a transaction's worth at a time).
  void done(std::vector<finished_message> messages);
  void stop_committer();
  /// On the io thread: takes them out of flight and loads more.
  void finished(const std::vector<finished_message>& messages);
  void update_pause();

  boost::asio::io_context& io_;
  store::message_store& store_;
  message_decider& processor_;
  pipeline_options options_;
  outcome_handler on_outcome_;
  pause_handler pause_;
  group_handler after_group_;
  boost::asio::thread_pool workers_;
  boost::asio::steady_timer retry_timer_;  // the next parked message is due
  boost::asio::steady_timer hold_timer_;   // the database failed: try again later

  // io thread only
  std::set<std::int64_t> in_flight_;
  // Loaded messages that were being processed when the receiver crashed or
  // was killed, processed one at a time so that a message that crashes it
  // collects the marks and the others do not (pending_message::unfinished).
  struct queued_message {
    store::pending_message message;
    bool ordered{false};
  };
  std::deque<queued_message> suspects_;
  std::int64_t suspect_running_{0};                     // raw id, 0 when none
  std::int64_t loaded_up_to_{0};                        // highest raw id ever loaded: newer ones are new arrivals
  bool retry_scan_needed_{false};                       // parked or refused messages may be due
  std::chrono::steady_clock::time_point hold_until_{};  // after a database failure

  std::atomic<bool> stopping_{false};
  std::atomic<bool> judging_{true};
  std::atomic<std::size_t> backlog_{0};
  std::atomic<bool> paused_{false};
  mutable std::mutex mutex_;
  std::condition_variable idle_;
  std::size_t busy_{0};               // handed to the workers and not yet recorded (or given up)
  std::set<std::int64_t> unstarted_;  // marked by the load, not begun by a worker
  pipeline_statistics stats_;

  std::mutex commit_mutex_;
  std::condition_variable commit_ready_;
  std::deque<queued_decision> commit_queue_;
  // The reorder buffer: new messages handed to the workers and not decided
  // yet, and decisions held until every earlier one of those is decided.
  std::set<std::int64_t> undecided_;
  std::map<std::int64_t, queued_decision> held_;
  bool commit_exit_{false};
  std::thread committer_;  // last: started once everything above exists
};

}  // namespace danemq::receiver
