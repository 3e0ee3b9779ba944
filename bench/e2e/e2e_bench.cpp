// End to end: messages/s and latency (p50, p99) from a publish by alice to
// bob's danemq-receiver printing `<sender> says: ...`, through a local
// Mosquitto, with real DNSSEC-signed DNS (tests/support rigs); the
// receiver's peak RSS; and, in the same run, the raw single-core rate of the
// private-key operation the receiver cannot avoid per message (RSA-2048
// OAEP-SHA256 decryption; for P-256 the ECDH derivation).
//
// Each message goes through everything: MQTT, the raw store (fsynced before
// the PUBACK), the worker pipeline, decryption, DANE (cached after the first
// lookup), signature, replay check, the inbox commit, stdout.
//
// Also in the same run: the receiver's peak RSS with the metrics endpoint on
// (what it costs), the receiver's rate on messages that ask for a receipt
// (a second private-key operation per message, on each side), and a one-off
// `danemq-sender send` next to a one-off `mosquitto_pub -q 1` to the same
// broker (median wall time and CPU time of the process, alternated).
//
// Then the replay memory: the same throughput with bob's replay memory empty
// and holding 1 M live (sender, jti) pairs (written beforehand through the
// store), one after the other in this run, and the disk bytes per pair.
//
// Usage: e2e_bench [messages for throughput, default 3000] [latency samples, default 300]
//        [replay memory pairs for the comparison, default 1000000; 0: skip it]
// DATA_DIR=<dir> puts the receiver's database there (default: $TMPDIR);
// E2E_BENCH_ONE_OFF=<n>: one-off sends timed (default 21; 0: none);
// E2E_BENCH_RECEIVER / E2E_BENCH_SENDER=<path>: measure these programs instead
// of the ones built beside the bench (e.g. an earlier build's).

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>
#include <vector>

#include "danemq/dane/discovery.hpp"
#include "danemq/identity/tlsa_record.hpp"
#include "danemq/jose/message.hpp"
#include "danemq/log/log.hpp"
#include "danemq/mqtt/client.hpp"
#include "danemq/store/message_store.hpp"
#include "danemq/store/outbox.hpp"
#include "support/dns_rig.hpp"
#include "support/mosquitto_rig.hpp"
#include "support/test_peers.hpp"

extern char** environ;

namespace {

using namespace danemq;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "e2e_bench: %s\n", what.c_str());
  std::exit(1);
}

/// A child process whose stdout lines are timestamped as they arrive.
class timed_child {
 public:
  timed_child(const std::string& program, const std::map<std::string, std::string>& env,
              std::vector<std::string> args = {}) {
    int out[2];
    if (::pipe(out) != 0) die("pipe");
    std::vector<std::string> entries;
    for (char** e = environ; *e != nullptr; ++e) entries.emplace_back(*e);
    for (const auto& [key, value] : env) entries.push_back(key + "=" + value);
    std::vector<char*> envp;
    for (auto& entry : entries) envp.push_back(entry.data());
    envp.push_back(nullptr);
    args.insert(args.begin(), program);
    std::vector<char*> argv;
    for (auto& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out[1], STDOUT_FILENO);
      const int null = ::open("/dev/null", O_WRONLY);
      if (std::getenv("E2E_BENCH_VERBOSE") == nullptr) ::dup2(null, STDERR_FILENO);
      ::close(out[0]);
      ::execve(argv[0], argv.data(), envp.data());
      _exit(127);
    }
    ::close(out[1]);
    fd_ = out[0];
    reader_ = std::thread([this] { read_lines(); });
  }
  ~timed_child() {
    stop();
    if (reader_.joinable()) reader_.join();
    ::close(fd_);
  }
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  [[nodiscard]] pid_t pid() const { return pid_; }

  /// Arrival time of each message text seen so far ("<sender> says: <text>").
  std::map<std::string, steady::time_point> arrivals() {
    std::lock_guard lock(mutex_);
    return arrivals_;
  }
  std::size_t count() {
    std::lock_guard lock(mutex_);
    return arrivals_.size();
  }
  /// CPU time (user + system) the process used so far, in seconds.
  [[nodiscard]] double cpu_seconds() const {
    std::ifstream stat("/proc/" + std::to_string(pid_) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    const auto close = text.rfind(')');  // the command name may hold spaces
    if (close == std::string::npos) return 0;
    std::istringstream fields(text.substr(close + 2));
    std::string field;
    double ticks = 0;
    for (int index = 3; fields >> field; ++index) {
      if (index == 14 || index == 15) ticks += std::strtod(field.c_str(), nullptr);
      if (index == 15) break;
    }
    return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
  }
  /// Peak resident set (VmHWM) in KiB.
  [[nodiscard]] long peak_rss_kib() const { return status_kib("VmHWM:"); }
  /// Notes the private (anonymous) part of the resident set now: the heap,
  /// the stacks and the secure heap, without the pages of the program and
  /// its shared libraries (which other processes share). The kernel keeps no
  /// peak of it: sampled.
  void sample_private() { peak_private_kib_ = std::max(peak_private_kib_, status_kib("RssAnon:")); }
  [[nodiscard]] long peak_private_kib() const { return peak_private_kib_; }

 private:
  void read_lines() {
    std::string pending;
    char buffer[65536];
    for (;;) {
      const auto n = ::read(fd_, buffer, sizeof buffer);
      if (n <= 0) return;
      const auto now = steady::now();
      pending.append(buffer, static_cast<std::size_t>(n));
      std::size_t start = 0;
      for (auto end = pending.find('\n'); end != std::string::npos; end = pending.find('\n', start)) {
        const auto line = pending.substr(start, end - start);
        start = end + 1;
        const auto says = line.find(" says: ");
        if (says == std::string::npos) continue;
        std::lock_guard lock(mutex_);
        arrivals_.emplace(line.substr(says + 7), now);
      }
      pending.erase(0, start);
    }
  }

  [[nodiscard]] long status_kib(const std::string& field) const {
    std::ifstream status("/proc/" + std::to_string(pid_) + "/status");
    std::string line;
    while (std::getline(status, line)) {
      if (line.rfind(field, 0) == 0) return std::strtol(line.c_str() + field.size(), nullptr, 10);
    }
    return -1;
  }

  pid_t pid_{-1};
  long peak_private_kib_{0};
  int fd_{-1};
  std::thread reader_;
  std::mutex mutex_;
  std::map<std::string, steady::time_point> arrivals_;
};

/// Raw private-key operations per second on one core, the receiver's unavoidable cost per message.
double raw_private_key_rate(const EVP_PKEY& key, bool rsa) {
  crypto::unique_evp_pkey_ctx ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, const_cast<EVP_PKEY*>(&key), nullptr));
  std::vector<unsigned char> wrapped;
  crypto::unique_evp_pkey peer;
  if (rsa) {
    // RSA-OAEP-256 unwrap of a 64-byte content key, as A256CBC-HS512 needs.
    crypto::unique_evp_pkey_ctx enc(EVP_PKEY_CTX_new_from_pkey(nullptr, const_cast<EVP_PKEY*>(&key), nullptr));
    EVP_PKEY_encrypt_init(enc.get());
    EVP_PKEY_CTX_set_rsa_padding(enc.get(), RSA_PKCS1_OAEP_PADDING);
    EVP_PKEY_CTX_set_rsa_oaep_md(enc.get(), EVP_sha256());
    EVP_PKEY_CTX_set_rsa_mgf1_md(enc.get(), EVP_sha256());
    const std::vector<unsigned char> cek(64, 7);
    std::size_t size = 0;
    EVP_PKEY_encrypt(enc.get(), nullptr, &size, cek.data(), cek.size());
    wrapped.resize(size);
    if (EVP_PKEY_encrypt(enc.get(), wrapped.data(), &size, cek.data(), cek.size()) <= 0) die("RSA encrypt");
    wrapped.resize(size);
    EVP_PKEY_decrypt_init(ctx.get());
    EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING);
    EVP_PKEY_CTX_set_rsa_oaep_md(ctx.get(), EVP_sha256());
    EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), EVP_sha256());
  } else {
    peer = identity::generate_key(identity::key_type::ec_p256).value();
    EVP_PKEY_derive_init(ctx.get());
    EVP_PKEY_derive_set_peer(ctx.get(), peer.get());
  }
  std::vector<unsigned char> out(512);
  const auto once = [&] {
    std::size_t size = out.size();
    const int ok = rsa ? EVP_PKEY_decrypt(ctx.get(), out.data(), &size, wrapped.data(), wrapped.size())
                       : EVP_PKEY_derive(ctx.get(), out.data(), &size);
    if (ok <= 0) die("raw private-key operation failed");
  };
  for (int i = 0; i < 20; ++i) once();
  timespec start{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &start);
  int done = 0;
  double elapsed = 0;
  while (elapsed < 1.0) {
    for (int i = 0; i < 20; ++i) once();
    done += 20;
    timespec now{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    elapsed = static_cast<double>(now.tv_sec - start.tv_sec) + static_cast<double>(now.tv_nsec - start.tv_nsec) / 1e9;
  }
  return done / elapsed;
}

/// ECDSA P-256 (ES256) signature verifications per second on one core: the
/// other per-message operation for a P-256 sender, which no cache removes.
double raw_es256_verify_rate(const EVP_PKEY& key) {
  const std::string signed_text(400, 'x');  // about a v2 note's protected header and payload
  std::vector<unsigned char> signature(128);
  std::size_t size = signature.size();
  {
    crypto::unique_evp_md_ctx sign(EVP_MD_CTX_new());
    if (EVP_DigestSignInit(sign.get(), nullptr, EVP_sha256(), nullptr, const_cast<EVP_PKEY*>(&key)) <= 0 ||
        EVP_DigestSign(sign.get(), signature.data(), &size, reinterpret_cast<const unsigned char*>(signed_text.data()),
                       signed_text.size()) <= 0) {
      die("ES256 sign");
    }
    signature.resize(size);
  }
  const auto once = [&] {
    crypto::unique_evp_md_ctx verify(EVP_MD_CTX_new());
    if (EVP_DigestVerifyInit(verify.get(), nullptr, EVP_sha256(), nullptr, const_cast<EVP_PKEY*>(&key)) <= 0 ||
        EVP_DigestVerify(verify.get(), signature.data(), signature.size(),
                         reinterpret_cast<const unsigned char*>(signed_text.data()), signed_text.size()) != 1) {
      die("ES256 verify");
    }
  };
  for (int i = 0; i < 20; ++i) once();
  timespec start{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &start);
  int done = 0;
  double elapsed = 0;
  while (elapsed < 1.0) {
    for (int i = 0; i < 20; ++i) once();
    done += 20;
    timespec now{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    elapsed = static_cast<double>(now.tv_sec - start.tv_sec) + static_cast<double>(now.tv_nsec - start.tv_nsec) / 1e9;
  }
  return done / elapsed;
}

/// The program to measure: the one built beside the bench, or the one the
/// environment names (e.g. an earlier build, for a before/after comparison).
std::string program(const char* name, const char* override_variable) {
  if (const char* path = std::getenv(override_variable); path != nullptr && *path != '\0') return path;
  return (test::binary_dir() / name).string();
}

/// Wall and CPU (user + system) time of one run of a program, in milliseconds.
struct process_time {
  double wall_ms{0};
  double cpu_ms{0};
};

process_time time_process(const std::vector<std::string>& args, const std::map<std::string, std::string>& env) {
  std::vector<std::string> entries;
  for (char** e = environ; *e != nullptr; ++e) entries.emplace_back(*e);
  for (const auto& [key, value] : env) entries.push_back(key + "=" + value);
  std::vector<char*> envp;
  for (auto& entry : entries) envp.push_back(entry.data());
  envp.push_back(nullptr);
  std::vector<std::string> copies = args;
  std::vector<char*> argv;
  for (auto& arg : copies) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const auto start = steady::now();
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, STDOUT_FILENO);
    if (std::getenv("E2E_BENCH_VERBOSE") == nullptr) ::dup2(null, STDERR_FILENO);
    ::execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  int status = 0;
  rusage usage{};
  if (::wait4(pid, &status, 0, &usage) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    die(args[0] + " failed (exit " + std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) + ")");
  }
  const auto wall = std::chrono::duration<double, std::milli>(steady::now() - start).count();
  const auto cpu = [](const timeval& t) { return static_cast<double>(t.tv_sec) * 1e3 + t.tv_usec / 1e3; };
  return process_time{wall, cpu(usage.ru_utime) + cpu(usage.ru_stime)};
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const auto index = static_cast<std::size_t>(p * static_cast<double>(values.size() - 1) + 0.5);
  return values[std::min(index, values.size() - 1)];
}

struct one_off_figures {
  double send_wall_ms{0};
  double send_cpu_ms{0};
  double pub_wall_ms{0};
  double pub_cpu_ms{0};
};

struct figures {
  double messages_per_second{0};
  double per_receiver_cpu_second{0};  ///< messages per second of CPU the receiver used: what one core would do
  double p50_ms{0};
  double p99_ms{0};
  long peak_rss_kib{0};
  long peak_private_kib{0};  ///< of it, the private (anonymous) pages, sampled during the burst
  double raw_rate{0};
  double raw_verify_rate{0};       ///< P-256: ES256 verifications per second on one core
  double confirmed_per_second{0};  ///< both devices, receipts: the burst over the time until the last was delivered
  std::optional<one_off_figures> one_off;
};

struct run_options {
  bool metrics{false};   ///< METRICS_ADDRESS set: what the endpoint costs
  bool receipts{false};  ///< every message asks for a signed receipt
  /// Both devices running: bob's `danemq-sender run` publishes the receipts
  /// his receiver queues, alice's receiver verifies them into her sent log
  /// (with `receipts`: the burst is confirmed when every receipt is back).
  bool both_devices{false};
  int one_off_sends{0};  ///< one-off sends (and as many mosquitto_pub) timed after the burst
  std::size_t replay_pairs{0};
  std::uintmax_t* replay_bytes{nullptr};
};

/// Writes `pairs` live replay pairs into a fresh receiver database at `path`
/// (1000 senders' worth, as a busy device would hold); returns the bytes the
/// file grew by.
std::uintmax_t prefill_replay_memory(const std::filesystem::path& path, std::size_t pairs) {
  std::filesystem::create_directories(path.parent_path());
  const auto size_of = [&] {
    std::error_code ec;
    std::uintmax_t total = 0;
    for (const auto* suffix : {"", "-wal"}) {
      const auto file = std::filesystem::path(path.string() + suffix);
      if (std::filesystem::exists(file, ec)) total += std::filesystem::file_size(file, ec);
    }
    return total;
  };
  std::uintmax_t empty = 0;
  {
    auto db = store::message_store::open(path, {}, store::message_store_limits{pairs * 2, pairs, 60s});
    if (!db) die("replay memory: " + db.error().message());
    empty = size_of();
    const auto now = std::chrono::system_clock::now();
    constexpr std::size_t batch = 100'000;
    for (std::size_t done = 0; done < pairs; done += batch) {
      std::vector<store::replay_entry> entries;
      for (std::size_t i = done; i < std::min(pairs, done + batch); ++i) {
        // A jti as the sender makes it: 16 random bytes in base64url (22 characters).
        char jti[23];
        std::snprintf(jti, sizeof jti, "%022zu", i);
        entries.push_back(store::replay_entry{"sender-" + std::to_string(i % 1000) + ".danemq.test", jti,
                                              now + std::chrono::days(7)});
      }
      if (auto remembered = db->replay().remember(entries, now); !remembered) {
        die("replay memory: " + remembered.error().message());
      }
    }
  }
  return size_of() - empty;
}

figures run(identity::key_type type, int messages, int samples, const run_options& how = {}) {
  const auto replay_pairs = how.replay_pairs;
  const auto replay_bytes = how.replay_bytes;
  test::temp_dir root("danemq-bench");
  const auto crypto_dir = root.path() / "identity";
  const auto alice = test::make_identity(crypto_dir, "alice.danemq.test", type);
  const auto bob = test::make_identity(crypto_dir, "bob.danemq.test", type);
  test::dns_rig_options zones;
  for (const auto* who : {&alice, &bob}) {
    auto record = identity::make_tlsa_record(*who->certificate, 3, 0, 0).value();
    zones.signed_records.push_back(identity::zone_file_line(who->name, record, 3600));
  }
  test::dns_rig dns(zones);
  // A production-like broker: persistence saved periodically, not after
  // every message (which the crash tests use, and which would measure
  // Mosquitto's fsync instead of danemq).
  test::mosquitto_rig broker(test::mosquitto_rig_options{.autosave_on_every_change = false});
  if (replay_pairs > 0) {
    const auto grew = prefill_replay_memory(root.path() / "bob" / "receiver.db", replay_pairs);
    if (replay_bytes != nullptr) *replay_bytes = grew;
  }

  std::map<std::string, std::string> receiver_env{
      {"REPLAY_MEMORY_SIZE", "3000000"},
      {"REQUIRE_SYNCED_CLOCK", "0"},  // a bench machine may report its clock unsynchronised
      {"IDENTITY_NAME", bob.name},
      {"CRYPTO_PATH", crypto_dir.string()},
      {"DATA_PATH", (root.path() / "bob").string()},
      {"MQTT_HOST", broker.host()},
      {"MQTT_PORT", std::to_string(broker.port())},
      {"DNS_RESOLVER", dns.resolver()},
      {"DNSSEC_VALIDATION", "resolver"},
      {"PKIX_CD", "0"},
      {"IDENTITY_RETRY_DELAY", "100ms"},
      {"LOG_LEVEL", "warning"}};
  if (how.metrics) receiver_env["METRICS_ADDRESS"] = "127.0.0.1:" + std::to_string(test::free_port());
  timed_child receiver(program("danemq-receiver", "E2E_BENCH_RECEIVER"), receiver_env);
  std::optional<timed_child> bobs_runner;
  std::optional<timed_child> alices_receiver;
  std::optional<store::outbox> alices_sent_log;
  if (how.both_devices) {
    auto runner_env = receiver_env;
    runner_env["OUTBOX_POLL_INTERVAL"] = "100ms";
    bobs_runner.emplace(program("danemq-sender", "E2E_BENCH_SENDER"), runner_env, std::vector<std::string>{"run"});
    auto alice_env = receiver_env;
    alice_env.erase("METRICS_ADDRESS");
    alice_env["IDENTITY_NAME"] = alice.name;
    alice_env["DATA_PATH"] = (root.path() / "alice").string();
    alices_receiver.emplace(program("danemq-receiver", "E2E_BENCH_RECEIVER"), alice_env);
    std::filesystem::create_directories(root.path() / "alice");
    auto opened = store::outbox::open(root.path() / "alice" / "sender.db");
    if (!opened) die("alice's sent log: " + opened.error().message());
    alices_sent_log.emplace(std::move(*opened));
  }

  dane::discovery_config config = dns.discovery_config();
  config.pkix_cd = false;
  auto peers = dane::discovery::create(config).value();

  mqtt::client_options options;
  options.host = broker.host();
  options.port = broker.port();
  options.clean_session = true;
  options.max_inflight = 200;
  mqtt::client alice_client(options, [](std::vector<mqtt::message>&) { return danemq::ok(); });
  if (!alice_client.start() || !alice_client.wait_connected(10s)) die("publisher cannot connect");

  jose::seal_options sealing;
  sealing.request_receipt = how.receipts;
  const auto seal = [&](const std::string& text) {
    auto sealed = jose::seal_note(jose::message_to_send{bob.name, text}, alice, *peers, sealing);
    if (!sealed) die("seal: " + sealed.error().message());
    if (sealed->jti && alices_sent_log) {
      // As `send` logs it: the receipt finds it by jti and digest.
      store::sent_entry logged;
      logged.recipient = bob.name;
      logged.text = text;
      logged.jti = sealed->jti;
      logged.note_digest = sealed->note_digest;
      logged.receipt_requested = sealing.request_receipt;
      logged.queued_at = std::chrono::system_clock::now();
      if (auto id = alices_sent_log->record_sent(logged); !id) die("sent log: " + id.error().message());
    }
    return std::vector<std::uint8_t>(sealed->wire.begin(), sealed->wire.end());
  };
  const auto all_delivered = [&] {
    auto rows = alices_sent_log->list_sent();
    if (!rows) die("sent log: " + rows.error().message());
    return std::all_of(rows->begin(), rows->end(),
                       [](const store::sent_entry& row) { return row.delivered_at.has_value(); });
  };
  // Wait until bob is subscribed: a probe message comes back printed.
  const auto probe = seal("probe");
  const auto until = steady::now() + 30s;
  while (receiver.count() == 0) {
    if (steady::now() > until) die("the receiver did not come up");
    (void)alice_client.publish(bob.name, probe, 1).get();
    std::this_thread::sleep_for(200ms);
  }

  figures out;
  // Latency: one message at a time, from publish to the printed line.
  std::vector<std::vector<std::uint8_t>> one_by_one;
  for (int i = 0; i < samples; ++i) one_by_one.push_back(seal("latency " + std::to_string(i)));
  std::vector<double> latencies;
  for (int i = 0; i < samples; ++i) {
    const auto text = "latency " + std::to_string(i);
    const auto sent = steady::now();
    (void)alice_client.publish(bob.name, one_by_one[static_cast<std::size_t>(i)], 1);
    const auto deadline = sent + 10s;
    for (;;) {
      auto arrivals = receiver.arrivals();
      if (auto found = arrivals.find(text); found != arrivals.end()) {
        latencies.push_back(std::chrono::duration<double, std::milli>(found->second - sent).count());
        break;
      }
      if (steady::now() > deadline) die("latency message " + std::to_string(i) + " lost");
      std::this_thread::sleep_for(50us);
    }
  }
  out.p50_ms = percentile(latencies, 0.50);
  out.p99_ms = percentile(latencies, 0.99);

  // Throughput: everything at once, until the last line is printed.
  std::vector<std::vector<std::uint8_t>> burst;
  for (int i = 0; i < messages; ++i) burst.push_back(seal("burst " + std::to_string(i)));
  const auto before = receiver.count();
  const auto cpu_before = receiver.cpu_seconds();
  const auto start = steady::now();
  std::vector<std::future<danemq::result<void>>> acks;
  for (auto& wire : burst) acks.push_back(alice_client.publish(bob.name, std::move(wire), 1));
  const auto deadline = start + 300s;
  while (receiver.count() < before + static_cast<std::size_t>(messages)) {
    if (steady::now() > deadline) die("burst not delivered within 300 s");
    receiver.sample_private();
    std::this_thread::sleep_for(2ms);
  }
  receiver.sample_private();
  const auto seconds = std::chrono::duration<double>(steady::now() - start).count();
  out.messages_per_second = messages / seconds;
  out.per_receiver_cpu_second = messages / std::max(receiver.cpu_seconds() - cpu_before, 1e-3);
  out.peak_rss_kib = receiver.peak_rss_kib();
  out.peak_private_kib = receiver.peak_private_kib();
  if (how.both_devices && how.receipts) {
    // Every message so far asked for a receipt (the probe, the latency samples, the burst).
    while (!all_delivered()) {
      if (steady::now() > deadline) die("receipts not all back within 300 s");
      std::this_thread::sleep_for(20ms);
    }
    out.confirmed_per_second = messages / std::chrono::duration<double>(steady::now() - start).count();
  }
  if (bobs_runner) bobs_runner->stop();
  if (alices_receiver) alices_receiver->stop();
  alice_client.stop();

  if (how.one_off_sends > 0) {
    // Alternated, so that the machine's load weighs on both alike.
    const std::map<std::string, std::string> sender_env{{"IDENTITY_NAME", alice.name},
                                                        {"CRYPTO_PATH", crypto_dir.string()},
                                                        {"DATA_PATH", (root.path() / "alice").string()},
                                                        {"MQTT_HOST", broker.host()},
                                                        {"MQTT_PORT", std::to_string(broker.port())},
                                                        {"DNS_RESOLVER", dns.resolver()},
                                                        {"DNSSEC_VALIDATION", "resolver"},
                                                        {"PKIX_CD", "0"},
                                                        {"LOG_LEVEL", "warning"}};
    const std::string text = "one-off";
    const std::string same_size(seal(text).size(), 'x');
    std::vector<double> send_wall, send_cpu, pub_wall, pub_cpu;
    for (int i = 0; i < how.one_off_sends; ++i) {
      const auto sent =
          time_process({program("danemq-sender", "E2E_BENCH_SENDER"), "send", bob.name, text}, sender_env);
      const auto published =
          time_process({"/usr/bin/mosquitto_pub", "-h", broker.host(), "-p", std::to_string(broker.port()), "-q", "1",
                        "-t", "bench/one-off", "-m", same_size},
                       {});
      send_wall.push_back(sent.wall_ms);
      send_cpu.push_back(sent.cpu_ms);
      pub_wall.push_back(published.wall_ms);
      pub_cpu.push_back(published.cpu_ms);
    }
    out.one_off = one_off_figures{percentile(send_wall, 0.5), percentile(send_cpu, 0.5), percentile(pub_wall, 0.5),
                                  percentile(pub_cpu, 0.5)};
  }
  receiver.stop();
  out.raw_rate = raw_private_key_rate(*bob.key, type == identity::key_type::rsa_2048);
  if (type == identity::key_type::ec_p256) out.raw_verify_rate = raw_es256_verify_rate(*alice.key);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  const int messages = argc > 1 ? std::atoi(argv[1]) : 3000;
  const int samples = argc > 2 ? std::atoi(argv[2]) : 300;
  const long replay_pairs = argc > 3 ? std::atol(argv[3]) : 1'000'000;
  if (messages < 1 || samples < 1 || replay_pairs < 0 || replay_pairs > 2'000'000) {
    die("usage: e2e_bench [messages] [latency samples] [replay memory pairs, up to 2000000]");
  }
  if (const char* data_dir = std::getenv("DATA_DIR")) ::setenv("TMPDIR", data_dir, 1);
  danemq::log::init("e2e_bench", danemq::log::format::text, spdlog::level::warn);
  std::printf("danemq end to end through a local Mosquitto (%d messages for throughput, %d latency samples)\n\n",
              messages, samples);
  std::printf("%-10s %12s %16s %10s %10s %14s %12s %22s %8s %8s\n", "keys", "messages/s", "per rx CPU-s", "p50 ms",
              "p99 ms", "peak RSS MiB", "private MiB", "raw private-key ops/s", "ratio", "ratio/CPU");
  const auto row = [](const char* name, const figures& f, double bound) {
    std::printf("%-10s %12.0f %16.0f %10.2f %10.2f %14.1f %12.1f %22.0f %8.2f %8.2f\n", name, f.messages_per_second,
                f.per_receiver_cpu_second, f.p50_ms, f.p99_ms, static_cast<double>(f.peak_rss_kib) / 1024.0,
                static_cast<double>(f.peak_private_kib) / 1024.0, bound, f.messages_per_second / bound,
                f.per_receiver_cpu_second / bound);
    std::fflush(stdout);
  };
  const int one_off_sends = std::getenv("E2E_BENCH_ONE_OFF") ? std::atoi(std::getenv("E2E_BENCH_ONE_OFF")) : 21;
  const auto rsa = run(identity::key_type::rsa_2048, messages, samples, run_options{.one_off_sends = one_off_sends});
  row("RSA-2048", rsa, rsa.raw_rate);
  const auto p256 = run(identity::key_type::ec_p256, messages, samples);
  // A P-256 message costs one ECDH derivation and one ES256 verification.
  const double p256_bound = 1.0 / (1.0 / p256.raw_rate + 1.0 / p256.raw_verify_rate);
  row("P-256", p256, p256_bound);
  const auto receipts = run(identity::key_type::rsa_2048, messages, 20, run_options{.receipts = true});
  row("RSA+rcpt", receipts, receipts.raw_rate);
  const auto metrics = run(identity::key_type::rsa_2048, messages, 20, run_options{.metrics = true});
  row("RSA+metr", metrics, metrics.raw_rate);
  std::printf(
      "\nraw: one core, measured in this run: RSA-2048 OAEP-SHA256 decryption; for P-256 the bound of one ECDH\n"
      "  derivation (%.0f/s) and one ES256 verification (%.0f/s) per message.\n"
      "ratio: end-to-end messages/s over the raw rate; the publisher, Mosquitto and the receiver share this\n"
      "  machine's cores.\n"
      "per rx CPU-s / ratio/CPU: messages per second of CPU the receiver itself used, i.e. its rate on one\n"
      "  dedicated core, over the raw rate. Targets: RSA-2048 >= 0.80, P-256 >= 0.60.\n"
      "RSA+rcpt: every message asks for a receipt (the receiver signs and encrypts one more note per message).\n"
      "peak RSS: VmHWM (target without metrics: < 10 MiB); private: of it, the anonymous pages (heap, stacks,\n"
      "  secure heap), sampled; the rest are pages of the program and its shared libraries.\n"
      "RSA+metr: METRICS_ADDRESS set; the endpoint costs %+.1f MiB of peak RSS (%+.1f MiB private).\n"
      "Targets: p50 < 5 ms on loopback.\n",
      p256.raw_rate, p256.raw_verify_rate, static_cast<double>(metrics.peak_rss_kib - rsa.peak_rss_kib) / 1024.0,
      static_cast<double>(metrics.peak_private_kib - rsa.peak_private_kib) / 1024.0);
  if (rsa.one_off) {
    const auto& o = *rsa.one_off;
    std::printf(
        "\none-off, median of %d each, alternated (same broker; the send includes DNS, signing, encryption,\n"
        "its sent log and the PUBACK):\n"
        "  %-32s %8.1f ms wall %8.1f ms CPU\n  %-32s %8.1f ms wall %8.1f ms CPU\n"
        "  send / mosquitto_pub: %.2f wall, %.2f CPU (target < 3)\n",
        one_off_sends, "danemq-sender send", o.send_wall_ms, o.send_cpu_ms, "mosquitto_pub -q 1", o.pub_wall_ms,
        o.pub_cpu_ms, o.send_wall_ms / o.pub_wall_ms, o.send_cpu_ms / std::max(o.pub_cpu_ms, 0.01));
  }
  // Receipts between two devices: the same burst with both running, first
  // asking for no receipt, then for one with each message.
  std::printf("\nreceipts (RSA-2048, %d messages; both devices running: bob's receiver and `run`, alice's receiver)\n",
              messages);
  std::printf("%-22s %12s %16s %14s %10s\n", "", "messages/s", "per rx CPU-s", "confirmed/s", "p50 ms");
  const auto without = run(identity::key_type::rsa_2048, messages, 50, run_options{.both_devices = true});
  std::printf("%-22s %12.0f %16.0f %14s %10.2f\n", "without receipts", without.messages_per_second,
              without.per_receiver_cpu_second, "-", without.p50_ms);
  std::fflush(stdout);
  const auto with =
      run(identity::key_type::rsa_2048, messages, 50, run_options{.receipts = true, .both_devices = true});
  std::printf("%-22s %12.0f %16.0f %14.0f %10.2f\n", "with receipts", with.messages_per_second,
              with.per_receiver_cpu_second, with.confirmed_per_second, with.p50_ms);
  std::printf(
      "\nwith / without: messages/s %.3f, per rx CPU-s %.3f; confirmed/s: the burst over the time until alice's\n"
      "  sent log had every receipt (each receipt: a signature by bob, an outbox row, a publish by his `run`,\n"
      "  a decryption and a verification by alice's receiver).\n",
      with.messages_per_second / without.messages_per_second,
      with.per_receiver_cpu_second / without.per_receiver_cpu_second);
  std::fflush(stdout);
  if (replay_pairs == 0) return 0;

  // The replay memory's cost: the same burst (P-256, where the private-key
  // operation leaves most room for the database to show) against an empty
  // memory and a full-sized one, one after the other in this run.
  std::printf("\nreplay memory (P-256, %d messages; REPLAY_MEMORY_SIZE 3000000 in both)\n", messages);
  std::printf("%-22s %12s %16s\n", "pairs held", "messages/s", "per rx CPU-s");
  const auto empty = run(identity::key_type::ec_p256, messages, 20);
  std::printf("%-22d %12.0f %16.0f\n", 0, empty.messages_per_second, empty.per_receiver_cpu_second);
  std::fflush(stdout);
  std::uintmax_t bytes = 0;
  const auto held = run(identity::key_type::ec_p256, messages, 20,
                        run_options{.replay_pairs = static_cast<std::size_t>(replay_pairs), .replay_bytes = &bytes});
  std::printf("%-22ld %12.0f %16.0f\n", replay_pairs, held.messages_per_second, held.per_receiver_cpu_second);
  std::printf(
      "\nthroughput with %ld pairs / empty: %.3f (per rx CPU-s: %.3f); target >= 0.95\n"
      "disk: %.1f bytes per pair (%ju bytes for %ld pairs, table and indexes, 1000 senders, 22-character jti)\n",
      replay_pairs, held.messages_per_second / empty.messages_per_second,
      held.per_receiver_cpu_second / empty.per_receiver_cpu_second,
      static_cast<double>(bytes) / static_cast<double>(replay_pairs), bytes, replay_pairs);
  return 0;
}
