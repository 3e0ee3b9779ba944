#include "dns_commands.hpp"

#include <memory>
#include <ostream>

#include "danemq/config/cli_binding.hpp"
#include "danemq/crypto/openssl.hpp"
#include "danemq/dane/discovery.hpp"
#include "danemq/dane/dns_update.hpp"
#include "danemq/dane/trust.hpp"
#include "danemq/identity/identity_files.hpp"
#include "danemq/identity/tlsa_record.hpp"
#include "lookup_report.hpp"
#include "tlsa_publication.hpp"

namespace danemq::maintenance {
namespace {

/// State of the DNS subcommands, alive as long as the CLI (owned by its callbacks).
class dns_commands {
 public:
  explicit dns_commands(maintenance_app& app) : app_(app) {}

  int check() {
    auto settings = load();
    if (!settings) return app_.error(exit_usage, settings.error().detail);
    const auto& name = app_.config().identity_name;
    auto local = identity::load_local_identity(app_.config().crypto_path, name, app_.config().identity_key);
    if (!local) return app_.error(exit_identity_files, local.error().message());
    auto described = app_.describe_local_identity();
    if (!described) return app_.error(exit_identity_files, described.error().message());
    auto source = dane::discovery::create(settings->discovery);
    if (!source) return app_.error(exit_usage, source.error().message());

    auto& out = app_.out();
    out << "Local identity: " << name << " (" << described->key_type << "), certificate valid for "
        << described->remaining.count() << " more days\n";
    for (const auto& warning : described->warnings) out << "  warning: " << warning << "\n";
    const auto report = report_lookup(**source, name);
    out << format_report(report);

    // Agreement: peers can use what DNS publishes (no verdict against it) and
    // a usable record (secure, or PKIX-CD verified) matches the local certificate.
    bool agree = false;
    for (std::size_t i = 0; i < report.records.size(); ++i) {
      const auto& record = report.records[i];
      const bool matches =
          !record.record.data.empty() && dane::record_matches_certificate(record.record, *local->certificate);
      out << "  [" << i << "] " << (matches ? "matches" : "does not match") << " the local certificate\n";
      if (matches && !record.problem) agree = true;
    }
    if (agree && !report.verdict) {
      out << "Check: DNS publishes the local identity"
          << (report.dnssec.status == dane::dnssec_status::secure ? " securely (DNSSEC)" : " (PKIX-CD)") << "\n";
      return exit_success;
    }
    std::string reason;
    if (report.lookup_error) {
      reason = report.lookup_error->message();
    } else if (report.verdict) {
      reason = report.verdict->message();
    } else {
      reason = "no usable TLSA record matches the local certificate";
    }
    return app_.error(exit_dns_mismatch, "check failed for " + name + ": " + reason);
  }

  int lookup() {
    auto settings = load();
    if (!settings) return app_.error(exit_usage, settings.error().detail);
    auto source = dane::discovery::create(settings->discovery);
    if (!source) return app_.error(exit_usage, source.error().message());
    const auto report = report_lookup(**source, lookup_name_);
    app_.out() << format_report(report);
    if (report.verdict || report.lookup_error) {
      const auto& why = report.verdict ? *report.verdict : *report.lookup_error;
      return app_.error(exit_dns_mismatch, "lookup of " + report.name + ": " + why.message());
    }
    return exit_success;
  }

  int publish() {
    auto settings = load();
    if (!settings) return app_.error(exit_usage, settings.error().detail);
    if (settings->update_server.empty())
      return app_.error(exit_usage, "DNS_UPDATE_SERVER (--dns-update-server) is required");
    auto target = update_target_of(app_, *settings);
    if (!target) return app_.error(exit_usage, target.error().detail);
    const auto& name = app_.config().identity_name;
    // During a rotation the whole key set (current, next or previous), never only the current record.
    auto keys = identity::load_key_set(app_.config().crypto_path, name, app_.config().identity_key);
    if (!keys) return app_.error(exit_identity_files, keys.error().message());
    auto records =
        key_set_records(*keys, tlsa_parameters{static_cast<std::uint8_t>(usage_), static_cast<std::uint8_t>(selector_),
                                               static_cast<std::uint8_t>(matching_)});
    if (!records) return app_.error(exit_usage, records.error().message());
    const unsigned ttl = ttl_option_ != nullptr && ttl_option_->count() > 0 ? ttl_ : settings->tlsa_ttl;
    auto published = publish_records(app_, *target, name, *records, ttl);
    if (!published) return app_.error(exit_dns_mismatch, "publish-tlsa: " + published.error().message());
    app_.out() << "(run `check` to see it through the resolver, which may keep an earlier answer for its TTL)\n";
    return exit_success;
  }

  void add_subcommands(const std::shared_ptr<dns_commands>& self) {
    app_.add_command("check", "Report what DNS publishes for this identity; exit 0 only if it matches securely",
                     [self] { return self->check(); });
    auto* lookup = app_.add_command(
        "lookup", "Report the TLSA records DNS publishes for any name", [self] { return self->lookup(); },
        /*needs_identity=*/false);
    lookup->add_option("name", lookup_name_, "DNS name to look up")->required();
    auto* publish = app_.add_command("publish-tlsa", "Publish this identity's TLSA record by signed dynamic update",
                                     [self] { return self->publish(); });
    publish->add_option("--usage", usage_, "Certificate usage (3 = DANE-EE, 4 = PKIX-CD)")
        ->check(CLI::Range(0, 4))
        ->capture_default_str();
    publish->add_option("--selector", selector_, "Selector (0 = certificate, 1 = public key)")
        ->check(CLI::Range(0, 1))
        ->capture_default_str();
    publish->add_option("--matching", matching_, "Matching type (0 = exact, 1 = SHA-256, 2 = SHA-512)")
        ->check(CLI::Range(0, 2))
        ->capture_default_str();
    ttl_option_ = publish->add_option("--ttl", ttl_, "TTL of the records, in seconds [default: TLSA_TTL]")
                      ->check(CLI::Range(1, 86400));
  }

 private:
  result<dns_settings> load() const { return app_.dns_config(); }

  maintenance_app& app_;
  std::string lookup_name_;
  int usage_{3};
  int selector_{0};
  int matching_{0};
  unsigned ttl_{3600};
  CLI::Option* ttl_option_{nullptr};
};

}  // namespace

void register_dns_commands(maintenance_app& app) {
  auto commands = std::make_shared<dns_commands>(app);
  commands->add_subcommands(commands);
}

}  // namespace danemq::maintenance
