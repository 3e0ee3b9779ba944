#pragma once
// DANE lookups for the broker plugin, off the broker's thread. Mosquitto
// runs every plugin event on its one thread, so a DNS lookup there would
// stall every client; the plugin hands names to these threads and waits (a
// bounded time, or not at all) for the answer. Several threads, so that a
// slow zone holds up only its own names. Concurrent requests for one name
// share one lookup.

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "danemq/core/result.hpp"
#include "danemq/dane/identity_source.hpp"

namespace danemq::mosquitto_auth {

using lookup_result = result<dane::dane_identity_ptr>;

class lookup_pool {
 public:
  /// Starts `threads` threads asking `source`.
  lookup_pool(std::shared_ptr<dane::identity_source> source, unsigned threads);
  /// Stops the threads; lookups under way finish first, queued ones are answered with a failure.
  ~lookup_pool();
  lookup_pool(const lookup_pool&) = delete;
  lookup_pool& operator=(const lookup_pool&) = delete;

  /// The answer for `name` (canonical), as `source->discover(name)` gives it,
  /// once a thread has asked; the lookup under way for it when there is one.
  [[nodiscard]] std::shared_future<lookup_result> look_up(const std::string& name);

  /// Names queued or being looked up.
  [[nodiscard]] std::size_t pending() const;

 private:
  void work();

  std::shared_ptr<dane::identity_source> source_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_{false};
  std::deque<std::string> queue_;  ///< guarded by mutex_
  /// Name -> its promise and the future handed out; guarded by mutex_.
  std::map<std::string, std::pair<std::promise<lookup_result>, std::shared_future<lookup_result>>, std::less<>>
      in_flight_;
  std::vector<std::thread> threads_;
};

}  // namespace danemq::mosquitto_auth
