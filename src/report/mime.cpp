// report/mime.cpp: the multipart MIME builder (see mime.hpp).
// SPDX-License-Identifier: MIT
#include "report/mime.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <cstddef>

namespace mailfort::report {

namespace {

bool occurs_in(const multipart& m, const std::string& boundary) {
  for (const auto& p : m.parts) {
    if (p.body.find(boundary) != std::string::npos) return true;
    for (const auto& h : p.headers)
      if (h.find(boundary) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

std::string choose_boundary(const multipart& m) {
  std::string boundary = m.boundary;
  for (int n = 0; occurs_in(m, boundary); ++n) boundary += "_" + std::to_string(n);
  return boundary;
}

std::string build_multipart(const multipart& m) {
  const std::string boundary = choose_boundary(m);
  std::string out;
  out += "MIME-Version: 1.0\r\n";
  out += "Content-Type: " + m.type + ";\r\n" + m.fold + "boundary=\"" + boundary + "\"\r\n";
  out += "\r\n";
  out += m.preamble;
  for (const auto& p : m.parts) {
    out += "\r\n--" + boundary + "\r\n";
    for (const auto& h : p.headers) out += h + "\r\n";
    out += "\r\n";
    out += p.body;
  }
  out += "\r\n--" + boundary + "--\r\n";
  return out;
}

std::string base64_lines(std::string_view data) {
  std::string out;
  for (std::size_t off = 0; off < data.size(); off += 57) {
    std::size_t n = std::min<std::size_t>(57, data.size() - off);
    unsigned char buf[80];
    int len = EVP_EncodeBlock(buf, reinterpret_cast<const unsigned char*>(data.data() + off), static_cast<int>(n));
    out.append(reinterpret_cast<const char*>(buf), static_cast<std::size_t>(len));
    out += "\r\n";
  }
  return out;
}

}  // namespace mailfort::report
