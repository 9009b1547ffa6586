// outbound/report_mail.hpp: what the aggregate-report senders (TLS-RPT, outbound/tlsrpt_send; DMARC,
// outbound/dmarc_report_send) share: gzip, base64 lines, random ids, header-safe text, the DKIM signer for
// our host name and queueing a report with the null sender.
// SPDX-License-Identifier: MIT
// A report's envelope sender is null (<>): a report that cannot be delivered must not bounce back (and loop).
// Reports are signed with a [dkim] key for the From domain (our host name) when one is configured.
#pragma once
#include "auth/dkim_sign.hpp"
#include "config/config.hpp"
#include "queue/spool.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mailfort::outbound {

// gzip (RFC 1952) of data; empty on failure.
std::string gzip_compress(const std::string& data);
// Base64 in lines of 76 characters, each ending in CRLF (a MIME body, RFC 2045 6.8).
std::string base64_lines(std::string_view data);
// 2 * bytes lowercase hex digits from the CSPRNG.
std::string random_hex(std::size_t bytes);
// A header value we put in (domain names, our host name, ids): printable ASCII only, anything else becomes '_'.
std::string header_safe(std::string_view s);

// The DKIM key for reports from <hostname>: the first [dkim] key whose domain is the host name and loads.
struct report_signer {
  std::optional<dkim::signing_key> key;
  std::string domain;
  std::string selector;
  bool enabled() const { return key.has_value(); }
  // Prepends the DKIM-Signature field (unchanged when there is no key).
  void sign(std::string& message, std::int64_t now) const;
};
report_signer report_signer_for(const config::config& cfg);

// Queues one report mail to `rcpt` with the null sender; listener names the producer in the envelope
// ("tlsrpt", "dmarc"). Returns the queue id; throws std::runtime_error when the spool cannot store it.
std::string queue_report(queue::spool& spool, const config::config& cfg, const std::string& rcpt,
                         const std::string& message, std::int64_t now, const char* listener);

}  // namespace mailfort::outbound
