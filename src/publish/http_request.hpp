// publish/http_request.hpp: [pure] the HTTP/1.x request reader of the MTA-STS policy listener, and its one decision.
// SPDX-License-Identifier: MIT
// Untrusted input: whatever any client sends to the HTTPS port (443 in production). The reader looks at one request
// head, bounded (max_head bytes, 64 header lines), never throws, and accepts only what a policy fetch needs:
// "GET|HEAD SP origin-form SP HTTP/1.0|1.1", header lines "name: value" ending in CRLF or LF, exactly one Host (RFC
// 9112 3.2: 400 otherwise), no obs-fold, no message body (Content-Length other than 0 or any Transfer-Encoding is
// refused: nothing here reads a body, so none can be smuggled behind the request). One request per connection: the
// response always closes it.
// respond() serves only /.well-known/mta-sts.txt for Host mta-sts.<domain> of a local domain (404 otherwise, 405 for
// other methods, 400 for a bad request, 431 for an oversized head).
#pragma once
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace mailfort::publish {

inline constexpr std::size_t http_max_head = 8192;
inline constexpr std::size_t http_max_header_lines = 64;

struct http_request {
  std::string method;  // "GET" or "HEAD"
  std::string target;  // origin-form, as sent
  std::string host;    // lower case, port and one trailing dot removed
};

enum class http_parse_status { incomplete, ok, bad, too_large };

struct http_parse_result {
  http_parse_status status = http_parse_status::incomplete;
  http_request request;
  std::string error;  // why bad (for the log)
};

// Reads the request head at the start of buf (the bytes received so far). incomplete: wait for more (unless buf is
// already max_head long: too_large).
http_parse_result parse_http_request(std::string_view buf, std::size_t max_head = http_max_head);

struct http_response {
  int status = 404;
  std::string body;
  std::string content_type = "text/plain";
  bool head_only = false;
};

// The answer to a parsed request: the policy for GET/HEAD https://mta-sts.<d>/.well-known/mta-sts.txt with d among
// domains (case-insensitive), else 404 (405 for another method).
http_response respond(const http_request& req, const std::vector<std::string>& domains, const std::string& policy);
// The answer to a request that could not be parsed (400 or 431).
http_response respond_error(http_parse_status st);
// Status line, headers (Content-Type, Content-Length, Cache-Control: no-store... , Connection: close) and body.
std::string serialize(const http_response& r);

}  // namespace mailfort::publish
