// report/mime.hpp: [pure] the one multipart MIME builder (RFC 2046 5.1) of the mails mailfort writes itself:
// delivery status notifications (queue/dsn), DMARC aggregate reports (report/dmarc_send) and TLS-RPT reports
// (report/tlsrpt_send).
// SPDX-License-Identifier: MIT
// The caller writes the top-level header fields it owns (From, To, Subject, ...); build_multipart() appends
// MIME-Version, the multipart Content-Type with its boundary, the empty line, the preamble and the parts.
// Every part is written as "--boundary" CRLF, its header fields, an empty line and its body; the CRLF that
// precedes the next delimiter belongs to the delimiter (RFC 2046 5.1.1), so a body that ends in CRLF is
// followed by an empty line. The boundary is the caller's prefix, extended ("_0", "_1", ...) until it occurs
// in no part (a part may carry text we did not write: a remote server's reply, a returned header section).
// Values are not checked here: callers pass header fields they made safe (dsn_quote, header_safe).
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace mailfort::report {

struct mime_part {
  std::vector<std::string> headers;  // whole fields without the final CRLF ("Content-Type: text/plain"); may fold
  std::string body;                  // as it goes on the wire (CRLF line ends)
};

struct multipart {
  std::string type;        // "multipart/mixed", "multipart/report; report-type=\"tlsrpt\""
  std::string boundary;    // the boundary prefix (see above)
  std::string fold = " ";  // the white space that starts the folded line with boundary= (" " or "\t")
  std::string preamble;    // text for readers without MIME, CRLF-terminated
  std::vector<mime_part> parts;
};

// The boundary actually used: m.boundary, extended until no part's header fields or body contain it.
std::string choose_boundary(const multipart& m);
// "MIME-Version: 1.0" CRLF "Content-Type: <type>;" CRLF <fold> "boundary=\"B\"" CRLF CRLF <preamble>, each part,
// and the close delimiter CRLF "--B--" CRLF.
std::string build_multipart(const multipart& m);

// Base64 in lines of 76 characters, each ending in CRLF (a MIME body, RFC 2045 6.8).
std::string base64_lines(std::string_view data);

}  // namespace mailfort::report
