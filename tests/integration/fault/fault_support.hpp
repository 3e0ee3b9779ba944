#pragma once
// What the fault-injection tests (fault_*_test.cpp) share on top of the
// end-to-end world (e2e_support.hpp): a small file system of our own for the
// receiver's database (tmpfs, to fill it up or make it read-only), the
// bookkeeping of what was sent against what the inbox holds, and waiting for
// a line in a service's log.

#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "support/e2e_support.hpp"

namespace danemq::e2e {

/// A world of EC P-256 identities: quicker to make than RSA-2048 ones, and
/// the faults under test do not depend on the key type.
inline world_options quick_world() {
  world_options options;
  options.key_type = identity::key_type::ec_p256;
  return options;
}

/// A tmpfs of `size` mounted on a fresh directory, unmounted on destruction.
/// Needs root (CAP_SYS_ADMIN): mounted() is false, with the reason, where the
/// test may not mount.
class small_filesystem {
 public:
  explicit small_filesystem(const std::string& size) {
    const std::string options = "size=" + size + ",mode=0755";
    if (::mount("danemq-fault", dir_.path().c_str(), "tmpfs", 0, options.c_str()) != 0) {
      why_not_ = std::string("mount -t tmpfs: ") + std::strerror(errno);
      return;
    }
    mounted_ = true;
  }
  ~small_filesystem() {
    if (mounted_) (void)::umount2(dir_.path().c_str(), MNT_DETACH);
  }
  small_filesystem(const small_filesystem&) = delete;
  small_filesystem& operator=(const small_filesystem&) = delete;

  [[nodiscard]] bool mounted() const { return mounted_; }
  [[nodiscard]] const std::string& why_not() const { return why_not_; }
  [[nodiscard]] const std::filesystem::path& path() const { return dir_.path(); }

  /// Remounts read-only (true) or read-write (false).
  [[nodiscard]] bool set_read_only(bool read_only) {
    const unsigned long flags = read_only ? MS_REMOUNT | MS_RDONLY : MS_REMOUNT;
    return ::mount("danemq-fault", dir_.path().c_str(), "tmpfs", flags, nullptr) == 0;
  }

  /// Writes a file until the file system is full; returns its path.
  std::filesystem::path fill() {
    const auto filler = dir_.path() / "filler";
    std::ofstream out(filler, std::ios::binary | std::ios::app);
    const std::string block(4096, 'x');
    while (out.write(block.data(), static_cast<std::streamsize>(block.size())) && out.flush()) {
    }
    return filler;
  }

 private:
  test::temp_dir dir_{"danemq-fault-fs"};
  bool mounted_{false};
  std::string why_not_;
};

/// What the inbox holds against what was sent: the load test's figures.
struct delivery_count {
  std::size_t sent{0};
  std::size_t in_inbox{0};    ///< distinct sent texts found
  std::size_t duplicates{0};  ///< inbox rows beyond the first for a text
  std::size_t unexpected{0};  ///< inbox rows whose text was never sent
  std::size_t lost{0};        ///< sent texts not in the inbox
  std::vector<std::string> lost_examples{};
};

inline delivery_count count_delivery(const std::vector<std::string>& sent, const std::vector<std::string>& inbox) {
  delivery_count out;
  out.sent = sent.size();
  std::map<std::string, std::size_t> seen;
  for (const auto& text : inbox) ++seen[text];
  const std::set<std::string> expected(sent.begin(), sent.end());
  for (const auto& [text, times] : seen) {
    if (!expected.contains(text)) {
      out.unexpected += times;
      continue;
    }
    ++out.in_inbox;
    out.duplicates += times - 1;
  }
  for (const auto& text : expected) {
    if (seen.contains(text)) continue;
    ++out.lost;
    if (out.lost_examples.size() < 5) out.lost_examples.push_back(text);
  }
  return out;
}

inline std::ostream& operator<<(std::ostream& out, const delivery_count& count) {
  out << "sent " << count.sent << ", in inbox " << count.in_inbox << ", duplicates " << count.duplicates
      << ", unexpected " << count.unexpected << ", lost " << count.lost;
  for (const auto& text : count.lost_examples) out << "\n  lost: " << text;
  return out;
}

/// Every sent text in the inbox exactly once, nothing else.
inline void expect_exactly_once(const std::vector<std::string>& sent, const std::vector<std::string>& inbox) {
  const auto count = count_delivery(sent, inbox);
  EXPECT_EQ(count.lost, 0u) << count;
  EXPECT_EQ(count.duplicates, 0u) << count;
  EXPECT_EQ(count.unexpected, 0u) << count;
}

/// Waits until `text` appears `times` times in the process's stderr (its log).
inline bool wait_for_log(const test::child_process& process, const std::string& text, std::chrono::milliseconds timeout,
                         std::size_t times = 1) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    const auto log = process.errors();
    std::size_t seen = 0;
    for (auto at = log.find(text); at != std::string::npos && seen < times; at = log.find(text, at + 1)) ++seen;
    if (seen >= times) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

/// Sealed messages from `from` to `to`, texts "<label> #<i>".
inline std::pair<std::vector<std::string>, std::vector<std::string>> sealed_batch(world& w, const std::string& from,
                                                                                  const std::string& to,
                                                                                  const std::string& label,
                                                                                  std::size_t count) {
  std::vector<std::string> texts;
  std::vector<std::string> wires;
  for (std::size_t i = 0; i < count; ++i) {
    texts.push_back(label + " #" + std::to_string(i));
    wires.push_back(w.seal(from, to, texts.back()));
  }
  return {texts, wires};
}

}  // namespace danemq::e2e
