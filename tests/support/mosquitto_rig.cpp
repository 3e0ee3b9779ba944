#include "support/mosquitto_rig.hpp"

#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace danemq::test {
namespace {

void must(const command_result& done, const std::string& what) {
  if (done.exit_code != 0) throw std::runtime_error(what + " failed: " + done.err);
}

std::string mosquitto_program() {
  return have_program("/usr/sbin/mosquitto") ? "/usr/sbin/mosquitto" : "mosquitto";
}

/// A key and a certificate signed by `ca` (self-signed when `ca` is empty).
void make_certificate(const std::filesystem::path& dir, const std::string& name, const std::string& subject,
                      const std::string& ca, const std::string& extensions) {
  const auto key = (dir / (name + ".key")).string();
  const auto cert = (dir / (name + ".crt")).string();
  must(run_command({"openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key}),
       "openssl genpkey");
  const auto ext_file = (dir / (name + ".ext")).string();
  std::ofstream(ext_file) << extensions;
  if (ca.empty()) {
    must(run_command({"openssl", "req", "-x509", "-new", "-key", key, "-subj", subject, "-days", "2", "-out", cert,
                      "-extensions", "v3", "-config", ext_file}),
         "openssl req -x509");
    return;
  }
  const auto csr = (dir / (name + ".csr")).string();
  must(run_command({"openssl", "req", "-new", "-key", key, "-subj", subject, "-out", csr}), "openssl req");
  must(run_command({"openssl", "x509", "-req", "-in", csr, "-CA", (dir / (ca + ".crt")).string(), "-CAkey",
                    (dir / (ca + ".key")).string(), "-CAcreateserial", "-days", "2", "-out", cert, "-extfile", ext_file,
                    "-extensions", "v3"}),
       "openssl x509 -req");
}

}  // namespace

broker_tls_files make_broker_tls_files(const std::filesystem::path& dir) {
  const std::string ca_ext =
      "[req]\ndistinguished_name=dn\n[dn]\n[v3]\nbasicConstraints=critical,CA:true\nkeyUsage=critical,keyCertSign\n";
  make_certificate(dir, "ca", "/CN=danemq test broker CA", "", ca_ext);
  make_certificate(dir, "server", "/CN=localhost", "ca",
                   "[v3]\nbasicConstraints=CA:false\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n"
                   "extendedKeyUsage=serverAuth\n");
  make_certificate(dir, "client", "/CN=danemq-test-client", "ca",
                   "[v3]\nbasicConstraints=CA:false\nextendedKeyUsage=clientAuth\n");
  make_certificate(dir, "stranger-ca", "/CN=someone else's CA", "", ca_ext);
  make_certificate(dir, "stranger", "/CN=stranger", "stranger-ca",
                   "[v3]\nbasicConstraints=CA:false\nextendedKeyUsage=clientAuth\n");
  return broker_tls_files{dir / "ca.crt",     dir / "server.crt",      dir / "server.key",   dir / "client.crt",
                          dir / "client.key", dir / "stranger-ca.crt", dir / "stranger.crt", dir / "stranger.key"};
}

mosquitto_rig::mosquitto_rig(mosquitto_rig_options options) : options_(std::move(options)), port_(free_port()) {
  if (options_.tls) tls_ = make_broker_tls_files(dir_.path());
  write_config();
  start();
}

mosquitto_rig::~mosquitto_rig() {
  if (process_) process_->stop();
}

void mosquitto_rig::write_config() const {
  std::ostringstream conf;
  conf << "per_listener_settings false\n";
  if (::geteuid() == 0) conf << "user root\n";  // else Mosquitto switches to its own user, locked out of our dir
  conf << "listener " << port_ << " 127.0.0.1\n";
  conf << "log_dest stderr\nlog_type error\nlog_type warning\nlog_type notice\nlog_type information\n";
  conf << "connection_messages true\n";
  // Enough queued messages per offline client for the load tests.
  conf << "max_queued_messages 100000\nmax_inflight_messages 20\n";
  if (options_.persistence) {
    conf << "persistence true\npersistence_location " << dir_.path().string() << "/\n";
    conf << "persistence_file mosquitto.db\n";
    if (options_.autosave_on_every_change) conf << "autosave_on_changes true\nautosave_interval 1\n";
  }
  if (options_.user) {
    const auto passwords = dir_.path() / "passwords";
    std::ofstream(passwords) << "";
    must(run_command({"mosquitto_passwd", "-b", passwords.string(), options_.user->first, options_.user->second}),
         "mosquitto_passwd");
    conf << "allow_anonymous false\npassword_file " << passwords.string() << "\n";
  } else {
    conf << "allow_anonymous true\n";
  }
  if (options_.tls) {
    conf << "cafile " << tls_.ca_cert.string() << "\ncertfile " << tls_.server_cert.string() << "\nkeyfile "
         << tls_.server_key.string() << "\n";
    if (options_.require_client_certificate) conf << "require_certificate true\n";
  }
  conf << options_.extra_config << "\n";
  std::ofstream(dir_.path() / "mosquitto.conf") << conf.str();
}

void mosquitto_rig::start() {
  if (process_ && process_->running()) return;
  // Keep the earlier run's log: the child's files go with its object.
  if (process_) {
    std::ofstream(dir_.path() / "earlier.log", std::ios::app) << process_->errors();
  }
  process_ = std::make_unique<child_process>(
      std::vector<std::string>{mosquitto_program(), "-c", (dir_.path() / "mosquitto.conf").string()});
  if (!wait_for_tcp_port("127.0.0.1", port_, std::chrono::seconds(10))) {
    throw std::runtime_error("mosquitto did not listen on port " + std::to_string(port_) + ": " + process_->errors());
  }
}

void mosquitto_rig::kill() {
  if (!process_) return;
  process_->signal(SIGKILL);
  (void)process_->wait(std::chrono::seconds(5));
}

void mosquitto_rig::stop() {
  if (process_) (void)process_->stop(std::chrono::seconds(5));
}

bool mosquitto_rig::running() const {
  return process_ && process_->running();
}

std::string mosquitto_rig::log() const {
  std::ifstream earlier(dir_.path() / "earlier.log");
  std::ostringstream text;
  // Inserting the buffer of a file that does not exist fails the stream, and
  // then the current run's log would be lost too.
  if (earlier) text << earlier.rdbuf();
  if (process_) text << process_->errors();
  return text.str();
}

}  // namespace danemq::test
