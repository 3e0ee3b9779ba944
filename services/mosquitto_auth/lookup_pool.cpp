#include "lookup_pool.hpp"

#include <exception>
#include <system_error>

namespace danemq::mosquitto_auth {

lookup_pool::lookup_pool(std::shared_ptr<dane::identity_source> source, unsigned threads) : source_(std::move(source)) {
  threads_.reserve(threads);
  for (unsigned i = 0; i < threads; ++i) threads_.emplace_back([this] { work(); });
}

lookup_pool::~lookup_pool() {
  {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& thread : threads_) thread.join();
  for (auto& [name, entry] : in_flight_) {
    entry.first.set_value(fail(std::make_error_code(std::errc::operation_canceled), "the plugin is stopping"));
  }
}

std::shared_future<lookup_result> lookup_pool::look_up(const std::string& name) {
  const std::lock_guard lock(mutex_);
  if (const auto found = in_flight_.find(name); found != in_flight_.end()) return found->second.second;
  std::promise<lookup_result> promise;
  std::shared_future<lookup_result> future = promise.get_future().share();
  in_flight_.emplace(name, std::make_pair(std::move(promise), future));
  queue_.push_back(name);
  wake_.notify_one();
  return future;
}

std::size_t lookup_pool::pending() const {
  const std::lock_guard lock(mutex_);
  return in_flight_.size();
}

void lookup_pool::work() {
  for (;;) {
    std::string name;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      name = std::move(queue_.front());
      queue_.pop_front();
    }
    lookup_result answer = fail(std::make_error_code(std::errc::io_error), "lookup failed");
    try {
      answer = source_->discover(name);
    } catch (const std::exception& broken) {
      answer = fail(std::make_error_code(std::errc::io_error), std::string("lookup failed: ") + broken.what());
    }
    const std::lock_guard lock(mutex_);
    const auto found = in_flight_.find(name);
    found->second.first.set_value(std::move(answer));
    in_flight_.erase(found);
  }
}

}  // namespace danemq::mosquitto_auth
