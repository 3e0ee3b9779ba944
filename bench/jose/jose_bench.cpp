// The cost of the message layer next to the raw public-key operations it
// cannot avoid, measured in the same run on the same keys:
//
//   seal (sign + encrypt):    RSA: RS256 sign (private) + RSA-OAEP-256 wrap (public)
//                             P-256: ES256 sign + ephemeral key + ECDH
//   open (decrypt + verify):  RSA: RSA-OAEP-256 unwrap (private) + RS256 verify (public)
//                             P-256: ECDH + ES256 verify
//
// A 200-byte message, the peer's key already cached (a fake identity source
// answering from memory), the replay memory in process. The ratio is
// message-layer time over raw time; the target is under 1.20 for RSA.
//
// Then the token path, when SoftHSM2 is installed: the private operations
// (sign, unwrap or ECDH) through a key in a SoftHSM2 token, next to the same
// operations with an in-process key, through the same crypto::private_key
// calls the message layer makes. SoftHSM is software too, so the ratio is
// the cost of the PKCS#11 path itself (expected well under 2x).
//
// Usage: jose_bench [seconds per measurement, default 1]

#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "danemq/crypto/openssl.hpp"
#include "danemq/crypto/private_key.hpp"
#include "danemq/jose/message.hpp"
#include "danemq/pkcs11/token_key.hpp"
#include "support/jose_test_support.hpp"
#include "support/softhsm_token.hpp"

namespace {

using namespace danemq;
using clock_type = std::chrono::steady_clock;

double seconds_per_run = 1.0;

/// This thread's CPU time in microseconds: on a shared machine, time spent
/// waiting for a core is not the message layer's.
double cpu_microseconds() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) * 1e6 + static_cast<double>(now.tv_nsec) / 1e3;
}

/// CPU microseconds per call of `first` and of `second`, measured in
/// alternating batches of 10 for about 2 x `seconds_per_run`; each is the
/// mean of its fastest quarter of batches. Alternating makes frequency
/// changes and cache disturbance from other processes weigh on both alike;
/// the fastest quarter keeps what is left of them out of the figures.
std::pair<double, double> compare(const std::function<void()>& first, const std::function<void()>& second) {
  constexpr int batch = 10;
  for (int i = 0; i < batch; ++i) first(), second();  // warm caches and lazy initialisation
  std::vector<double> first_us;
  std::vector<double> second_us;
  const auto time_batch = [](const std::function<void()>& work) {
    const double start = cpu_microseconds();
    for (int i = 0; i < batch; ++i) work();
    return (cpu_microseconds() - start) / batch;
  };
  const auto deadline = clock_type::now() + std::chrono::duration<double>(2 * seconds_per_run);
  while (clock_type::now() < deadline || first_us.size() < 5) {
    first_us.push_back(time_batch(first));
    second_us.push_back(time_batch(second));
  }
  const auto fastest_quarter = [](std::vector<double>& values) {
    std::sort(values.begin(), values.end());
    const std::size_t count = std::max<std::size_t>(1, values.size() / 4);
    double sum = 0;
    for (std::size_t i = 0; i < count; ++i) sum += values[i];
    return sum / static_cast<double>(count);
  };
  return {fastest_quarter(first_us), fastest_quarter(second_us)};
}

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "jose_bench: %s\n", what.c_str());
  std::exit(1);
}

crypto::unique_evp_pkey_ctx context_of(const EVP_PKEY& key) {
  return crypto::unique_evp_pkey_ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, const_cast<EVP_PKEY*>(&key), nullptr));
}

/// The raw primitives, by EVP alone.
struct raw_primitives {
  const EVP_PKEY& key;
  std::string data;  ///< what is signed: about the size of the JWS signing input
  crypto::bytes signature;
  crypto::bytes cek = crypto::bytes(64, 7);
  crypto::bytes wrapped;

  raw_primitives(const EVP_PKEY& k, std::size_t size, bool is_private = true) : key(k), data(size, 'm') {
    if (!is_private) return;
    signature = sign();
    if (crypto::kind_of(key) == crypto::key_kind::rsa) wrapped = oaep_wrap();
  }

  crypto::bytes sign() const {
    const crypto::unique_evp_md_ctx ctx(EVP_MD_CTX_new());
    std::size_t size = 0;
    EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, const_cast<EVP_PKEY*>(&key));
    EVP_DigestSign(ctx.get(), nullptr, &size, reinterpret_cast<const unsigned char*>(data.data()), data.size());
    crypto::bytes out(size);
    if (EVP_DigestSign(ctx.get(), out.data(), &size, reinterpret_cast<const unsigned char*>(data.data()),
                       data.size()) != 1) {
      die("sign");
    }
    out.resize(size);
    return out;
  }
  void verify() const {
    const crypto::unique_evp_md_ctx ctx(EVP_MD_CTX_new());
    EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, const_cast<EVP_PKEY*>(&key));
    if (EVP_DigestVerify(ctx.get(), signature.data(), signature.size(),
                         reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1) {
      die("verify");
    }
  }
  static void oaep(EVP_PKEY_CTX* ctx) {
    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING);
    EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256());
    EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256());
  }
  crypto::bytes oaep_wrap() const {
    auto ctx = context_of(key);
    EVP_PKEY_encrypt_init(ctx.get());
    oaep(ctx.get());
    std::size_t size = 512;
    crypto::bytes out(size);
    if (EVP_PKEY_encrypt(ctx.get(), out.data(), &size, cek.data(), cek.size()) != 1) die("OAEP wrap");
    out.resize(size);
    return out;
  }
  void oaep_unwrap() const {
    auto ctx = context_of(key);
    EVP_PKEY_decrypt_init(ctx.get());
    oaep(ctx.get());
    std::size_t size = 512;
    crypto::bytes out(size);
    if (EVP_PKEY_decrypt(ctx.get(), out.data(), &size, wrapped.data(), wrapped.size()) != 1) die("OAEP unwrap");
  }
  /// ECDH with a fresh ephemeral key (what the sender does)...
  void ecdh_with_fresh_key() const {
    const crypto::unique_evp_pkey ephemeral(EVP_EC_gen("P-256"));
    derive(*ephemeral, key);
  }
  /// ...and with a received one (what the recipient does).
  void ecdh(const EVP_PKEY& peer) const { derive(key, peer); }
  static void derive(const EVP_PKEY& mine, const EVP_PKEY& peer) {
    auto ctx = context_of(mine);
    std::size_t size = 64;
    unsigned char secret[64];
    if (EVP_PKEY_derive_init(ctx.get()) != 1 ||
        EVP_PKEY_derive_set_peer(ctx.get(), const_cast<EVP_PKEY*>(&peer)) != 1 ||
        EVP_PKEY_derive(ctx.get(), secret, &size) != 1) {
      die("ECDH");
    }
  }
};

void row(const char* what, double jose_us, double raw_us, const char* raw_what) {
  std::printf("%-24s %7.0f msg/s %7.1f us | raw EVP %-31s %7.1f us | ratio %.2f\n", what, 1e6 / jose_us, jose_us,
              raw_what, raw_us, jose_us / raw_us);
}

void token_row(const char* what, double token_us, double in_process_us) {
  std::printf("%-22s token %7.0f /s %8.1f us | in process %7.0f /s %8.1f us | ratio %.2f\n", what, 1e6 / token_us,
              token_us, 1e6 / in_process_us, in_process_us, token_us / in_process_us);
}

/// The private operations through a SoftHSM2 token next to an in-process key.
void token_path() {
  if (!test::softhsm_token::available()) {
    std::printf("\nPKCS#11 token path: skipped (SoftHSM2 is not installed)\n");
    return;
  }
  const test::softhsm_token token;
  std::printf("\nPKCS#11 token path (SoftHSM2 %s) vs the same operation with an in-process key\n",
              test::softhsm_token::module);
  const std::vector<std::uint8_t> data(400, 'm');
  for (const bool rsa : {true, false}) {
    const pkcs11::token_settings settings{test::softhsm_token::uri(rsa ? "bench-rsa" : "bench-ec"),
                                          test::softhsm_token::module, token.pin_file()};
    auto in_token = pkcs11::generate_token_key(settings, rsa ? crypto::key_kind::rsa : crypto::key_kind::ec_p256, true);
    if (!in_token) die(in_token.error().message());
    const crypto::private_key token_key(*in_token->public_key, *in_token->operations);
    const crypto::private_key process_key(rsa ? jose::test::rsa_key(1) : jose::test::ec_key(1));
    std::printf("%s\n", rsa ? "RSA-2048" : "P-256");

    const auto [token_sign, process_sign] = compare([&] { (void)token_key.sign_sha256(data).value(); },
                                                    [&] { (void)process_key.sign_sha256(data).value(); });
    token_row(rsa ? "RS256 sign" : "ES256 sign", token_sign, process_sign);
    if (rsa) {
      const raw_primitives token_public(*in_token->public_key, 400, false);
      const raw_primitives process_public(process_key.public_key(), 400, false);
      const auto for_token = token_public.oaep_wrap();
      const auto for_process = process_public.oaep_wrap();
      const auto [token_unwrap, process_unwrap] =
          compare([&] { (void)token_key.rsa_oaep256_decrypt(for_token).value(); },
                  [&] { (void)process_key.rsa_oaep256_decrypt(for_process).value(); });
      token_row("RSA-OAEP-256 unwrap", token_unwrap, process_unwrap);
    } else {
      const crypto::unique_evp_pkey peer(EVP_EC_gen("P-256"));
      const auto [token_derive, process_derive] =
          compare([&] { (void)token_key.derive_shared_secret(*peer).value(); },
                  [&] { (void)process_key.derive_shared_secret(*peer).value(); });
      token_row("ECDH-ES agreement", token_derive, process_derive);
    }
  }
  std::printf("  (CPU time of this thread: the token's work runs in it, SoftHSM being a library)\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1) seconds_per_run = std::atof(argv[1]);
  const std::string text(200, 'a');
  std::printf("danemq message layer vs raw OpenSSL EVP, 200-byte message, peer key cached, %s\n",
              OpenSSL_version(OPENSSL_VERSION));

  for (const bool rsa : {true, false}) {
    const EVP_PKEY& alice_key = rsa ? jose::test::rsa_key(0) : jose::test::ec_key(0);
    const EVP_PKEY& bob_key = rsa ? jose::test::rsa_key(1) : jose::test::ec_key(1);
    const auto alice = jose::test::local("alice.example", alice_key);
    const auto bob = jose::test::local("bob.example", bob_key);
    jose::test::fake_identity_source dns;
    dns.publish("alice.example", {&alice_key});
    dns.publish("bob.example", {&bob_key});

    auto wire = jose::seal({"bob.example", text}, alice, dns);
    if (!wire) die(wire.error().message());
    // Each open must pass the replay check: a pool of distinct messages.
    std::vector<std::string> pool;
    for (int i = 0; i < 64; ++i) pool.push_back(*jose::seal({"bob.example", text}, alice, dns));
    std::size_t next = 0;
    const jose::open_options options;

    const raw_primitives alice_raw(alice_key, 400);  // about the JWS signing input of a 200-byte message
    const raw_primitives bob_raw(bob_key, 400);
    const auto alice_public = jose::test::public_only(alice_key);
    const auto bob_public = jose::test::public_only(bob_key);
    const raw_primitives bob_public_raw(*bob_public, 400, false);

    const auto seal_once = [&] {
      if (!jose::seal({"bob.example", text}, alice, dns)) die("seal");
    };
    const auto open_once = [&] {
      jose::in_memory_replay_memory replay;
      if (!jose::open(pool[next++ % pool.size()], bob, dns, options, &replay)) die("open");
    };
    const auto raw_seal = [&] {
      (void)alice_raw.sign();
      if (rsa) {
        (void)bob_public_raw.oaep_wrap();
      } else {
        bob_public_raw.ecdh_with_fresh_key();
      }
    };
    const auto raw_open = [&] {
      if (rsa) {
        bob_raw.oaep_unwrap();
      } else {
        bob_raw.ecdh(*alice_public);
      }
      alice_raw.verify();
    };
    const auto [seal_us, raw_seal_us] = compare(seal_once, raw_seal);
    const auto [open_us, raw_open_us] = compare(open_once, raw_open);

    std::printf("\n%s (message %zu bytes on the wire)\n",
                rsa ? "RSA-2048: RS256 + RSA-OAEP-256/A256CBC-HS512" : "P-256: ES256 + ECDH-ES/A256GCM", wire->size());
    row("seal (sign + encrypt)", seal_us, raw_seal_us,
        rsa ? "(RS256 sign + OAEP wrap)" : "(ES256 sign + keygen + ECDH)");
    row("open (decrypt + verify)", open_us, raw_open_us,
        rsa ? "(OAEP unwrap + RS256 verify)" : "(ECDH + ES256 verify)");
    if (rsa) {
      std::printf("  JOSE layer on top of them: seal +%.0f%%, open +%.0f%% (target < 20%%)\n",
                  100.0 * (seal_us / raw_seal_us - 1.0), 100.0 * (open_us / raw_open_us - 1.0));
    }
  }
  token_path();
  return 0;
}
