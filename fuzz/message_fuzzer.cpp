// fuzz/message_fuzzer.cpp: auth::parse_message, DKIM canonicalisation and whole-message DKIM verification
// (no DNS: an empty dns::static_source) on arbitrary bytes.
// SPDX-License-Identifier: MIT
// Invariants: every field's views lie inside the message, in order, before the body; body_offset is within
// the message; relaxed canonical headers hold no CR/LF but the final CRLF; the body canonicaliser gives
// the same bytes whatever the chunking; verification returns one result per DKIM-Signature field (or a
// single permerror for an unparsable header) and never passes without a key.
#include "auth/dkim_canon.hpp"
#include "auth/dkim_verify.hpp"
#include "auth/message.hpp"
#include "dns/source.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <cstdint>
#include <cstdlib>
#include <string>

using namespace mailfort;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::size_t split = data[0] % size;
  std::string_view msg(reinterpret_cast<const char*>(data) + 1, size - 1);
  auto pr = auth::parse_message(msg, 64);
  std::size_t signatures = 0;
  if (pr.message) {
    const auto& m = *pr.message;
    if (m.fields.size() > 64 || m.body_offset > msg.size()) std::abort();
    std::size_t prev_end = 0;
    for (const auto& f : m.fields) {
      const auto* base = msg.data();
      if (f.raw.data() != base + f.offset || f.offset < prev_end || f.offset + f.raw.size() > m.body_offset)
        std::abort();
      if (f.name.data() != f.raw.data() || f.value.data() + f.value.size() != f.raw.data() + f.raw.size()) std::abort();
      prev_end = f.offset + f.raw.size();
      const std::string c = dkim::canon_header(dkim::canonicalization::relaxed, f.raw);
      if (c.size() < 2 || c.find_first_of("\r\n") != c.size() - 2) std::abort();
      if (auth::name_equals(f.name, "DKIM-Signature")) ++signatures;
    }
  }
  for (auto c : {dkim::canonicalization::simple, dkim::canonicalization::relaxed}) {
    const std::string whole = dkim::canon_body(c, msg);
    std::string parts;
    dkim::body_canonicalizer bc(c);
    auto sink = [&parts](std::string_view s) { parts.append(s); };
    bc.update(msg.substr(0, split), sink);
    bc.update(msg.substr(std::min(split, msg.size())), sink);
    bc.finish(sink);
    if (parts != whole) std::abort();
  }
  dns::static_source dns;
  dkim::verify_options o;
  o.max_header_fields = 64;
  std::vector<dkim::verify_result> results;
  boost::asio::io_context io;
  boost::asio::co_spawn(io, dkim::verify(dns, msg, o),
                        [&](const std::exception_ptr& e, std::vector<dkim::verify_result> v) {
                          if (e) std::abort();  // verify never throws on hostile input
                          results = std::move(v);
                        });
  io.run();
  if (pr.message ? results.size() != signatures : results.size() != 1) std::abort();
  for (const auto& r : results)
    if (r.res == dkim::result::pass || r.res == dkim::result::policy) std::abort();
  return 0;
}
