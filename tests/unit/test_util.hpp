// tests/unit/test_util.hpp: helpers every unit test may use: run a coroutine to completion, read a file byte for
// byte, and build wire-format RDATA (TXT, names, MX, A, AAAA) for dns::static_source.
// SPDX-License-Identifier: MIT
#pragma once
#include <arpa/inet.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <exception>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mailfort_test {

// Runs the coroutine on a fresh io_context until it finishes; its exception, if any, is rethrown.
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

// One TXT record made of these strings, each split into <= 255-octet character-strings as a zone file would.
inline std::string txt_rdata(const std::vector<std::string>& strings) {
  std::string out;
  for (const auto& s : strings) {
    std::size_t pos = 0;
    do {
      const std::size_t n = std::min<std::size_t>(255, s.size() - pos);
      out += static_cast<char>(n);
      out.append(s, pos, n);
      pos += n;
    } while (pos < s.size());
  }
  return out;
}
inline std::string txt_rdata(const std::string& s) { return txt_rdata(std::vector<std::string>{s}); }

// Uncompressed wire-format name ("" and "." are the root).
inline std::string name_rdata(std::string_view name) {
  std::string out;
  while (!name.empty() && name.back() == '.') name.remove_suffix(1);
  while (!name.empty()) {
    const std::size_t dot = std::min(name.find('.'), name.size());
    out += static_cast<char>(dot);
    out.append(name.substr(0, dot));
    name.remove_prefix(std::min(dot + 1, name.size()));
  }
  out += '\0';
  return out;
}

inline std::string mx_rdata(int pref, std::string_view host) {
  std::string out;
  out += static_cast<char>((pref >> 8) & 0xff);
  out += static_cast<char>(pref & 0xff);
  return out + name_rdata(host);
}

inline std::string a_rdata(const std::string& text) {
  unsigned char b[4];
  if (inet_pton(AF_INET, text.c_str(), b) != 1) throw std::runtime_error("bad A " + text);
  return std::string(reinterpret_cast<char*>(b), 4);
}

inline std::string aaaa_rdata(const std::string& text) {
  unsigned char b[16];
  if (inet_pton(AF_INET6, text.c_str(), b) != 1) throw std::runtime_error("bad AAAA " + text);
  return std::string(reinterpret_cast<char*>(b), 16);
}

}  // namespace mailfort_test
