#include "rotate_command.hpp"

#include <openssl/err.h>
#include <openssl/x509.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <ostream>
#include <system_error>

#include "danemq/crypto/openssl.hpp"
#include "danemq/identity/certificate.hpp"
#include "danemq/identity/key.hpp"
#include "danemq/identity/key_set.hpp"
#include "danemq/pkcs11/token_key.hpp"
#include "rotation_state.hpp"
#include "tlsa_publication.hpp"

namespace danemq::maintenance {
namespace {

using clock = std::chrono::system_clock;
using identity::key_role;

/// SHA-256 of the key's SubjectPublicKeyInfo, hex: how the state file names a key.
std::string fingerprint(const EVP_PKEY& key) {
  return crypto::to_hex(crypto::sha256(crypto::public_key_der(key)));
}

std::string roles_text(const std::vector<key_role>& roles) {
  std::string text;
  for (const auto role : roles) text += (text.empty() ? "" : ", ") + std::string(identity::to_string(role));
  return text.empty() ? "none of ours" : text;
}

std::string describe(const published_view& view) {
  if (view.error) return "lookup failed: " + view.error->message();
  std::string text = std::string(view.secure ? "secure" : "NOT secure") + ", publishes " + roles_text(view.shown);
  if (view.others > 0) text += " and " + std::to_string(view.others) + " other key(s)";
  return text;
}

class rotate_commands {
 public:
  explicit rotate_commands(maintenance_app& app) : app_(app) {}

  void add_subcommands(const std::shared_ptr<rotate_commands>& self) {
    auto* rotate = app_.cli().add_subcommand("rotate", "Rotate the identity's key without losing a message");
    rotate->require_subcommand(1);
    auto add = [&](const std::string& name, const std::string& description, int (rotate_commands::*action)()) {
      auto* command = rotate->add_subcommand(name, description);
      command->callback([this, self, action] { app_.set_action([self, action] { return (self.get()->*action)(); }); });
      return command;
    };
    auto* begin = add("begin", "Make the next key and publish {current, next}", &rotate_commands::begin);
    begin->add_option("--key-type", key_type_text_, "rsa-2048 or ec-p256 [default: the current key's type]");
    begin->add_flag("--compromised", compromised_,
                    "The current key must die now: only the new record is published, the old key destroyed at once "
                    "(messages still on their way to it are lost)");
    add("commit", "Switch to the next key once DNS and caches show it", &rotate_commands::commit);
    add("finish", "Remove the old record once the horizon passed; destroy the old key later", &rotate_commands::finish);
    auto* status = add("status", "The phase, what DNS publishes, what each phase waits for", &rotate_commands::status);
    status->add_flag("--json", json_, "One JSON object");
    app_.add_command("renew", "A new certificate for the same key (dates, subject), republished",
                     [self] { return self->renew(); });
  }

 private:
  /// What every phase reads first.
  struct context {
    dns_settings dns;
    rotation_settings rotation;
    std::filesystem::path state_path;
    std::optional<rotation_state> state;
  };

  [[nodiscard]] const std::string& name() const { return app_.config().identity_name; }
  [[nodiscard]] const std::filesystem::path& crypto_path() const { return app_.config().crypto_path; }
  [[nodiscard]] identity::identity_paths paths(key_role role) const {
    return identity::key_paths(crypto_path(), name(), role);
  }
  /// IDENTITY_KEY_URI and its login: with a URI every key of the set lives
  /// in that token (identity::key_token), and only certificates are files.
  [[nodiscard]] const pkcs11::token_settings& token() const { return app_.config().identity_key; }
  [[nodiscard]] bool in_token() const { return !token().key_uri.empty(); }
  /// Where a role's key is, for messages.
  [[nodiscard]] std::string key_place(key_role role) const {
    if (!in_token()) return paths(role).key.string();
    auto role_token = identity::key_token(token(), role);
    return role_token ? role_token->key_uri : token().key_uri;
  }
  [[nodiscard]] result<identity::key_set> load_keys() const {
    return identity::load_key_set(crypto_path(), name(), token());
  }
  [[nodiscard]] result<identity::local_identity> load_current() const {
    return identity::load_local_identity(crypto_path(), name(), token());
  }

  /// renew and rotate make self-signed certificates, published as DANE-EE
  /// (3 0 0): applied to a CA-signed identity (PKIX-CD, usage 4) they would
  /// replace its CA's certificate and its record without a word. Refused.
  int refuse_ca_signed(const identity::local_identity& current, const std::string& command) {
    X509* certificate = current.certificate.get();
    // Self-signed: issued by its own subject and signed by its own key
    // (X509_check_issued would also want keyCertSign, which a leaf lacks).
    if (certificate == nullptr ||
        (X509_NAME_cmp(X509_get_issuer_name(certificate), X509_get_subject_name(certificate)) == 0 &&
         X509_verify(certificate, X509_get0_pubkey(certificate)) == 1)) {
      return exit_success;
    }
    ERR_clear_error();  // the failed self-signature check's
    return app_.error(exit_usage, command + ": the certificate of " + name() +
                                      " is signed by a CA (PKIX-CD, TLSA usage 4), and " + command +
                                      " makes a self-signed one published as 3 0 0; for a new key or new dates, make "
                                      "a new CSR (create-id-csr) and have the CA sign it");
  }

  /// Loads settings and state; on failure returns the exit code in `code`.
  std::optional<context> load(int& code) {
    if (in_token()) {
      if (auto parsed = pkcs11::parse_uri(token().key_uri); !parsed) {
        code = app_.error(exit_usage, "IDENTITY_KEY_URI: " + parsed.error().detail);
        return std::nullopt;
      }
    }
    auto dns = app_.dns_config();
    if (!dns) {
      code = app_.error(exit_usage, dns.error().detail);
      return std::nullopt;
    }
    auto rotation = app_.rotation_config();
    if (!rotation) {
      code = app_.error(exit_usage, rotation.error().detail);
      return std::nullopt;
    }
    context loaded{std::move(*dns), *rotation, rotation_state_path(crypto_path(), name()), std::nullopt};
    auto state = load_rotation_state(loaded.state_path);
    if (!state) {
      code = app_.error(exit_identity_files, state.error().message());
      return std::nullopt;
    }
    loaded.state = std::move(*state);
    return loaded;
  }

  int not_yet(const std::string& what) {
    app_.err() << "not yet: " << what << '\n';
    return exit_not_yet;
  }

  result<void> save(const context& c, const rotation_state& state) {
    return save_rotation_state(c.state_path, state, app_.config().app_uid);
  }

  /// Writes a key and certificate under a role's names.
  result<void> write_pair(key_role role, const EVP_PKEY& key, const X509& certificate) {
    const auto files = paths(role);
    std::string pem = crypto::private_key_to_pem(key);
    auto written = identity::write_file_atomically(files.key, pem, 0600, app_.config().app_uid, true);
    crypto::cleanse(pem);
    if (!written) return written;
    return identity::write_file_atomically(files.certificate, crypto::to_pem(certificate), 0644, app_.config().app_uid,
                                           true);
  }

  /// Destroys a role's key (a file overwritten and unlinked, or the token's
  /// objects) and removes its certificate; for a token key the certificate
  /// goes first, so that no key set names a key that is gone.
  result<void> destroy_pair(key_role role) {
    const auto files = paths(role);
    if (!in_token()) {
      if (auto destroyed = identity::destroy_key_file(files.key); !destroyed) return destroyed;
    }
    std::error_code ec;
    std::filesystem::remove(files.certificate, ec);
    if (ec) return fail(identity::errc::file_unwritable, files.certificate.string() + ": " + ec.message());
    if (!in_token()) return ok();
    auto role_token = identity::key_token(token(), role);
    if (!role_token) return role_token.error();
    return pkcs11::destroy_token_key(*role_token);
  }

  /// The fingerprint of the key the token holds for `role`; nothing when it
  /// holds none (a switch under way).
  result<std::optional<std::string>> token_fingerprint(key_role role) const {
    auto role_token = identity::key_token(token(), role);
    if (!role_token) return role_token.error();
    auto key = pkcs11::open_token_key(*role_token);
    if (!key && key.error().code == pkcs11::errc::key_not_found) return std::optional<std::string>();
    if (!key) return key.error();
    return std::optional<std::string>(fingerprint(*key->public_key));
  }

  /// Commit's switch inside the token, no key leaving it: the old key's
  /// objects take the previous key's label and id (its certificate copied
  /// first), the next key's take the current ones, and the next certificate
  /// becomes the current one. Each step is skipped when done, so a commit
  /// that stopped half-way goes on. Returns the exit code.
  int switch_token_keys(const rotation_state& state) {
    auto current_token = identity::key_token(token(), key_role::current);
    auto next_token = identity::key_token(token(), key_role::next);
    auto previous_token = identity::key_token(token(), key_role::previous);
    if (!current_token || !next_token || !previous_token) return app_.error(exit_usage, "IDENTITY_KEY_URI is unusable");
    auto current = token_fingerprint(key_role::current);
    if (!current) return app_.error(exit_identity_files, current.error().message());
    if (*current == state.old_key) {
      auto certificate = identity::load_certificate(paths(key_role::current).certificate);
      if (!certificate) return app_.error(exit_identity_files, certificate.error().message());
      auto kept = identity::write_file_atomically(paths(key_role::previous).certificate, crypto::to_pem(**certificate),
                                                  0644, app_.config().app_uid, true);
      if (!kept) return app_.error(exit_identity_files, kept.error().detail);
      if (auto moved = pkcs11::relabel_token_key(*current_token, previous_token->key_uri); !moved) {
        return app_.error(exit_identity_files, "rotate commit: " + moved.error().message());
      }
      current = std::optional<std::string>();
    }
    if (!*current) {
      auto next = token_fingerprint(key_role::next);
      if (!next) return app_.error(exit_identity_files, next.error().message());
      if (*next != state.new_key) {
        return app_.error(
            exit_identity_files,
            "rotate commit: the token holds neither the current key nor the next one (" + next_token->key_uri + ")");
      }
      if (auto moved = pkcs11::relabel_token_key(*next_token, current_token->key_uri); !moved) {
        return app_.error(exit_identity_files, "rotate commit: " + moved.error().message());
      }
      current = next;
    }
    if (*current != state.new_key) {
      return app_.error(exit_identity_files, "rotate commit: " + current_token->key_uri +
                                                 " is neither the old key nor the new one of this rotation");
    }
    if (auto next = identity::load_certificate(paths(key_role::next).certificate); next) {
      auto written = identity::write_file_atomically(paths(key_role::current).certificate, crypto::to_pem(**next), 0644,
                                                     app_.config().app_uid, true);
      if (!written) return app_.error(exit_identity_files, written.error().detail);
    }
    return exit_success;
  }

  /// Publishes the key set as it is on disk now; exit code.
  int publish_key_set(const context& c, const char* what) {
    auto keys = load_keys();
    if (!keys) return app_.error(exit_identity_files, keys.error().message());
    auto records = key_set_records(*keys);
    if (!records) return app_.error(exit_usage, records.error().message());
    auto target = update_target_of(app_, c.dns);
    if (!target) return app_.error(exit_usage, target.error().detail);
    auto published = publish_records(app_, *target, name(), *records, c.dns.tlsa_ttl);
    if (!published) {
      return app_.error(exit_dns_mismatch, std::string(what) + ": " + published.error().message() +
                                               " (publish-tlsa publishes the key set again)");
    }
    return exit_success;
  }

  result<crypto::unique_x509> new_certificate(const crypto::private_key& key) {
    return identity::make_self_signed_certificate(key, name(), app_.config().subject);
  }

  int begin() {
    int code = exit_success;
    auto c = load(code);
    if (!c) return code;
    if (compromised_) return begin_compromised(*c);
    if (c->state) {
      const auto& state = *c->state;
      switch (state.phase) {
        case rotation_phase::begun:
          return not_yet("a rotation is already under way (begun " + utc_text(state.began_at) +
                         "): it waits for `rotate commit`" +
                         (state.commit_due() ? ", due " + utc_text(*state.commit_due()) : std::string()) +
                         " (publish-tlsa publishes the key set again)");
        case rotation_phase::committed:
          return not_yet("a rotation is under way (committed): it waits for `rotate finish`, due " +
                         utc_text(*state.finish_due()));
        case rotation_phase::finished:
          return not_yet("the previous key is kept for decryption until " + utc_text(*state.destroy_due()) +
                         "; `rotate finish` destroys it then, and a new rotation may begin");
      }
    }
    auto current = load_current();
    if (!current) return app_.error(exit_identity_files, current.error().message());
    if (const int refused = refuse_ca_signed(*current, "rotate begin"); refused != exit_success) return refused;

    // A begin that stopped after writing the next key goes on with it.
    auto next_token = identity::key_token(token(), key_role::next);
    if (!next_token) return app_.error(exit_usage, next_token.error().message());
    auto next = identity::load_local_identity(crypto_path(), name() + ".next", *next_token);
    crypto::unique_evp_pkey next_key;
    if (next) {
      next_key = std::move(next->key);
      app_.out() << "Using the next key already made: " << key_place(key_role::next) << '\n';
    } else {
      if (const int made = make_next_pair(current->key.get(), next_key); made != exit_success) return made;
    }
    rotation_state state;
    state.phase = rotation_phase::begun;
    state.began_at = clock::now();
    state.ttl = c->dns.tlsa_ttl;
    state.max_age = c->rotation.max_age;
    state.old_key = fingerprint(*current->key);
    state.new_key = fingerprint(*next_key);
    if (auto saved = save(*c, state); !saved) return app_.error(exit_identity_files, saved.error().detail);
    if (const int published = publish_key_set(*c, "rotate begin"); published != exit_success) return published;
    if (auto keys = load_keys(); keys) {
      const auto view = look_at_dns(c->dns, *keys);
      if (!view.error && view.secure && view.shows(key_role::current) && view.shows(key_role::next)) {
        state.seen_published_at = clock::now();
        if (auto saved = save(*c, state); !saved) return app_.error(exit_identity_files, saved.error().detail);
      }
    }
    app_.out() << "Rotation begun: every receiver of " << name()
               << " now decrypts with either key; `rotate commit` once DNS shows both records securely and "
               << state.ttl << " s (TLSA_TTL) have passed"
               << (state.commit_due() ? ", at " + utc_text(*state.commit_due()) : std::string()) << '\n';
    return exit_success;
  }

  /// Makes the next key (the type of `current`, RSA without one, or
  /// --key-type) and its certificate, written under the next names; returns
  /// the exit code, its line printed on failure.
  int make_next_pair(const EVP_PKEY* current, crypto::unique_evp_pkey& key) {
    identity::key_type type = current != nullptr && crypto::kind_of(*current) == crypto::key_kind::ec_p256
                                  ? identity::key_type::ec_p256
                                  : identity::key_type::rsa_2048;
    if (!key_type_text_.empty()) {
      auto chosen = identity::parse_key_type(key_type_text_);
      if (!chosen) return app_.error(exit_usage, "--key-type: " + chosen.error().message());
      type = *chosen;
    }
    if (in_token()) return make_next_token_pair(type, key);
    auto made = identity::generate_key(type);
    if (!made) return app_.error(exit_identity_files, made.error().message());
    auto certificate = new_certificate(**made);
    if (!certificate) return app_.error(exit_identity_files, certificate.error().message());
    if (auto written = write_pair(key_role::next, **made, **certificate); !written) {
      return app_.error(exit_identity_files, written.error().detail);
    }
    key = std::move(made).value();
    return exit_success;
  }

  /// make_next_pair in the token: the key made there (non-extractable,
  /// sensitive) beside the current one, or the one a begin that stopped
  /// left there; its certificate signed by the token.
  int make_next_token_pair(identity::key_type type, crypto::unique_evp_pkey& key) {
    auto next_token = identity::key_token(token(), key_role::next);
    if (!next_token) return app_.error(exit_usage, next_token.error().message());
    auto made = pkcs11::open_token_key(*next_token);
    if (!made && made.error().code == pkcs11::errc::key_not_found) {
      made = pkcs11::generate_token_key(
          *next_token, type == identity::key_type::ec_p256 ? crypto::key_kind::ec_p256 : crypto::key_kind::rsa, false);
    }
    if (!made) return app_.error(exit_identity_files, made.error().message());
    auto certificate = new_certificate(crypto::private_key(*made->public_key, *made->operations));
    if (!certificate) return app_.error(exit_identity_files, certificate.error().message());
    auto written = identity::write_file_atomically(paths(key_role::next).certificate, crypto::to_pem(**certificate),
                                                   0644, app_.config().app_uid, true);
    if (!written) return app_.error(exit_identity_files, written.error().detail);
    key = std::move(made->public_key);
    return exit_success;
  }

  int begin_compromised(const context& c) {
    auto current = load_current();
    // The new pair under the next names first: a crash leaves a key to go on with.
    crypto::unique_evp_pkey new_key;
    if (const int made = make_next_pair(current ? current->key.get() : nullptr, new_key); made != exit_success) {
      return made;
    }
    const auto current_files = paths(key_role::current);
    const auto next_files = paths(key_role::next);
    std::error_code ec;
    if (in_token()) {
      auto next_token = identity::key_token(token(), key_role::next);
      if (!next_token) return app_.error(exit_usage, next_token.error().message());
      if (auto destroyed = pkcs11::destroy_token_key(token()); !destroyed) {
        return app_.error(exit_identity_files, destroyed.error().message());
      }
      if (auto moved = pkcs11::relabel_token_key(*next_token, token().key_uri); !moved) {
        return app_.error(exit_identity_files, "cannot move the new key in place: " + moved.error().message());
      }
    } else {
      if (auto destroyed = identity::destroy_key_file(current_files.key); !destroyed) {
        return app_.error(exit_identity_files, destroyed.error().detail);
      }
      std::filesystem::rename(next_files.key, current_files.key, ec);
    }
    if (!ec) std::filesystem::rename(next_files.certificate, current_files.certificate, ec);
    if (ec) return app_.error(exit_identity_files, "cannot move the new key in place: " + ec.message());
    if (auto destroyed = destroy_pair(key_role::previous); !destroyed) {
      return app_.error(exit_identity_files, destroyed.error().detail);
    }
    std::filesystem::remove(c.state_path, ec);
    if (const int published = publish_key_set(c, "rotate begin --compromised"); published != exit_success) {
      return published;
    }
    app_.out() << "Replaced the compromised key of " << name()
               << ": the old key is destroyed and only the new record is published. Messages still on their way "
                  "to the old key are lost, and peers refuse messages signed with it.\n";
    return exit_success;
  }

  int commit() {
    int code = exit_success;
    auto c = load(code);
    if (!c) return code;
    if (!c->state) return not_yet("no rotation under way: `rotate begin` first");
    auto state = *c->state;
    if (state.phase != rotation_phase::begun) {
      app_.out() << "Already committed (" << utc_text(*state.committed_at) << "); next: `rotate finish`\n";
      return exit_success;
    }
    // A commit that stopped after moving the new key in place goes on from
    // there; in a token, also one that stopped between its two relabels.
    std::optional<std::string> current_key;
    if (in_token()) {
      auto found = token_fingerprint(key_role::current);
      if (!found) return app_.error(exit_identity_files, found.error().message());
      current_key = *found;
    } else {
      auto loaded = identity::load_private_key(paths(key_role::current).key);
      if (!loaded) return app_.error(exit_identity_files, loaded.error().message());
      current_key = fingerprint(**loaded);
    }
    const bool switched = current_key == state.new_key || (in_token() && !current_key);
    if (!switched) {
      auto keys = load_keys();
      if (!keys) return app_.error(exit_identity_files, keys.error().message());
      if (keys->find(key_role::next) == nullptr) {
        return app_.error(exit_identity_files, key_place(key_role::next) + " is missing");
      }
      const auto view = look_at_dns(c->dns, *keys);
      if (view.error || !view.secure || !view.shows(key_role::current) || !view.shows(key_role::next)) {
        return not_yet("waiting for DNS to show both the current and the next record securely (now: " + describe(view) +
                       "); publish-tlsa publishes them again");
      }
      const auto now = clock::now();
      if (!state.seen_published_at) {
        state.seen_published_at = now;
        if (auto saved = save(*c, state); !saved) return app_.error(exit_identity_files, saved.error().detail);
      }
      if (now < *state.commit_due()) {
        return not_yet("waiting until " + utc_text(*state.commit_due()) + ": TLSA_TTL (" + std::to_string(state.ttl) +
                       " s) after both records were seen published, so no sender encrypts from a cache that lacks "
                       "the next key");
      }
      if (!in_token()) {
        const auto* current = keys->find(key_role::current);
        const auto* next = keys->find(key_role::next);
        if (auto kept = write_pair(key_role::previous, *current->key, *current->certificate); !kept) {
          return app_.error(exit_identity_files, kept.error().detail);
        }
        if (auto moved = write_pair(key_role::current, *next->key, *next->certificate); !moved) {
          return app_.error(exit_identity_files, moved.error().detail);
        }
      }
    }
    if (in_token()) {
      if (const int moved = switch_token_keys(state); moved != exit_success) return moved;
    } else if (switched) {
      if (auto next = identity::load_certificate(paths(key_role::next).certificate); next) {
        auto written = identity::write_file_atomically(paths(key_role::current).certificate, crypto::to_pem(**next),
                                                       0644, app_.config().app_uid, true);
        if (!written) return app_.error(exit_identity_files, written.error().detail);
      }
    }
    // The next key now lives under the current names: its copy goes.
    if (auto removed = destroy_pair(key_role::next); !removed) {
      return app_.error(exit_identity_files, removed.error().detail);
    }
    state.phase = rotation_phase::committed;
    state.committed_at = clock::now();
    state.max_age = c->rotation.max_age;
    if (auto saved = save(*c, state); !saved) return app_.error(exit_identity_files, saved.error().detail);
    app_.out() << "Committed: " << name() << " signs with the new key; the old one is kept as "
               << key_place(key_role::previous) << " for decryption and its record stays published; `rotate finish` at "
               << utc_text(*state.finish_due()) << " (MESSAGE_MAX_AGE " << state.max_age.count() << " s)\n";
    return exit_success;
  }

  int finish() {
    int code = exit_success;
    auto c = load(code);
    if (!c) return code;
    if (!c->state) return not_yet("no rotation under way: `rotate begin` first");
    auto state = *c->state;
    const auto now = clock::now();
    if (state.phase == rotation_phase::begun) {
      return not_yet("the rotation waits for `rotate commit`" +
                     (state.commit_due() ? ", due " + utc_text(*state.commit_due()) : std::string()));
    }
    if (state.phase == rotation_phase::committed) {
      if (now < *state.finish_due()) {
        return not_yet("waiting until " + utc_text(*state.finish_due()) + ": the acceptance horizon (" +
                       std::to_string(state.max_age.count()) +
                       " s) after commit, while messages signed with the old key may still arrive");
      }
      auto current = load_current();
      if (!current) return app_.error(exit_identity_files, current.error().message());
      auto records = key_set_records(identity::key_set_of(*current));
      if (!records) return app_.error(exit_usage, records.error().message());
      auto target = update_target_of(app_, c->dns);
      if (!target) return app_.error(exit_usage, target.error().detail);
      auto published = publish_records(app_, *target, name(), *records, c->dns.tlsa_ttl);
      if (!published) return app_.error(exit_dns_mismatch, "rotate finish: " + published.error().message());
      state.phase = rotation_phase::finished;
      state.finished_at = now;
      if (auto saved = save(*c, state); !saved) return app_.error(exit_identity_files, saved.error().detail);
      app_.out() << "Finished: the old record is removed from DNS; the previous key stays for decryption only "
                 << "until " << utc_text(*state.destroy_due())
                 << " and is then destroyed (by `watch`, or `rotate finish` run again)\n";
      return exit_success;
    }
    if (now < *state.destroy_due()) {
      return not_yet("the previous key is kept for decryption until " + utc_text(*state.destroy_due()) +
                     " (a peer may have encrypted to the old record until finish); run `rotate finish` again then");
    }
    if (auto destroyed = destroy_pair(key_role::previous); !destroyed) {
      return app_.error(exit_identity_files, destroyed.error().detail);
    }
    std::error_code ec;
    std::filesystem::remove(c->state_path, ec);
    if (ec) return app_.error(exit_identity_files, c->state_path.string() + ": " + ec.message());
    app_.out() << "Rotation complete: the previous key of " << name() << " is destroyed\n";
    return exit_success;
  }

  int status() {
    int code = exit_success;
    auto c = load(code);
    if (!c) return code;
    auto keys = load_keys();
    if (!keys) return app_.error(exit_identity_files, keys.error().message());
    const auto view = look_at_dns(c->dns, *keys);
    std::string phase = "idle";
    std::string waits = "nothing: `rotate begin` starts a rotation";
    std::optional<clock::time_point> until;
    if (c->state) {
      const auto& state = *c->state;
      phase = std::string(to_string(state.phase));
      switch (state.phase) {
        case rotation_phase::begun:
          waits = state.commit_due() ? "`rotate commit`: TLSA_TTL after both records were seen published"
                                     : "`rotate commit`: DNS to show both records securely, then TLSA_TTL";
          until = state.commit_due();
          break;
        case rotation_phase::committed:
          waits = "`rotate finish`: the acceptance horizon after commit";
          until = state.finish_due();
          break;
        case rotation_phase::finished:
          waits = "`rotate finish` destroys the previous key: one horizon plus TLSA_TTL after finish";
          until = state.destroy_due();
          break;
      }
    }
    if (json_) {
      nlohmann::json out{{"name", name()}, {"phase", phase}, {"waits_for", waits}};
      out["until"] = until ? nlohmann::json(utc_text(*until)) : nlohmann::json(nullptr);
      nlohmann::json local = nlohmann::json::array();
      for (const auto& key : keys->keys) {
        local.push_back({{"role", std::string(identity::to_string(key.role))},
                         {"key", key.outside ? key.outside->describe() : key.paths.key.string()},
                         {"sha256", fingerprint(*key.key)},
                         {"published", view.shows(key.role)}});
      }
      out["keys"] = local;
      out["dns"] = {{"secure", view.secure},
                    {"others", view.others},
                    {"error", view.error ? nlohmann::json(view.error->message()) : nlohmann::json(nullptr)}};
      app_.out() << out.dump() << '\n';
      return exit_success;
    }
    auto& out = app_.out();
    out << "Rotation of " << name() << ": " << phase << '\n';
    for (const auto& key : keys->keys) {
      out << "  " << identity::to_string(key.role) << ": "
          << (key.outside ? key.outside->describe() : key.paths.key.string()) << " ("
          << (view.shows(key.role) ? "published" : "not published") << ")\n";
    }
    out << "DNS: " << describe(view) << '\n';
    out << "Waits for: " << waits << (until ? ", until " + utc_text(*until) : std::string()) << '\n';
    return exit_success;
  }

  int renew() {
    int code = exit_success;
    auto c = load(code);
    if (!c) return code;
    auto current = load_current();
    if (!current) return app_.error(exit_identity_files, current.error().message());
    if (const int refused = refuse_ca_signed(*current, "renew"); refused != exit_success) return refused;
    auto certificate = new_certificate(current->private_key());
    if (!certificate) return app_.error(exit_identity_files, certificate.error().message());
    auto written = identity::write_file_atomically(current->paths.certificate, crypto::to_pem(**certificate), 0644,
                                                   app_.config().app_uid, true);
    if (!written) return app_.error(exit_identity_files, written.error().detail);
    app_.out() << "Renewed the certificate of " << name() << " (same key), valid until "
               << utc_text(identity::not_after(**certificate)) << '\n';
    return publish_key_set(*c, "renew");
  }

  maintenance_app& app_;
  std::string key_type_text_;
  bool compromised_{false};
  bool json_{false};
};

}  // namespace

void register_rotate_commands(maintenance_app& app) {
  auto commands = std::make_shared<rotate_commands>(app);
  commands->add_subcommands(commands);
}

std::string next_rotation_step(const settings& config, const rotation_settings& rotation) {
  auto state = load_rotation_state(rotation_state_path(config.crypto_path, config.identity_name));
  if (!state) return {};
  if (*state) {
    switch ((*state)->phase) {
      case rotation_phase::begun: return "commit";
      case rotation_phase::committed:
      case rotation_phase::finished: return "finish";
    }
  }
  if (rotation.rotate_after.count() == 0) return {};
  auto certificate =
      identity::load_certificate(identity::identity_paths::of(config.crypto_path, config.identity_name).certificate);
  if (!certificate) return {};
  return clock::now() - identity::not_before(**certificate) >= rotation.rotate_after ? "begin" : "";
}

}  // namespace danemq::maintenance
