#pragma once
// A RabbitMQ cluster on loopback for the cluster tests: Debian's
// rabbitmq-server 3.10 with its MQTT plugin, three nodes by default (quorum
// queues need a majority), each with its own ports and data directory under
// a temporary directory, one Erlang port mapper of its own and an Erlang
// cookie made here. Every node is stopped on destruction, also when a test
// fails; a node can be killed hard (SIGKILL) and started again.

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "support/process.hpp"

namespace danemq::test {

struct rabbitmq_cluster_options {
  int nodes{3};
  /// mqtt.subscription_ttl: how long an idle persistent session is kept
  /// (RabbitMQ's default is 24 hours; danemq's acceptance horizon is 7 days).
  std::chrono::hours subscription_ttl{24 * 30};
};

class rabbitmq_cluster {
 public:
  /// Starts every node and waits until each accepts MQTT connections and the
  /// cluster has formed. Throws with the nodes' logs when they do not.
  explicit rabbitmq_cluster(rabbitmq_cluster_options options = {});
  ~rabbitmq_cluster();
  rabbitmq_cluster(const rabbitmq_cluster&) = delete;
  rabbitmq_cluster& operator=(const rabbitmq_cluster&) = delete;

  [[nodiscard]] static bool available();
  [[nodiscard]] int size() const { return static_cast<int>(nodes_.size()); }
  /// Node `n` (0-based) MQTT port, on 127.0.0.1.
  [[nodiscard]] unsigned short mqtt_port(int n) const { return nodes_.at(n).mqtt_port; }
  /// MQTT_HOST naming the nodes in `order` ("127.0.0.1:p2,127.0.0.1:p0,…").
  [[nodiscard]] std::string mqtt_hosts(const std::vector<int>& order) const;
  /// SIGKILL node `n`: no chance to save or hand anything over.
  void kill(int n);
  /// Starts node `n` again (same data directory) and waits until it accepts MQTT connections.
  void start(int n);
  [[nodiscard]] bool running(int n);
  /// Node `n`'s log files, for failure messages.
  [[nodiscard]] std::string log(int n) const;
  /// rabbitmqctl against node `n`.
  [[nodiscard]] command_result ctl(int n, const std::vector<std::string>& args) const;

 private:
  struct node {
    std::string name;
    unsigned short amqp_port{0};
    unsigned short mqtt_port{0};
    unsigned short dist_port{0};
    std::filesystem::path dir;
    std::unique_ptr<child_process> process;
  };
  [[nodiscard]] std::map<std::string, std::string> environment(const node& n) const;
  void wait_ready(int n, std::chrono::seconds timeout);

  rabbitmq_cluster_options options_;
  temp_dir dir_{"danemq-rabbitmq"};
  unsigned short epmd_port_{0};
  std::unique_ptr<child_process> epmd_;
  std::vector<node> nodes_;
};

}  // namespace danemq::test
