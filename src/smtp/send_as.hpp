// smtp/send_as.hpp: [pure] which addresses a logged-in user may send as: the envelope sender (MAIL FROM) and
// every address of the header From: field on submission, and what DKIM signs for them.
// SPDX-License-Identifier: MIT
// Today a login may send only as its own address (the canonical name the user database matched, compared
// without regard to ASCII case). Aliases belong here later: pass them in and this stays the one place the
// rule is decided, for the session (MAIL FROM), the submission check at end of data, and DKIM signing.
#pragma once
#include "common/ascii.hpp"

#include <string_view>

namespace mailfort::smtp {

inline bool may_send_as(std::string_view login, std::string_view address) {
  return !login.empty() && common::iequals(login, address);
}

}  // namespace mailfort::smtp
