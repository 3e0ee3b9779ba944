#include "danemq/runtime/service_runtime.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <thread>

namespace danemq::runtime {
namespace {

using namespace std::chrono_literals;

TEST(ServiceRuntime, RequestStopRunsTheStopHandlerOnTheIoThreadAndRunReturnsOnceTheServiceFinished) {
  service_runtime runtime(10s);
  std::thread::id handler_thread;
  int told = -1;
  runtime.on_stop([&](int signal) {
    handler_thread = std::this_thread::get_id();
    told = signal;
    EXPECT_TRUE(runtime.stopping());
    EXPECT_GT(runtime.deadline(), std::chrono::steady_clock::now());
    runtime.finish();
  });
  std::thread other([&] { runtime.request_stop(); });
  EXPECT_TRUE(runtime.run());
  other.join();
  EXPECT_EQ(handler_thread, std::this_thread::get_id());
  EXPECT_EQ(told, 0);
}

TEST(ServiceRuntime, SigtermBeginsAStopWithItsSignalNumberEvenWhenItCameBeforeRun) {
  service_runtime runtime(10s);
  int told = -1;
  runtime.on_stop([&](int signal) {
    told = signal;
    runtime.finish();
  });
  ASSERT_EQ(::kill(::getpid(), SIGTERM), 0);
  EXPECT_TRUE(runtime.run());
  EXPECT_EQ(told, SIGTERM);
}

TEST(ServiceRuntime, SigintBeginsAStopToo) {
  service_runtime runtime(10s);
  int told = -1;
  runtime.on_stop([&](int signal) {
    told = signal;
    runtime.finish();
  });
  boost::asio::post(runtime.io(), [] { ASSERT_EQ(::kill(::getpid(), SIGINT), 0); });
  EXPECT_TRUE(runtime.run());
  EXPECT_EQ(told, SIGINT);
}

TEST(ServiceRuntime, AStopBeginsOnlyOnce) {
  service_runtime runtime(10s);
  int stops = 0;
  runtime.on_stop([&](int) { ++stops; });
  boost::asio::post(runtime.io(), [&] {
    runtime.begin_stop();
    runtime.begin_stop(SIGTERM);
    runtime.request_stop();
    boost::asio::post(runtime.io(), [&] { runtime.finish(); });
  });
  EXPECT_TRUE(runtime.run());
  EXPECT_EQ(stops, 1);
}

TEST(ServiceRuntime, AStopThatOutlastsItsGraceRunsTheDeadlineHandlerAndRunReturnsFalse) {
  service_runtime runtime(20ms);
  bool deadline_passed = false;
  runtime.on_stop([](int) {}, [&] { deadline_passed = true; });
  runtime.request_stop();
  EXPECT_FALSE(runtime.run());
  EXPECT_TRUE(deadline_passed);
}

TEST(ServiceRuntime, TheDeadlineHandlerDoesNotRunWhenTheServiceFinishedInTime) {
  service_runtime runtime(20ms);
  bool deadline_passed = false;
  boost::asio::steady_timer later(runtime.io());
  runtime.on_stop([&](int) { runtime.finish(); }, [&] { deadline_passed = true; });
  runtime.request_stop();
  EXPECT_TRUE(runtime.run());
  // The grace timer was cancelled: running the context again finds nothing.
  runtime.io().restart();
  later.expires_after(50ms);
  later.async_wait([](const boost::system::error_code&) {});
  runtime.io().run();
  EXPECT_FALSE(deadline_passed);
}

TEST(ServiceRuntime, IgnoresSigpipe) {
  const service_runtime runtime(1s);
  struct sigaction current {};
  ASSERT_EQ(::sigaction(SIGPIPE, nullptr, &current), 0);
  EXPECT_EQ(current.sa_handler, SIG_IGN);
}

}  // namespace
}  // namespace danemq::runtime
