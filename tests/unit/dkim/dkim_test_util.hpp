// tests/unit/dkim/dkim_test_util.hpp: shared helpers: run a coroutine, read conformance files, TXT RDATA.
// SPDX-License-Identifier: MIT
#pragma once
#include "dns/records.hpp"
#include "dns/source.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <exception>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace dkim_test {

inline const std::string conformance_dir = std::string(MAILFORT_CONFORMANCE_DIR) + "/dkim/";

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

// Byte-exact file contents (messages are CRLF and must stay so).
inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// One TXT record holding `s`, split into <= 255-octet character-strings as a zone file would.
inline std::string txt_rdata(const std::string& s) {
  std::string out;
  std::size_t pos = 0;
  do {
    const std::size_t n = std::min<std::size_t>(255, s.size() - pos);
    out += static_cast<char>(n);
    out.append(s, pos, n);
    pos += n;
  } while (pos < s.size());
  return out;
}

}  // namespace dkim_test
