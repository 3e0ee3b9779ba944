#pragma once
// A software TPM (swtpm) reached through tpm2-pkcs11, as a PKCS#11 token of
// its own for a test: swtpm on two free loopback ports with its state in a
// temporary directory, a tpm2-pkcs11 store beside it, and one token
// initialized through the module itself (p11tool, label "danemq") with a PIN
// file of mode 0600. TPM2_PKCS11_TCTI and TPM2_PKCS11_STORE are set in this
// process (read by the module when it is loaded) and given by env() to the
// processes a test starts.

#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>

#include "support/process.hpp"
#include "support/softhsm_token.hpp"

namespace danemq::test {

class swtpm_token {
 public:
#if defined(__aarch64__)
  static constexpr const char* module = "/usr/lib/aarch64-linux-gnu/pkcs11/libtpm2_pkcs11.so";
  static constexpr const char* tcti = "/usr/lib/aarch64-linux-gnu/libtss2-tcti-swtpm.so.0";
#else
  static constexpr const char* module = "/usr/lib/x86_64-linux-gnu/pkcs11/libtpm2_pkcs11.so";
  static constexpr const char* tcti = "/usr/lib/x86_64-linux-gnu/libtss2-tcti-swtpm.so.0";
#endif
  static constexpr const char* label = "danemq";
  static constexpr const char* pin = "26041999";

  /// True when swtpm, tpm2-pkcs11 and p11tool are installed (Debian:
  /// swtpm, libtpm2-pkcs11-1, libtss2-tcti-swtpm0, gnutls-bin).
  [[nodiscard]] static bool available() {
    return std::filesystem::exists("/usr/bin/swtpm") && std::filesystem::exists(module) &&
           std::filesystem::exists(tcti) && std::filesystem::exists("/usr/bin/p11tool");
  }

  swtpm_token() {
    std::filesystem::create_directories(root_.path() / "state");
    std::filesystem::create_directories(root_.path() / "store");
    // tss2's swtpm TCTI reaches the control channel on the next port.
    const auto port = free_port();
    const auto control = static_cast<unsigned short>(port + 1);
    swtpm_ = std::make_unique<child_process>(std::vector<std::string>{
        "/usr/bin/swtpm", "socket", "--tpm2", "--tpmstate", "dir=" + (root_.path() / "state").string(), "--server",
        "type=tcp,port=" + std::to_string(port) + ",bindaddr=127.0.0.1", "--ctrl",
        "type=tcp,port=" + std::to_string(control) + ",bindaddr=127.0.0.1", "--flags", "not-need-init,startup-clear"});
    if (!wait_for_tcp_port("127.0.0.1", port)) throw std::runtime_error("swtpm did not start: " + swtpm_->errors());
    env_ = {{"TPM2_PKCS11_TCTI", "swtpm:host=127.0.0.1,port=" + std::to_string(port)},
            {"TPM2_PKCS11_STORE", (root_.path() / "store").string()},
            {"TSS2_LOG", "all+none"}};
    for (const auto& [key, value] : env_) ::setenv(key.c_str(), value.c_str(), 1);
    auto tool_env = env_;
    tool_env["GNUTLS_SO_PIN"] = "11223344";
    tool_env["GNUTLS_PIN"] = pin;
    // The TPM's only slot (swtpm: manufacturer IBM) is empty until a token is initialized in it.
    for (const std::vector<std::string>& step :
         {std::vector<std::string>{"--initialize", "pkcs11:manufacturer=IBM", "--label", label},
          std::vector<std::string>{"--initialize-pin", std::string("pkcs11:token=") + label}}) {
      std::vector<std::string> argv{"/usr/bin/p11tool", "--provider", module};
      argv.insert(argv.end(), step.begin(), step.end());
      const auto done = run_command(argv, tool_env);
      if (done.exit_code != 0) throw std::runtime_error("p11tool " + step.front() + ": " + done.out + done.err);
    }
    softhsm_token::write_pin_file(pin_file(), pin);
  }

  [[nodiscard]] std::filesystem::path pin_file() const {
    return root_.path() / "pin";
  }

  /// "pkcs11:token=danemq;object=<object>".
  [[nodiscard]] static std::string uri(const std::string& object) {
    return std::string("pkcs11:token=") + label + ";object=" + object;
  }

  /// The environment of a service whose identity key is `object` in this TPM.
  [[nodiscard]] std::map<std::string, std::string> env(const std::string& object) const {
    auto out = env_;
    out["PKCS11_MODULE"] = module;
    out["PKCS11_PIN_FILE"] = pin_file().string();
    out["IDENTITY_KEY_URI"] = uri(object);
    return out;
  }

 private:
  temp_dir root_{"danemq-swtpm"};
  std::unique_ptr<child_process> swtpm_;
  std::map<std::string, std::string> env_;
};

}  // namespace danemq::test
