// publish/ptr_check.hpp: [pure] is our own reverse DNS right? The PTR of the public address must name the HELO name,
// and that name must resolve back to the address (forward-confirmed reverse DNS, FCrDNS): receivers refuse or score
// mail from an address without it. Untrusted input: the DNS answers (bounded decoders of dns/records.hpp).
// A lookup that fails (SERVFAIL, timeout) gives `unknown`, never a mismatch: DNS trouble must not raise alerts.
#pragma once
#include "dns/source.hpp"

#include <boost/asio/awaitable.hpp>

#include <string>
#include <vector>

namespace mailfort::publish {

enum class ptr_verdict { ok, missing, mismatch, unknown };
const char* to_string(ptr_verdict v);

struct ptr_check_result {
  ptr_verdict verdict = ptr_verdict::unknown;
  std::vector<std::string> names;  // the PTR names found
  std::string problem;             // what is wrong (and what to ask the provider for), empty when ok
};

// ip: our public IPv4 or IPv6 address (text); hostname: the HELO name.
boost::asio::awaitable<ptr_check_result> check_own_ptr(dns::source& dns, std::string ip, std::string hostname);

}  // namespace mailfort::publish
