// audit/checks/banner.cpp: [pure] banner and EHLO greeting: software/version disclosure; early talkers.
// SPDX-License-Identifier: MIT
// A version in the banner tells an attacker which CVEs to try (Exim 4.87-4.91 CVE-2019-10149, OpenSMTPD 6.6
// CVE-2020-7247); the product name alone is only informational.
#include "audit/smtp_observations.hpp"

#include <array>
#include <cctype>

namespace mailfort::audit {

namespace {

bool ieq_at(std::string_view text, std::size_t pos, std::string_view word) {
  if (pos + word.size() > text.size()) return false;
  for (std::size_t i = 0; i < word.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(text[pos + i])) != std::tolower(static_cast<unsigned char>(word[i])))
      return false;
  return true;
}

bool is_word_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

// A version right after the product: optional separators (" ", "/", "-", "(", "Version: ", "v"), then
// digit(s) '.' digit(s) ... Returns the version text, bounded to 32 bytes.
std::string version_after(std::string_view text, std::size_t pos) {
  std::size_t i = pos, skipped = 0;
  while (i < text.size() && skipped < 12 &&
         (text[i] == ' ' || text[i] == '/' || text[i] == '-' || text[i] == '(' || text[i] == ':' || text[i] == ',' ||
          text[i] == 'v' || text[i] == 'V' || ieq_at(text, i, "version"))) {
    if (ieq_at(text, i, "version")) {
      i += 7;
    } else {
      ++i;
    }
    ++skipped;
  }
  std::size_t start = i;
  bool dot = false;
  while (i < text.size() && i - start < 32 &&
         (std::isdigit(static_cast<unsigned char>(text[i])) || (text[i] == '.' && i > start))) {
    if (text[i] == '.') dot = true;
    ++i;
  }
  while (i > start && text[i - 1] == '.') --i;
  if (!dot || i == start) return {};
  return std::string(text.substr(start, i - start));
}

}  // namespace

software_disclosure detect_software(std::string_view text) {
  static constexpr std::array<std::string_view, 16> products = {
      "Postfix",  "Exim",  "Sendmail", "OpenSMTPD",  "Microsoft ESMTP MAIL Service",
      "Exchange", "qmail", "Haraka",   "MailEnable", "hMailServer",
      "Zimbra",   "Kerio", "Courier",  "Stalwart",   "maddy",
      "MDaemon"};
  if (text.size() > 4096) text = text.substr(0, 4096);
  for (std::string_view p : products) {
    for (std::size_t pos = 0; pos + p.size() <= text.size(); ++pos) {
      if (!ieq_at(text, pos, p)) continue;
      if (pos > 0 && is_word_char(text[pos - 1])) continue;
      std::size_t end = pos + p.size();
      if (end < text.size() && is_word_char(text[end])) continue;
      return {std::string(p), version_after(text, end)};
    }
  }
  return {};
}

std::string subject_of(const smtp_observations& o) {
  bool v6 = o.host.find(':') != std::string::npos;
  return (v6 ? "[" + o.host + "]" : o.host) + ":" + std::to_string(o.port);
}

void check_banner(const smtp_observations& o, std::vector<finding>& out) {
  std::string text;
  if (o.banner)
    for (const auto& l : o.banner->lines) text += l + " ";
  if (o.ehlo_reply && !o.ehlo_reply->lines.empty()) text += o.ehlo_reply->lines.front();
  if (!text.empty()) {
    auto sw = detect_software(text);
    if (!sw.product.empty() && !sw.version.empty()) {
      out.push_back({"disclosure.banner.version",
                     severity::low,
                     control_area::disclosure,
                     "The greeting discloses the server software and its version",
                     subject_of(o),
                     "banner: " + text,
                     {"mailfort never puts a version in its greeting", "smtpd_banner = $myhostname ESMTP (main.cf)",
                      "smtp_banner = $smtp_active_hostname ESMTP"}});
    } else if (!sw.product.empty()) {
      out.push_back({"disclosure.banner.product",
                     severity::info,
                     control_area::disclosure,
                     "The greeting names the server software (no version)",
                     subject_of(o),
                     "banner: " + text,
                     {"", "smtpd_banner = $myhostname ESMTP", "smtp_banner = $smtp_active_hostname ESMTP"}});
    }
  }
  if (o.early_talker == smtp_observations::early_talk::tolerated) {
    out.push_back({"protocol.early_talker",
                   severity::low,
                   control_area::protocol,
                   "Clients that talk before the greeting are served (spam bots are not filtered)",
                   subject_of(o),
                   o.early_evidence,
                   {"[greeting] delay_ms = 3000 (the default: early talkers get 554 and a ban score)",
                    "run postscreen on port 25 with postscreen_greet_action = enforce",
                    "acl_smtp_connect: delay = 5s, and drop in acl_smtp_helo if sender_host_name pipelined early"}});
  }
}

}  // namespace mailfort::audit
