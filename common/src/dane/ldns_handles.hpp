#pragma once
// ldns handles owned by std::unique_ptr with named deleters, declared once for
// the dane module (the only module that links ldns), plus the few helpers
// every ldns-using file of the module needs. Private to common/src/dane.

#include <ldns/ldns.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace danemq::dane::ldns {

struct pkt_deleter {
  void operator()(ldns_pkt* p) const noexcept { ldns_pkt_free(p); }
};
struct rr_deleter {
  void operator()(ldns_rr* p) const noexcept { ldns_rr_free(p); }
};
/// A list that owns its records (ldns_rr_list_deep_free).
struct rr_list_deleter {
  void operator()(ldns_rr_list* p) const noexcept { ldns_rr_list_deep_free(p); }
};
/// A list that only points into records owned elsewhere (ldns_rr_list_free).
struct rr_view_deleter {
  void operator()(ldns_rr_list* p) const noexcept { ldns_rr_list_free(p); }
};
struct rdf_deleter {
  void operator()(ldns_rdf* p) const noexcept { ldns_rdf_deep_free(p); }
};
struct buffer_deleter {
  void operator()(ldns_buffer* p) const noexcept { ldns_buffer_free(p); }
};
/// Memory ldns hands out with malloc (ldns_rdf2str, ldns_pkt2wire, ...).
struct malloc_deleter {
  // ldns returns malloc()ed buffers: free() is their only release.
  void operator()(void* p) const noexcept { std::free(p); }  // NOLINT(cppcoreguidelines-owning-memory)
};

using unique_pkt = std::unique_ptr<ldns_pkt, pkt_deleter>;
using unique_rr = std::unique_ptr<ldns_rr, rr_deleter>;
using unique_rr_list = std::unique_ptr<ldns_rr_list, rr_list_deleter>;
using unique_rr_view = std::unique_ptr<ldns_rr_list, rr_view_deleter>;
using unique_rdf = std::unique_ptr<ldns_rdf, rdf_deleter>;
using unique_buffer = std::unique_ptr<ldns_buffer, buffer_deleter>;
template <class T>
using unique_malloced = std::unique_ptr<T, malloc_deleter>;

/// The text of an ldns status code.
inline std::string status_text(ldns_status status) {
  const char* text = ldns_get_errorstr_by_id(status);
  return text != nullptr ? text : "unknown ldns error";
}

/// Presentation form of a domain name without the final dot, lowercase.
inline std::string name_text(const ldns_rdf* name) {
  if (name == nullptr) return {};
  unique_malloced<char> text(ldns_rdf2str(name));
  if (!text) return {};
  std::string out(text.get());
  if (out.size() > 1 && out.back() == '.') out.pop_back();
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

/// An owned, absolute domain name from text (a final dot is added when absent).
inline unique_rdf make_name(std::string_view text) {
  std::string absolute(text);
  if (absolute.empty() || absolute.back() != '.') absolute.push_back('.');
  return unique_rdf(ldns_dname_new_frm_str(absolute.c_str()));
}

/// The RDATA of a record in wire form (no compression).
inline std::vector<std::uint8_t> rdata_wire(const ldns_rr* rr) {
  unique_buffer buffer(ldns_buffer_new(512));
  if (!buffer || ldns_rr_rdata2buffer_wire(buffer.get(), rr) != LDNS_STATUS_OK) return {};
  const auto* begin = ldns_buffer_begin(buffer.get());
  return {begin, begin + ldns_buffer_position(buffer.get())};
}

}  // namespace danemq::dane::ldns
