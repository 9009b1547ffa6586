// smtp/reply.hpp: [pure] SMTP replies with enhanced status codes (RFC 5321 4.2, RFC 2034, RFC 3463).
// SPDX-License-Identifier: MIT
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace mailfort::smtp {

struct reply {
  int code = 250;
  std::string enhanced;            // "2.0.0"; empty for replies that carry none (220 greeting, 334)
  std::vector<std::string> lines;  // at least one; multi-line replies use "code-" on all but the last

  bool positive() const { return code < 400; }
  bool transient() const { return code >= 400 && code < 500; }
  bool permanent() const { return code >= 500; }
};

reply make_reply(int code, std::string_view enhanced, std::string_view text);

// Wire form: every line "CODE-ENH text\r\n" / final "CODE ENH text\r\n". Line text is sanitised: CR, LF
// and other control bytes become '?', so no reply can carry an injected line.
std::string format(const reply& r);
void append_formatted(const reply& r, std::string& out);

}  // namespace mailfort::smtp
