// tests/unit/dmarc/dmarc_test_util.hpp: run a coroutine to completion, wire-format RDATA, a recording DNS source.
// SPDX-License-Identifier: MIT
#pragma once
#include "dns/records.hpp"
#include "dns/source.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <cstdint>
#include <exception>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace dmarc_test {

inline const std::string conformance_dir = std::string(MAILFORT_CONFORMANCE_DIR) + "/dmarc/";

template <class T>
T run(boost::asio::awaitable<T> a) {
  boost::asio::io_context io;
  std::optional<T> out;
  std::exception_ptr err;
  boost::asio::co_spawn(io, std::move(a), [&](std::exception_ptr e, T v) {
    if (e)
      err = e;
    else
      out = std::move(v);
  });
  io.run();
  if (err) std::rethrow_exception(err);
  return std::move(*out);
}

// One TXT record made of these character-strings (each <= 255 octets).
inline std::string txt_rdata(const std::vector<std::string>& strings) {
  std::string out;
  for (const auto& s : strings) {
    out += static_cast<char>(static_cast<unsigned char>(s.size()));
    out += s;
  }
  return out;
}

inline std::string txt_rdata(const std::string& s) { return txt_rdata(std::vector<std::string>{s}); }

inline std::string wire_name(const std::string& name) {
  std::string out;
  std::stringstream ss(name);
  std::string label;
  while (std::getline(ss, label, '.'))
    if (!label.empty()) {
      out += static_cast<char>(label.size());
      out += label;
    }
  out += '\0';
  return out;
}

inline std::string a_rdata(const std::string& dotted) {
  std::string out;
  std::stringstream ss(dotted);
  std::string part;
  while (std::getline(ss, part, '.')) out += static_cast<char>(std::stoi(part));
  return out;
}

// "10 mx.example.com"
inline std::string mx_rdata(const std::string& text) {
  const auto sp = text.find(' ');
  const int pref = std::stoi(text.substr(0, sp));
  std::string out;
  out += static_cast<char>((pref >> 8) & 0xff);
  out += static_cast<char>(pref & 0xff);
  out += wire_name(text.substr(sp + 1));
  return out;
}

// Answers from a static_source, records every lookup, and can fail every query (servfail).
class recording_source final : public mailfort::dns::source {
 public:
  mailfort::dns::static_source table;
  bool fail_all = false;
  std::vector<std::pair<std::string, int>> seen;

  boost::asio::awaitable<mailfort::dns::lookup_result> lookup(std::string name, int rrtype) override {
    seen.emplace_back(name, rrtype);
    if (fail_all) {
      mailfort::dns::lookup_result r;
      r.st = mailfort::dns::status::servfail;
      r.error = "test: every query fails";
      co_return r;
    }
    co_return co_await table.lookup(std::move(name), rrtype);
  }

  std::vector<std::string> txt_queries() const {
    std::vector<std::string> out;
    for (const auto& [n, t] : seen)
      if (t == mailfort::dns::rr_type::txt) out.push_back(n);
    return out;
  }
};

}  // namespace dmarc_test
