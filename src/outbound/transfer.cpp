// outbound/transfer.cpp: bytes of an outbound transaction (see transfer.hpp).
// SPDX-License-Identifier: MIT
#include "outbound/transfer.hpp"

#include <algorithm>

namespace mailfort::outbound {

namespace {
bool ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}
bool injectable(std::string_view s) { return s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos; }
}  // namespace

bool needs_smtputf8(bool envelope_flag, std::string_view sender, const std::vector<std::string>& recipients) {
  if (envelope_flag || !ascii(sender)) return true;
  return std::any_of(recipients.begin(), recipients.end(), [](const std::string& r) { return !ascii(r); });
}

std::optional<std::string> mail_command(std::string_view sender, std::uint64_t size, bool eight_bit, bool smtputf8,
                                        const ehlo_capabilities& caps) {
  if (injectable(sender) || sender.find_first_of("<> ") != std::string_view::npos) return std::nullopt;
  std::string out = "MAIL FROM:<";
  out.append(sender);
  out += ">";
  if (caps.size) out += " SIZE=" + std::to_string(size);
  if (eight_bit && caps.eightbitmime) out += " BODY=8BITMIME";
  if (smtputf8 && caps.smtputf8) out += " SMTPUTF8";
  return out;
}

std::optional<std::string> rcpt_command(std::string_view recipient) {
  if (recipient.empty() || injectable(recipient) || recipient.find_first_of("<> ") != std::string_view::npos)
    return std::nullopt;
  std::string out = "RCPT TO:<";
  out.append(recipient);
  out += ">";
  return out;
}

std::string dot_stuff(std::string_view message) {
  std::string out;
  out.reserve(message.size() + message.size() / 64 + 8);
  bool line_start = true;
  for (char c : message) {
    if (line_start && c == '.') out.push_back('.');
    out.push_back(c);
    line_start = c == '\n';
  }
  if (!message.empty() && !(message.size() >= 2 && message.substr(message.size() - 2) == "\r\n")) out += "\r\n";
  out += ".\r\n";
  return out;
}

std::string auth_plain_command(std::string_view user, std::string_view password) {
  std::string raw;
  raw.push_back('\0');
  raw.append(user);
  raw.push_back('\0');
  raw.append(password);
  static constexpr char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string b64;
  std::size_t i = 0;
  for (; i + 2 < raw.size(); i += 3) {
    unsigned v = (static_cast<unsigned char>(raw[i]) << 16) | (static_cast<unsigned char>(raw[i + 1]) << 8) |
                 static_cast<unsigned char>(raw[i + 2]);
    b64 += tbl[(v >> 18) & 63];
    b64 += tbl[(v >> 12) & 63];
    b64 += tbl[(v >> 6) & 63];
    b64 += tbl[v & 63];
  }
  if (i + 1 == raw.size()) {
    unsigned v = static_cast<unsigned char>(raw[i]) << 16;
    b64 += tbl[(v >> 18) & 63];
    b64 += tbl[(v >> 12) & 63];
    b64 += "==";
  } else if (i + 2 == raw.size()) {
    unsigned v = (static_cast<unsigned char>(raw[i]) << 16) | (static_cast<unsigned char>(raw[i + 1]) << 8);
    b64 += tbl[(v >> 18) & 63];
    b64 += tbl[(v >> 12) & 63];
    b64 += tbl[(v >> 6) & 63];
    b64 += '=';
  }
  return "AUTH PLAIN " + b64;
}

bool has_8bit(std::string_view message) { return !ascii(message); }

}  // namespace mailfort::outbound
