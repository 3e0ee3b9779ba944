#include "pipeline.hpp"

#include <boost/asio/post.hpp>

#include <limits>
#include <vector>

#include "danemq/log/log.hpp"

namespace danemq::receiver {
namespace {

using clock = std::chrono::system_clock;
constexpr std::chrono::seconds database_retry{1};

}  // namespace

pipeline::pipeline(boost::asio::io_context& io, store::message_store& store, message_decider& processor,
                   const pipeline_options& options, outcome_handler on_outcome, pause_handler pause,
                   group_handler after_group)
    : io_(io),
      store_(store),
      processor_(processor),
      options_(options),
      on_outcome_(std::move(on_outcome)),
      pause_(std::move(pause)),
      after_group_(std::move(after_group)),
      workers_(std::max(1U, options_.workers)),
      retry_timer_(io),
      hold_timer_(io),
      committer_([this] { commit_loop(); }) {}

pipeline::~pipeline() {
  stopping_ = true;
  workers_.stop();
  workers_.join();
  stop_committer();
}

result<void> pipeline::start() {
  auto untried = store_.raw().untried_count();
  if (!untried) return untried.error();
  backlog_ = *untried;
  if (*untried > 0) spdlog::info("{} stored messages wait for processing; processing them first", *untried);
  update_pause();
  boost::asio::post(io_, [this] {
    fill();
    schedule_retry();  // messages parked by an earlier run
  });
  return ok();
}

void pipeline::notify_stored(std::size_t fresh) {
  if (fresh == 0) return;
  backlog_ += fresh;
  update_pause();
  boost::asio::post(io_, [this] { fill(); });
}

void pipeline::update_pause() {
  const auto backlog = backlog_.load();
  bool expected = paused_.load();
  if (!expected && backlog >= options_.backlog_limit) {
    if (paused_.compare_exchange_strong(expected, true)) {
      spdlog::warn("{} stored messages wait for processing: pausing reads from the broker", backlog);
      if (pause_) pause_(true);
    }
  } else if (expected && backlog < options_.backlog_limit / 2 + 1) {
    if (paused_.compare_exchange_strong(expected, false)) {
      spdlog::info("backlog down to {}: reading from the broker again", backlog);
      if (pause_) pause_(false);
    }
  }
}

void pipeline::fill() {
  if (stopping_ || !judging_) return;
  if (std::chrono::steady_clock::now() < hold_until_) return;
  next_suspect();  // one may have waited for judging to resume, or for the hold to end
  if (in_flight_.size() >= options_.in_flight) return;
  const auto now = clock::now();
  std::vector<store::pending_message> loaded;
  std::size_t retries = 0;
  // Retries first (parked messages now due, or messages whose outcome could
  // not be recorded); only when something may be due, as it scans.
  if (retry_scan_needed_) {
    const std::vector<std::int64_t> exclude(in_flight_.begin(), in_flight_.end());  // std::set: sorted
    const auto room = options_.in_flight - in_flight_.size();
    auto due = store_.raw().due_pending(now, room, exclude, loaded_up_to_);
    if (!due) return read_failed(due.error());
    retry_scan_needed_ = due->size() == room;  // more may be due
    loaded = std::move(*due);
    retries = loaded.size();
  }
  // Then what arrived since the last load (at start: the whole backlog), in order.
  const auto room = options_.in_flight - in_flight_.size() - loaded.size();
  auto newest = loaded_up_to_;
  if (room > 0) {
    auto fresh = store_.raw().pending_after(loaded_up_to_, now, room);
    if (!fresh) return read_failed(fresh.error());
    for (auto& message : *fresh) {
      newest = std::max(newest, message.raw_id);
      loaded.push_back(std::move(message));
    }
  }
  // One mark for the load: each message's processing begins (durably against
  // a crash) before any of it is parsed. A message that was being processed
  // at a crash is marked alone when its turn comes, and processed alone.
  std::vector<std::int64_t> to_mark;
  for (const auto& message : loaded) {
    if (message.unfinished == 0) to_mark.push_back(message.raw_id);
  }
  if (auto marked = store_.raw().begin_processing_all(to_mark); !marked) return read_failed(marked.error());
  loaded_up_to_ = newest;
  for (std::size_t i = 0; i < loaded.size(); ++i) {
    auto& message = loaded[i];
    in_flight_.insert(message.raw_id);
    // New arrivals are recorded in arrival order; retries whenever decided.
    const bool ordered = i >= retries;
    if (ordered) {
      std::lock_guard lock(commit_mutex_);
      undecided_.insert(message.raw_id);
    }
    if (message.unfinished > 0) {
      suspects_.push_back(queued_message{std::move(message), ordered});
      continue;
    }
    message.marked = true;
    post_work(std::move(message), ordered);
  }
  next_suspect();
}

void pipeline::post_work(store::pending_message message, bool ordered) {
  {
    std::lock_guard lock(mutex_);
    ++busy_;
    if (message.marked) unstarted_.insert(message.raw_id);
  }
  boost::asio::post(workers_, [this, ordered, message = std::move(message)] { work(message, ordered); });
}

void pipeline::next_suspect() {
  if (suspect_running_ != 0 || suspects_.empty() || stopping_ || !judging_) return;
  auto next = std::move(suspects_.front());
  suspects_.pop_front();
  suspect_running_ = next.message.raw_id;
  post_work(std::move(next.message), next.ordered);
}

void pipeline::read_failed(const failure& why) {
  spdlog::error("cannot read stored messages: {}; trying again in {} s", why.message(), database_retry.count());
  hold();
}

void pipeline::hold() {
  hold_until_ = std::chrono::steady_clock::now() + database_retry;
  retry_scan_needed_ = true;
  hold_timer_.expires_after(database_retry);
  hold_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) fill();
  });
}

void pipeline::schedule_retry() {
  // Wake up when the earliest parked message is due.
  auto next = store_.raw().next_due(clock::now());
  if (!next || !next->has_value()) return;
  // Rounded up, plus a millisecond: a timer that fired a fraction early would
  // find nothing due and, the time being past, arm no further wake-up.
  const auto wait = std::chrono::ceil<std::chrono::milliseconds>(**next - clock::now()) + std::chrono::milliseconds(1);
  retry_timer_.expires_after(wait);
  retry_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    retry_scan_needed_ = true;
    fill();
    schedule_retry();
  });
}

void pipeline::work(const store::pending_message& message, bool ordered) {
  const bool was_untried = message.attempts == 0;
  bool begun = false;
  {
    // Stopping, a marked message that is not begun stays in unstarted_: stop()
    // takes its mark back with the others'.
    std::lock_guard lock(mutex_);
    begun = !stopping_;
    if (begun) unstarted_.erase(message.raw_id);
  }
  const auto give_up = [&] {
    {
      std::lock_guard lock(commit_mutex_);
      release(message.raw_id, ordered, std::nullopt);
    }
    commit_ready_.notify_one();
    done({finished_message{message.raw_id, was_untried, fate::unchanged}});
  };
  if (!begun) return give_up();
  auto decided = processor_.decide(message, &stopping_);
  if (!decided.record) return give_up();  // cancelled: nothing to record, the message stays pending
  {
    std::lock_guard lock(commit_mutex_);
    release(message.raw_id, ordered,
            queued_decision{std::move(decided), was_untried, std::chrono::steady_clock::now()});
  }
  commit_ready_.notify_one();
}

void pipeline::release(std::int64_t raw_id, bool ordered, std::optional<queued_decision> decided) {
  if (ordered) undecided_.erase(raw_id);
  if (decided) {
    // A deferral keeps its place in nothing: the message is parked and the
    // others must not wait for its retry.
    if (ordered && decided->decided.outcome.what != fate::deferred) {
      held_.emplace(raw_id, std::move(*decided));
    } else {
      commit_queue_.push_back(std::move(*decided));
    }
  }
  const auto first_undecided = undecided_.empty() ? std::numeric_limits<std::int64_t>::max() : *undecided_.begin();
  while (!held_.empty() && held_.begin()->first < first_undecided) {
    commit_queue_.push_back(std::move(held_.begin()->second));
    held_.erase(held_.begin());
  }
}

void pipeline::release_overdue() {
  const auto due = std::chrono::steady_clock::now() - options_.order_wait;
  while (!held_.empty() && held_.begin()->second.decided_at <= due) {
    commit_queue_.push_back(std::move(held_.begin()->second));
    held_.erase(held_.begin());
  }
}

void pipeline::commit_loop() {
  // Group commit: every decision waiting is recorded in one transaction, so
  // that the per-transaction cost is shared while the workers go on.
  constexpr std::size_t max_group = 256;
  for (;;) {
    std::vector<queued_decision> group;
    {
      std::unique_lock lock(commit_mutex_);
      for (;;) {
        release_overdue();
        if (commit_exit_ || !commit_queue_.empty()) break;
        if (held_.empty()) {
          commit_ready_.wait(lock);
        } else {
          commit_ready_.wait_until(lock, held_.begin()->second.decided_at + options_.order_wait);
        }
      }
      if (commit_queue_.empty()) return;  // exiting, nothing left
      while (!commit_queue_.empty() && group.size() < max_group) {
        group.push_back(std::move(commit_queue_.front()));
        commit_queue_.pop_front();
      }
    }
    std::vector<decision> decisions;
    decisions.reserve(group.size());
    for (auto& queued : group) decisions.push_back(std::move(queued.decided));
    const auto outcomes = processor_.record(std::move(decisions));
    std::vector<finished_message> finished;
    finished.reserve(outcomes.size());
    for (std::size_t i = 0; i < outcomes.size(); ++i) {
      if (on_outcome_) on_outcome_(outcomes[i]);
      finished.push_back(finished_message{outcomes[i].raw_id, group[i].was_untried, outcomes[i].what});
    }
    if (after_group_ && !outcomes.empty()) after_group_();
    done(std::move(finished));
  }
}

void pipeline::done(std::vector<finished_message> messages) {
  if (messages.empty()) return;
  {
    std::lock_guard lock(mutex_);
    for (const auto& one : messages) {
      switch (one.what) {
        case fate::accepted: ++stats_.accepted; break;
        case fate::quarantined: ++stats_.quarantined; break;
        case fate::deferred: ++stats_.deferred; break;
        case fate::unchanged: ++stats_.unchanged; break;
        case fate::receipt: ++stats_.receipts; break;
      }
    }
  }
  const auto count = messages.size();
  boost::asio::post(io_, [this, messages = std::move(messages)] { finished(messages); });
  {
    std::lock_guard lock(mutex_);
    busy_ -= count;
  }
  idle_.notify_all();
}

void pipeline::stop_committer() {
  {
    std::lock_guard lock(commit_mutex_);
    commit_exit_ = true;
  }
  commit_ready_.notify_all();
  if (committer_.joinable()) committer_.join();
}

void pipeline::finished(const std::vector<finished_message>& messages) {
  bool refused = false;
  bool deferred = false;
  for (const auto& one : messages) {
    in_flight_.erase(one.raw_id);
    if (one.raw_id == suspect_running_) suspect_running_ = 0;
    if (one.was_untried && one.what != fate::unchanged) {
      backlog_ -= std::min<std::size_t>(backlog_.load(), 1);
      update_pause();
    }
    refused = refused || one.what == fate::unchanged;
    deferred = deferred || one.what == fate::deferred;
  }
  if (stopping_) return;
  if (refused) {
    // The database refused an outcome (disk full?): do not spin on it (the
    // next suspect, too, waits for the fill after the hold).
    hold();
    return;
  }
  next_suspect();
  if (deferred) schedule_retry();
  // Loaded again once half the room is free, not at every finished message:
  // one query loads many, while the other half keeps the workers busy.
  if (in_flight_.size() <= options_.in_flight / 2) fill();
}

void pipeline::rescan() {
  boost::asio::post(io_, [this] {
    retry_scan_needed_ = true;
    fill();
    schedule_retry();
  });
}

void pipeline::set_judging(bool on) {
  if (judging_.exchange(on) == on || !on) return;
  boost::asio::post(io_, [this] {
    retry_scan_needed_ = true;
    fill();
    schedule_retry();
  });
}

bool pipeline::stop(std::chrono::milliseconds grace) {
  stopping_ = true;
  retry_timer_.cancel();
  hold_timer_.cancel();
  std::unique_lock lock(mutex_);
  const bool all_done = idle_.wait_for(lock, grace, [this] { return busy_ == 0; });
  // Loaded and marked, never begun: not tries that crashed.
  const std::vector<std::int64_t> unstarted(unstarted_.begin(), unstarted_.end());
  unstarted_.clear();
  lock.unlock();
  if (auto taken_back = store_.raw().abandon_processing_all(unstarted); !taken_back) {
    spdlog::warn("{} messages not begun keep a processing mark: {}", unstarted.size(), taken_back.error().message());
  }
  if (all_done) {
    workers_.stop();
    workers_.join();
    stop_committer();
  }
  return all_done;
}

pipeline_statistics pipeline::statistics() const {
  std::lock_guard lock(mutex_);
  auto copy = stats_;
  copy.backlog = backlog_.load();
  copy.paused = paused_.load();
  return copy;
}

}  // namespace danemq::receiver
