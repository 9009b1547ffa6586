// report/report_mail.hpp: what the aggregate-report senders (TLS-RPT, report/tlsrpt_send; DMARC,
// report/dmarc_send) share: gzip, random ids, header-safe text, the DKIM signer for
// our host name and queueing a report with the null sender.
// SPDX-License-Identifier: MIT
// A report's envelope sender is null (<>): a report that cannot be delivered must not bounce back (and loop).
// Reports are signed with a [dkim] key for the From domain (our host name) when one is configured.
#pragma once
#include "auth/dkim_sign.hpp"
#include "config/config.hpp"
#include "queue/spool.hpp"
#include "report/mime.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mailfort::report {

// gzip (RFC 1952) of data; empty on failure.
std::string gzip_compress(const std::string& data);
// 2 * bytes lowercase hex digits from the CSPRNG.
std::string random_hex(std::size_t bytes);
// A header value we put in (domain names, our host name, ids): printable ASCII only, anything else becomes '_'.
std::string header_safe(std::string_view s);

// The header fields an aggregate report mail starts with (RFC 7489 7.2.1.1, RFC 8460 5.3), CRLF-terminated:
// From "<from_name> <from>", To, Date, Subject "Report Domain: D Submitter: S Report-ID: <ID>", Message-ID <ID>.
// Every value passes through header_safe.
std::string report_header(std::string_view from_name, std::string_view from, std::string_view to,
                          std::string_view domain, std::string_view submitter, std::string_view id, std::int64_t now);
// The human-readable first part: text/plain, us-ascii, 7bit.
mime_part report_text_part(std::string text);

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

}  // namespace mailfort::report
