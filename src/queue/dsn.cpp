// queue/dsn.cpp: RFC 3464 delivery status notifications (see dsn.hpp).
// SPDX-License-Identifier: MIT
#include "queue/dsn.hpp"

#include "common/clock.hpp"
#include "report/mime.hpp"

namespace mailfort::queue {

namespace {

// The header section of a message: up to and including the CRLF that ends the last field.
std::string_view header_section(std::string_view msg) {
  auto end = msg.find("\r\n\r\n");
  if (end != std::string_view::npos) return msg.substr(0, end + 2);
  if (msg.substr(0, 2) == "\r\n") return {};
  return msg;  // no body: all of it is header
}

// Keep returned headers well-formed: CRLF line ends only, no NUL, bounded size.
std::string clean_headers(std::string_view h, std::size_t max = 64 * 1024) {
  std::string out;
  for (std::size_t i = 0; i < h.size() && out.size() < max; ++i) {
    char c = h[i];
    if (c == '\0') continue;
    if (c == '\r') {
      if (i + 1 < h.size() && h[i + 1] == '\n') {
        out += "\r\n";
        ++i;
      }
      continue;  // a bare CR is dropped
    }
    if (c == '\n') {
      out += "\r\n";
      continue;
    }
    out.push_back(c);
  }
  if (!out.empty() && (out.size() < 2 || out.compare(out.size() - 2, 2, "\r\n") != 0)) out += "\r\n";
  return out;
}

bool is_8bit(std::string_view s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) >= 0x80) return true;
  return false;
}

}  // namespace

bool should_bounce(std::string_view sender) { return !sender.empty(); }

std::string dsn_quote(std::string_view raw, std::size_t max_len) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : raw) {
    auto c = static_cast<unsigned char>(ch);
    std::string piece;
    if (c == '\\') {
      piece = "\\\\";
    } else if (c >= 0x20 && c < 0x7f) {
      piece.assign(1, ch);
    } else {
      piece = {'\\', 'x', hex[c >> 4], hex[c & 15]};
    }
    if (out.size() + piece.size() > max_len) {
      out += "...";
      break;
    }
    out += piece;
  }
  return out;
}

std::string build_dsn(const dsn_input& in) {
  const std::string host = dsn_quote(in.reporting_mta, 253);
  const std::string headers = clean_headers(header_section(in.original));

  bool any_failed = false;
  for (const auto& r : in.recipients) any_failed |= r.action == "failed";

  std::string m;
  m += "From: Mail Delivery System <MAILER-DAEMON@" + host + ">\r\n";
  m += "To: <" + dsn_quote(in.sender, 512) + ">\r\n";
  m += std::string("Subject: ") +
       (any_failed ? "Undelivered Mail Returned to Sender" : "Delayed Mail (still being retried)") + "\r\n";
  m += "Date: " + common::rfc5322_date(in.now) + "\r\n";
  m += "Message-ID: <" + dsn_quote(in.queue_id, 64) + "." + std::to_string(in.now) + ".dsn@" + host + ">\r\n";
  m += "Auto-Submitted: auto-replied\r\n";  // RFC 3834: autoresponders must not answer it

  report::multipart mp;
  mp.type = "multipart/report; report-type=delivery-status";
  // The returned headers (and the remote replies) are text we did not write: the builder extends the boundary
  // until it occurs in none of the parts.
  mp.boundary = "=_mailfort_dsn_" + dsn_quote(in.queue_id, 64) + "_" + std::to_string(in.now);
  mp.fold = "\t";
  mp.preamble = "This is a MIME-encapsulated message.\r\n";

  // 1. For people.
  std::string text = "This is the mail system at host " + host + ".\r\n\r\n";
  if (any_failed)
    text += "Your message could not be delivered to one or more recipients. It is attached below (headers only).\r\n";
  else
    text += "Your message has not been delivered yet to one or more recipients. Delivery will be retried.\r\n";
  text += "\r\n";
  for (const auto& r : in.recipients) {
    // Two lines per recipient, so no line comes near the 998-octet limit (RFC 5322 2.1.1).
    text += "<" + dsn_quote(r.address, 512) + ">:";
    if (!r.remote_mta.empty()) text += " host " + dsn_quote(r.remote_mta, 253) + " said:";
    text += "\r\n    " + dsn_quote(r.diagnostic) + "\r\n";
  }
  mp.parts.push_back(
      {{"Content-Description: Notification", "Content-Type: text/plain; charset=us-ascii"}, std::move(text)});

  // 2. For programs (RFC 3464 2.2, 2.3).
  std::string status;
  status += "Reporting-MTA: dns; " + host + "\r\n";
  status += "X-Mailfort-Queue-ID: " + dsn_quote(in.queue_id, 64) + "\r\n";
  status += "Arrival-Date: " + common::rfc5322_date(in.arrival) + "\r\n";
  for (const auto& r : in.recipients) {
    status += "\r\n";
    status += "Final-Recipient: rfc822; " + dsn_quote(r.address, 512) + "\r\n";
    status += "Action: " + std::string(r.action == "delayed" ? "delayed" : "failed") + "\r\n";
    status +=
        "Status: " + dsn_quote(r.status.empty() ? (r.action == "delayed" ? "4.0.0" : "5.0.0") : r.status, 16) + "\r\n";
    if (!r.remote_mta.empty()) status += "Remote-MTA: dns; " + dsn_quote(r.remote_mta, 253) + "\r\n";
    status +=
        std::string("Diagnostic-Code: ") + (r.remote ? "smtp; " : "X-Mailfort; ") + dsn_quote(r.diagnostic) + "\r\n";
    status += "Last-Attempt-Date: " + common::rfc5322_date(in.now) + "\r\n";
  }
  mp.parts.push_back(
      {{"Content-Description: Delivery report", "Content-Type: message/delivery-status"}, std::move(status)});

  // 3. The original header section.
  report::mime_part original{{"Content-Description: Undelivered Message Headers", "Content-Type: text/rfc822-headers"},
                             headers};
  if (is_8bit(headers)) original.headers.emplace_back("Content-Transfer-Encoding: 8bit");
  mp.parts.push_back(std::move(original));

  m += report::build_multipart(mp);
  return m;
}

}  // namespace mailfort::queue
