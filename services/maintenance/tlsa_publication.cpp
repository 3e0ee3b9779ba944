#include "tlsa_publication.hpp"

#include <algorithm>
#include <ostream>

#include "danemq/crypto/openssl.hpp"
#include "danemq/dane/discovery.hpp"
#include "danemq/identity/identity_files.hpp"

namespace danemq::maintenance {

result<std::vector<identity::tlsa_record>> key_set_records(const identity::key_set& keys,
                                                           const tlsa_parameters& parameters) {
  std::vector<identity::tlsa_record> records;
  for (const auto& key : keys.keys) {
    auto record =
        identity::make_tlsa_record(*key.certificate, parameters.usage, parameters.selector, parameters.matching);
    if (!record) return record.error();
    if (std::find(records.begin(), records.end(), *record) == records.end()) records.push_back(std::move(*record));
  }
  return records;
}

result<std::optional<dane::update_target>> update_target_of(maintenance_app& app, const dns_settings& dns) {
  if (dns.update_server.empty()) return std::optional<dane::update_target>{};
  if (!dns.update_tsig.empty() && !dns.update_tsig_file.empty()) {
    return fail(identity::errc::file_unreadable, "DNS_UPDATE_TSIG and DNS_UPDATE_TSIG_FILE are both set: give one");
  }
  if (app.on_command_line("--dns-update-tsig")) {
    app.err() << "warning: --dns-update-tsig puts the TSIG secret on the command line, where `ps` shows it; "
                 "use DNS_UPDATE_TSIG_FILE\n";
  }
  std::string tsig = dns.update_tsig;
  if (!dns.update_tsig_file.empty()) {
    auto read = identity::read_small_file(dns.update_tsig_file, 4096);
    if (!read) return fail(identity::errc::file_unreadable, "DNS_UPDATE_TSIG_FILE: " + read.error().detail);
    tsig = std::move(*read);
    while (!tsig.empty() && (tsig.back() == '\n' || tsig.back() == '\r' || tsig.back() == ' ')) tsig.pop_back();
  }
  if (tsig.empty()) {
    return fail(identity::errc::file_unreadable,
                "DNS_UPDATE_TSIG_FILE or DNS_UPDATE_TSIG (--dns-update-tsig) is required");
  }
  auto key = dane::parse_tsig_key(tsig);
  crypto::cleanse(tsig);
  if (!key) return fail(identity::errc::file_unreadable, "DNS_UPDATE_TSIG_FILE: " + key.error().detail);
  return std::optional<dane::update_target>(dane::update_target{
      *dane::parse_server_address(dns.update_server), std::move(*key), dns.discovery.timeout, dns.discovery.retries});
}

result<void> publish_records(maintenance_app& app, const std::optional<dane::update_target>& target,
                             const std::string& name, const std::vector<identity::tlsa_record>& records, unsigned ttl) {
  auto& out = app.out();
  if (!target) {
    out << "DNS_UPDATE_SERVER is not set: publish these records as the whole TLSA RRset of " << name
        << " (replacing any other):\n";
    for (const auto& record : records) out << identity::zone_file_line(name, record, ttl) << '\n';
    return ok();
  }
  auto published = dane::replace_tlsa_records(*target, name, records, ttl);
  if (!published) return published.error();
  for (const auto& record : records) out << "Published " << identity::zone_file_line(name, record, ttl) << '\n';
  out << "(replacing any other TLSA record at " << name << " on " << target->server.to_string() << ")\n";
  return ok();
}

bool published_view::shows(identity::key_role role) const {
  return std::find(shown.begin(), shown.end(), role) != shown.end();
}

published_view look_at_dns(const dns_settings& dns, const identity::key_set& keys) {
  published_view view;
  auto source = dane::discovery::create(dns.discovery);
  if (!source) {
    view.error = source.error();
    return view;
  }
  auto found = (*source)->discover(keys.name);
  if (!found) {
    view.error = found.error();
    return view;
  }
  view.secure = (*found)->dnssec_secure;
  for (const auto& published : (*found)->keys) {
    bool ours = false;
    for (const auto& mine : keys.keys) {
      if (published.public_key && crypto::same_public_key(*published.public_key, *mine.key)) {
        ours = true;
        if (!view.shows(mine.role)) view.shown.push_back(mine.role);
      }
    }
    if (!ours) ++view.others;
  }
  return view;
}

}  // namespace danemq::maintenance
