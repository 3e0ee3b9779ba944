#include "support/process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace danemq::test {
namespace {

std::string read_whole(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

/// Builds envp from the current environment with `overrides` applied.
std::vector<std::string> merged_environment(const std::map<std::string, std::string>& overrides) {
  // Test machines (containers, CI runners) often report their clock as not
  // synchronised although it is right: a receiver would judge nothing. A
  // test of that wait sets REQUIRE_SYNCED_CLOCK itself.
  std::map<std::string, std::string> merged{{"REQUIRE_SYNCED_CLOCK", "0"}};
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string item(*entry);
    const auto eq = item.find('=');
    if (eq != std::string::npos) merged[item.substr(0, eq)] = item.substr(eq + 1);
  }
  for (const auto& [key, value] : overrides) merged[key] = value;
  std::vector<std::string> out;
  out.reserve(merged.size());
  for (const auto& [key, value] : merged) out.push_back(key + "=" + value);
  return out;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

/// A cross-built test runs under a user-mode emulator and, without
/// binfmt_misc, so must the project's programs it starts (the servers, the
/// host's own programs, run as they are).
std::vector<std::string> with_emulator(std::vector<std::string> argv) {
#ifdef DANEMQ_TEST_EMULATOR
  if (!argv.empty() && argv.front().starts_with(binary_dir().string() + "/")) {
    argv.insert(argv.begin(), {DANEMQ_TEST_EMULATOR, "-L", DANEMQ_TEST_EMULATOR_SYSROOT});
  }
#endif
  return argv;
}

pid_t spawn(std::vector<std::string> argv, const std::map<std::string, std::string>& env,
            const std::optional<std::filesystem::path>& workdir, int stdin_fd, int stdout_fd, int stderr_fd) {
  if (argv.empty()) throw std::invalid_argument("spawn: empty argv");
  argv = with_emulator(std::move(argv));
  auto envs = merged_environment(env);
  auto argp = pointers(argv);
  auto envp = pointers(envs);
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    setpgid(0, 0);  // its own process group: stop() reaches its children too
    if (stdin_fd >= 0) dup2(stdin_fd, STDIN_FILENO);
    dup2(stdout_fd, STDOUT_FILENO);
    dup2(stderr_fd, STDERR_FILENO);
    if (workdir && chdir(workdir->c_str()) != 0) _exit(126);
    environ = envp.data();
    execvp(argp[0], argp.data());
    _exit(127);
  }
  return pid;
}

}  // namespace

temp_dir::temp_dir(const std::string& prefix) {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base != nullptr ? base : "/tmp") + "/" + prefix + "-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed: " + pattern);
  path_ = pattern;
}

temp_dir::~temp_dir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

unsigned short free_port() {
  static std::mt19937 random(std::random_device{}());
  static std::mutex mutex;
  static std::set<unsigned short> used;
  const std::lock_guard lock(mutex);
  for (int attempt = 0; attempt < 1000; ++attempt) {
    // Below the kernel's ephemeral range (32768-60999): a port checked free
    // here and bound by a server a moment later is never taken in between
    // by some outgoing connection's automatic local port.
    const auto port = static_cast<unsigned short>(20000 + random() % 12000);
    if (used.contains(port)) continue;
    bool free = true;
    for (const int type : {SOCK_STREAM, SOCK_DGRAM}) {
      const int fd = socket(AF_INET, type, 0);
      sockaddr_in address{};
      address.sin_family = AF_INET;
      address.sin_port = htons(port);
      address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) free = false;
      close(fd);
    }
    if (!free) continue;
    used.insert(port);
    return port;
  }
  throw std::runtime_error("no free port found");
}

bool wait_for_tcp_port(const std::string& host, unsigned short port, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    inet_pton(AF_INET, host.c_str(), &address.sin_addr);
    const bool connected = connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    close(fd);
    if (connected) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

child_process::child_process(std::vector<std::string> argv, std::map<std::string, std::string> env,
                             std::optional<std::filesystem::path> workdir) {
  static std::atomic<unsigned> counter{0};
  const auto base = std::filesystem::temp_directory_path() /
                    ("danemq-child-" + std::to_string(getpid()) + "-" + std::to_string(counter++));
  stdout_path_ = base.string() + ".out";
  stderr_path_ = base.string() + ".err";
  const int out = open(stdout_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  const int err = open(stderr_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  const int null_in = open("/dev/null", O_RDONLY | O_CLOEXEC);
  pid_ = spawn(std::move(argv), env, workdir, null_in, out, err);
  close(out);
  close(err);
  close(null_in);
}

child_process::~child_process() {
  if (pid_ > 0 && !status_) stop();
  std::error_code ignored;
  std::filesystem::remove(stdout_path_, ignored);
  std::filesystem::remove(stderr_path_, ignored);
}

void child_process::signal(int signal) const {
  if (pid_ > 0) kill(pid_, signal);
}

std::optional<int> child_process::wait(std::chrono::milliseconds timeout) {
  if (status_) return status_;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  do {
    int status = 0;
    const pid_t done = waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      status_ = decode_status(status);
      kill(-pid_, SIGKILL);  // anything it left behind in its group
      return status_;
    }
    if (done < 0) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  } while (std::chrono::steady_clock::now() < deadline);
  return std::nullopt;
}

int child_process::stop(std::chrono::milliseconds grace) {
  if (status_) return *status_;
  kill(pid_, SIGTERM);
  if (auto status = wait(grace)) return *status;
  kill(-pid_, SIGKILL);
  kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  status_ = decode_status(status);
  return *status_;
}

bool child_process::running() {
  return !wait(std::chrono::milliseconds(0)).has_value();
}

std::string child_process::output() const {
  return read_whole(stdout_path_);
}
std::string child_process::errors() const {
  return read_whole(stderr_path_);
}

bool child_process::wait_for_output(const std::string& text, std::chrono::milliseconds timeout, bool on_stderr) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  do {
    if ((on_stderr ? errors() : output()).find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  } while (std::chrono::steady_clock::now() < deadline);
  return false;
}

command_result run_command(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
                           const std::string& input, std::chrono::milliseconds timeout) {
  temp_dir dir("danemq-cmd");
  const auto in_path = dir.path() / "in";
  {
    std::ofstream in(in_path, std::ios::binary);
    in << input;
  }
  const auto out_path = dir.path() / "out";
  const auto err_path = dir.path() / "err";
  const int in_fd = open(in_path.c_str(), O_RDONLY | O_CLOEXEC);
  const int out_fd = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  const int err_fd = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  const pid_t pid = spawn(argv, env, std::nullopt, in_fd, out_fd, err_fd);
  close(in_fd);
  close(out_fd);
  close(err_fd);
  command_result result;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (true) {
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) {
      result.exit_code = decode_status(status);
      break;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      kill(-pid, SIGKILL);
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      result.exit_code = decode_status(status);
      result.err = "[killed after timeout]\n";
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  result.out = read_whole(out_path);
  result.err += read_whole(err_path);
  return result;
}

bool have_program(const std::string& program) {
  if (program.find('/') != std::string::npos) return access(program.c_str(), X_OK) == 0;
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (access((std::filesystem::path(dir) / program).c_str(), X_OK) == 0) return true;
  }
  return false;
}

std::filesystem::path binary_dir() {
#ifdef DANEMQ_BINARY_DIR
  return std::filesystem::path(DANEMQ_BINARY_DIR) / "bin";
#else
  return std::filesystem::current_path();
#endif
}

}  // namespace danemq::test
