// audit/checks/mx.cpp: [pure] MX records, null MX, per-host addresses, PTR and forward-confirmed reverse DNS,
// DNSBL listings, and each MX's STARTTLS and certificate (the SMTP checks, with the MX name as TLS name).
// SPDX-License-Identifier: MIT
// Receivers reject or junk mail from addresses without forward-confirmed rDNS (Gmail's sender guidelines);
// a listed MX address is usually listed for what it sends.
#include "audit/domain_observations.hpp"

namespace mailfort::audit {

void check_mx_hosts(const domain_observations& o, const domain_check_options& opt, std::vector<finding>& out) {
  switch (o.mx) {
    case domain_observations::mx_state::null_mx:
      out.push_back({"dns.mx.null",
                     severity::info,
                     control_area::dns,
                     "The domain publishes a null MX (RFC 7505): it accepts no mail",
                     o.domain,
                     "MX 0 .",
                     {}});
      return;
    case domain_observations::mx_state::implicit:
      out.push_back({"dns.mx.missing",
                     severity::medium,
                     control_area::dns,
                     "No MX record: senders fall back to the domain's address records (implicit MX)",
                     o.domain,
                     "",
                     {"mailfort dns-records --domain " + o.domain + " prints the MX to publish",
                      "publish MX 10 <postfix host>", "publish MX 10 <exim host>"}});
      break;
    case domain_observations::mx_state::lookup_failed:
      out.push_back({"dns.mx.lookup_failed",
                     severity::high,
                     control_area::dns,
                     "The MX lookup fails (SERVFAIL, timeout or bogus DNSSEC): senders defer all mail",
                     o.domain,
                     "",
                     {"fix the zone's name servers / DNSSEC signatures", "", ""}});
      return;
    default:
      break;
  }
  for (const auto& h : o.hosts) {
    if (h.address_lookup_failed || h.addresses.empty()) {
      out.push_back({"dns.mx.no_address",
                     severity::high,
                     control_area::dns,
                     "An MX host has no usable A/AAAA record",
                     h.host,
                     "",
                     {"publish A/AAAA for the MX host", "", ""}});
      continue;
    }
    for (const auto& a : h.addresses) {
      std::string subj = h.host + " [" + a.ip + "]";
      if (a.ptr_lookup_failed) {
        out.push_back({"dns.ptr.lookup_failed",
                       severity::low,
                       control_area::dns,
                       "The PTR lookup fails",
                       subj,
                       "",
                       {"ask the address owner to fix the reverse zone", "", ""}});
      } else if (a.ptr_names.empty()) {
        out.push_back({"dns.ptr.missing",
                       severity::medium,
                       control_area::dns,
                       "The MX address has no PTR record (reverse DNS)",
                       subj,
                       "",
                       {"ask the address owner (hosting provider) for a PTR to " + h.host,
                        "set myhostname to the PTR name", "set primary_hostname to the PTR name"}});
      } else if (!a.forward_confirmed) {
        std::string names;
        for (const auto& n : a.ptr_names) names += (names.empty() ? "" : ", ") + n;
        out.push_back({"dns.ptr.not_forward_confirmed",
                       severity::medium,
                       control_area::dns,
                       "Reverse DNS is not forward-confirmed (the PTR name does not resolve back to the address)",
                       subj,
                       "PTR: " + names,
                       {"make the PTR name's A/AAAA record include " + a.ip, "", ""}});
      }
      for (const auto& l : a.listed_in)
        out.push_back(
            {"dns.dnsbl.listed",
             severity::high,
             control_area::dns,
             "The MX address is listed in a DNS blocklist",
             subj,
             l,
             {"find and stop the abuse from this address, then request delisting from the list's operator", "", ""}});
    }
    if (h.smtp) {
      std::vector<finding> f;
      smtp_check_options co;
      co.now = opt.now;
      co.mx_role = true;
      check_capabilities(*h.smtp, co, f);
      check_tls(*h.smtp, f);
      check_certificate(*h.smtp, co, f);
      for (auto& x : f) {
        x.subject = h.host + " (" + x.subject + ")";  // findings per MX host: name and the address probed
        out.push_back(std::move(x));
      }
    } else if (!h.smtp_error.empty()) {
      out.push_back({"dns.mx.unreachable",
                     severity::medium,
                     control_area::dns,
                     "The MX host does not answer SMTP",
                     h.host,
                     h.smtp_error,
                     {}});
    }
  }
}

void judge_domain(const domain_observations& o, const domain_check_options& opt, std::vector<finding>& out) {
  check_mx_hosts(o, opt, out);
  check_spf(o, out);
  check_dkim(o, out);
  check_dmarc(o, out);
  check_mta_sts(o, out);
  check_tls_rpt(o, out);
  check_dane(o, out);
}

}  // namespace mailfort::audit
