#include "support/rabbitmq_rig.hpp"

#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace danemq::test {
namespace {

const std::filesystem::path server_program = "/usr/lib/rabbitmq/bin/rabbitmq-server";
const std::filesystem::path ctl_program = "/usr/lib/rabbitmq/bin/rabbitmqctl";

std::string read_all(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace

bool rabbitmq_cluster::available() {
  return std::filesystem::exists(server_program) && have_program("epmd");
}

rabbitmq_cluster::rabbitmq_cluster(rabbitmq_cluster_options options) : options_(options) {
  const auto home = dir_.path() / "home";
  std::filesystem::create_directories(home);
  {
    // Nodes of one cluster share the cookie; the CLI reads it from $HOME.
    std::ofstream cookie(home / ".erlang.cookie");
    cookie << "danemq-test-cookie-" << ::getpid();
  }
  std::filesystem::permissions(home / ".erlang.cookie", std::filesystem::perms::owner_read);
  epmd_port_ = free_port();
  // Our own port mapper in the foreground: the nodes find it by ERL_EPMD_PORT
  // instead of starting a daemon that would outlive the test.
  epmd_ = std::make_unique<child_process>(
      std::vector<std::string>{"epmd", "-port", std::to_string(epmd_port_), "-address", "127.0.0.1"});
  if (!wait_for_tcp_port("127.0.0.1", epmd_port_, std::chrono::seconds(10))) {
    throw std::runtime_error("epmd did not start: " + epmd_->errors());
  }
  for (int i = 0; i < options_.nodes; ++i) {
    node n;
    n.name = "danemq" + std::to_string(i + 1) + "@localhost";
    n.amqp_port = free_port();
    n.mqtt_port = free_port();
    n.dist_port = free_port();
    n.dir = dir_.path() / ("node" + std::to_string(i + 1));
    std::filesystem::create_directories(n.dir);
    nodes_.push_back(std::move(n));
  }
  for (auto& n : nodes_) {
    std::ofstream conf(n.dir / "rabbitmq.conf");
    conf << "listeners.tcp.1 = 127.0.0.1:" << n.amqp_port << "\n"
         << "mqtt.listeners.tcp.1 = 127.0.0.1:" << n.mqtt_port
         << "\n"
         // Persistent sessions replicated across the nodes (RabbitMQ 3.10+).
         << "mqtt.durable_queue_type = quorum\n"
         << "mqtt.subscription_ttl = "
         << std::chrono::duration_cast<std::chrono::milliseconds>(options_.subscription_ttl).count() << "\n"
         << "mqtt.allow_anonymous = true\n"
         << "loopback_users = none\n"
         << "cluster_formation.peer_discovery_backend = classic_config\n";
    for (std::size_t k = 0; k < nodes_.size(); ++k) {
      conf << "cluster_formation.classic_config.nodes." << k + 1 << " = " << nodes_[k].name << "\n";
    }
    conf << "log.console = false\nlog.file.level = info\n";
    std::ofstream(n.dir / "enabled_plugins") << "[rabbitmq_mqtt].\n";
  }
  // One node after the other: the MQTT plugin's client id registry (a Raft
  // cluster of its own in 3.10) is joined when a node's plugin starts, and a
  // node that started alongside the first may never learn its leader
  // (it then refuses every client, "client ID registration timed out").
  for (int i = 0; i < size(); ++i) start(i);
  // Formed: every node lists all of them as running.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (;;) {
    const auto status = ctl(0, {"cluster_status", "--formatter", "json"});
    bool all = status.exit_code == 0;
    for (const auto& n : nodes_) all = all && status.out.find("\"" + n.name + "\"") != std::string::npos;
    if (all && status.out.find("running_nodes") != std::string::npos) break;
    if (std::chrono::steady_clock::now() > deadline) {
      throw std::runtime_error("RabbitMQ cluster did not form: " + status.out + status.err);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
}

rabbitmq_cluster::~rabbitmq_cluster() {
  for (auto& n : nodes_) {
    if (n.process) n.process->stop(std::chrono::seconds(20));
  }
  if (epmd_) epmd_->stop();
}

std::map<std::string, std::string> rabbitmq_cluster::environment(const node& n) const {
  return {
      {"HOME", (dir_.path() / "home").string()},
      {"ERL_EPMD_PORT", std::to_string(epmd_port_)},
      {"ERL_EPMD_ADDRESS", "127.0.0.1"},
      {"RABBITMQ_NODENAME", n.name},
      {"RABBITMQ_DIST_PORT", std::to_string(n.dist_port)},
      {"RABBITMQ_CONFIG_FILE", (n.dir / "rabbitmq.conf").string()},
      {"RABBITMQ_ADVANCED_CONFIG_FILE", (n.dir / "advanced.config").string()},
      {"RABBITMQ_ENABLED_PLUGINS_FILE", (n.dir / "enabled_plugins").string()},
      {"RABBITMQ_MNESIA_BASE", (n.dir / "mnesia").string()},
      {"RABBITMQ_LOG_BASE", (n.dir / "log").string()},
      {"RABBITMQ_PID_FILE", (n.dir / "pid").string()},
      // exec the VM itself (no wrapper shell): SIGKILL then kills the node.
      {"RUNNING_UNDER_SYSTEMD", "1"},
  };
}

void rabbitmq_cluster::wait_ready(int i, std::chrono::seconds timeout) {
  auto& n = nodes_.at(static_cast<std::size_t>(i));
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  if (!wait_for_tcp_port("127.0.0.1", n.mqtt_port, timeout)) {
    throw std::runtime_error("RabbitMQ node " + n.name + " does not accept MQTT connections:\n" + log(i));
  }
  // The listener opens before the node serves MQTT: it refuses connections
  // ("broker unavailable") until its part of the cluster is ready.
  for (;;) {
    const auto probe = run_command({"mosquitto_pub", "-h", "127.0.0.1", "-p", std::to_string(n.mqtt_port), "-q", "1",
                                    "-i", "danemq-probe", "-t", "danemq-probe", "-m", "ready"},
                                   {}, {}, std::chrono::seconds(10));
    if (probe.exit_code == 0) return;
    if (std::chrono::steady_clock::now() > deadline) {
      throw std::runtime_error("RabbitMQ node " + n.name + " refuses MQTT clients: " + probe.err + "\n" + log(i));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
}

std::string rabbitmq_cluster::mqtt_hosts(const std::vector<int>& order) const {
  std::string out;
  for (const int i : order) {
    if (!out.empty()) out += ",";
    out += "127.0.0.1:" + std::to_string(mqtt_port(i));
  }
  return out;
}

void rabbitmq_cluster::kill(int i) {
  auto& n = nodes_.at(static_cast<std::size_t>(i));
  if (!n.process) return;
  n.process->signal(SIGKILL);
  (void)n.process->wait(std::chrono::seconds(10));
  n.process.reset();
}

void rabbitmq_cluster::start(int i) {
  auto& n = nodes_.at(static_cast<std::size_t>(i));
  n.process = std::make_unique<child_process>(std::vector<std::string>{server_program.string()}, environment(n), n.dir);
  wait_ready(i, std::chrono::seconds(120));
}

bool rabbitmq_cluster::running(int i) {
  auto& n = nodes_.at(static_cast<std::size_t>(i));
  return n.process && n.process->running();
}

std::string rabbitmq_cluster::log(int i) const {
  const auto& n = nodes_.at(static_cast<std::size_t>(i));
  std::string out = n.process ? n.process->output() + n.process->errors() : std::string();
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(n.dir / "log", ec)) out += read_all(entry.path());
  constexpr std::size_t keep = 20000;
  return out.size() > keep ? out.substr(out.size() - keep) : out;
}

command_result rabbitmq_cluster::ctl(int i, const std::vector<std::string>& args) const {
  const auto& n = nodes_.at(static_cast<std::size_t>(i));
  std::vector<std::string> argv = {ctl_program.string(), "-n", n.name};
  argv.insert(argv.end(), args.begin(), args.end());
  auto env = environment(n);
  // The CLI is an Erlang node too: keep its listening port in the test range.
  const auto cli_port = std::to_string(free_port());
  env["RABBITMQ_CTL_DIST_PORT_MIN"] = cli_port;
  env["RABBITMQ_CTL_DIST_PORT_MAX"] = cli_port;
  return run_command(argv, env, {}, std::chrono::seconds(60));
}

}  // namespace danemq::test
