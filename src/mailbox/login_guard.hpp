// mailbox/login_guard.hpp: mailfort's bans for Dovecot: the auth policy server (HTTP on loopback) and the
// login_access_sockets lookup (a UNIX socket). IMAP/POP3 logins score and are refused like SMTP AUTH.
// SPDX-License-Identifier: MIT
// Untrusted input: the JSON body of the policy requests comes from Dovecot, but its fields (login, remote address
// as Dovecot saw it) come from the network: the body is capped (64 KiB), parsed by nlohmann::json without
// exceptions escaping, and every field is length-capped before it reaches a log line. Only a caller holding the
// bearer token (written to the 0600 dovecot.conf) is answered, so another local user cannot ban or probe
// addresses through it.
// Protocols (shared research section 1.2, 1.3; Dovecot 2.3 auth-policy.c, login-common/access-lookup.c):
//   POST <path>?command=allow|report, JSON body of strings plus "tls", and for reports "success" and
//   "policy_reject" booleans; answer {"status": -1|0, "msg": "..."}: -1 refuses the login (the client sees msg).
//   Access socket: "<protocol>\n" with the client's socket fd (SCM_RIGHTS); answer "1\n" allow or "0\n" refuse.
// Scoring: a failed IMAP/POP3 login is one auth_failure offence for its source, the same as a failed SMTP AUTH,
// so a brute force spread over both is banned at the same threshold. Credential stuffing: a source failing on
// several accounts (3 within the ban window) adds one more point per failure and is logged.
// Password spraying: one password failing on many accounts (5 within the ban window), from any number of sources.
// Dovecot's own `pwhash` cannot link those: it is H(nonce, login, password), different for every account. So the
// generated configuration asks Dovecot for a second attribute, `pwspray=%16{sha256:password}`: the first 64 bits
// of SHA-256(password), hex, computed inside Dovecot (verified on 2.3.19: the same value for every account). The
// password itself never leaves Dovecot; the hash goes only to this token-protected loopback server and stays in
// this process's memory for the window (never logged, never stored). It is unsalted (Dovecot splits the attribute
// list at '=', so `salt=` cannot be passed), so it is as sensitive as a fast password hash: that is why it never
// leaves memory. Once a password is seen failing on 5 accounts, every source that failed with it in the window
// gets k_spray_points more per such failure (then, and on each later failure), so a source trying it on two
// accounts is banned while one stray failure is not. Known limit: the spraying count is per node (Redis shares
// scores and bans, not these counts).
#pragma once
#include "policy/guard.hpp"

#include <chrono>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace mailfort::mailbox {

// [pure] One auth policy request.
struct policy_request {
  std::string command;  // "allow" or "report"
  std::string login;
  std::string remote;
  std::string protocol;
  std::string session;
  std::string pwhash;
  std::string pwspray;  // SHA-256(password), first 64 bits, hex (see above)
  bool tls = false;
  bool success = false;
  bool policy_reject = false;
};

// [pure] The request target's command (`...?command=allow`) and the JSON body; false when malformed.
bool parse_policy_request(std::string_view target, std::string_view body, policy_request& out);

// [pure] Distinct-account counting per key within a window, bounded in memory: for credential stuffing (key =
// source). add() returns the number of distinct accounts seen for
// the key within the window, this one included.
class distinct_counter {
 public:
  distinct_counter(std::chrono::seconds window, std::size_t max_keys) : window_(window), max_keys_(max_keys) {}
  std::size_t add(const std::string& key, const std::string& account, std::chrono::steady_clock::time_point now);

 private:
  std::chrono::seconds window_;
  std::size_t max_keys_;
  std::map<std::string, std::map<std::string, std::chrono::steady_clock::time_point>> seen_;
};

// [pure] Password spraying: per password hash, the distinct accounts it failed on and the sources that tried it,
// within a window; bounded (max_keys hashes, 1,000 accounts and sources each).
class spray_tracker {
 public:
  spray_tracker(std::chrono::seconds window, std::size_t accounts, std::size_t max_keys)
      : window_(window), accounts_(accounts), max_keys_(max_keys) {}
  struct verdict {
    std::size_t accounts = 0;  // distinct accounts failed with this password within the window
    bool sprayed = false;      // accounts >= the threshold: this failure is scored as spraying
    // When this failure crossed the threshold: the other sources (source key, address, failures with this
    // password), to be scored now; each failure is handed out once.
    struct earlier_source {
      std::string source, address;
      unsigned failures = 0;
    };
    std::vector<earlier_source> earlier;
    unsigned own_earlier = 0;  // likewise, this source's own earlier failures with it
  };
  verdict add(const std::string& hash, const std::string& account, const std::string& source,
              const std::string& address, std::chrono::steady_clock::time_point now);

 private:
  using time_point = std::chrono::steady_clock::time_point;
  struct tried {
    std::string address;
    unsigned failures = 0;  // not yet scored as spraying
    time_point last{};
  };
  struct entry {
    std::map<std::string, time_point> accounts;
    std::map<std::string, tried> sources;
    bool sprayed = false;
    time_point last{};
  };
  std::chrono::seconds window_;
  std::size_t accounts_;
  std::size_t max_keys_;
  std::map<std::string, entry> seen_;
};

class login_guard {
 public:
  login_guard(policy::guard& guard, std::filesystem::path access_socket, std::chrono::seconds window);
  ~login_guard();
  login_guard(const login_guard&) = delete;
  login_guard& operator=(const login_guard&) = delete;

  // Binds 127.0.0.1 (a free port) for the policy protocol and the access socket, then starts the thread.
  void start();
  void stop();

  std::string url() const;     // http://127.0.0.1:<port>/dovecot/policy
  std::string header() const;  // "Authorization: Bearer <token>"
  std::string nonce() const;   // auth_policy_hash_nonce
  // [pure] The `pwspray` value Dovecot sends for a password: hex of the first 64 bits of SHA-256. That of the
  // empty password (a request without one) is never counted.
  static std::string spray_hash(const std::string& password);
  const std::filesystem::path& access_socket() const { return access_path_; }

  // The JSON answer to one request (also used by unit tests through a guard on a temp database).
  std::string handle(const policy_request& r);
  // Whether a client at this address may connect (access socket lookup).
  bool allowed(const std::string& ip);

 private:
  void run();

  policy::guard& guard_;
  std::filesystem::path access_path_;
  std::string token_;
  std::string nonce_;
  int http_fd_ = -1;
  int access_fd_ = -1;
  int wake_[2] = {-1, -1};
  unsigned short port_ = 0;
  std::thread thread_;
  distinct_counter by_source_;
  spray_tracker by_password_;
  std::string empty_spray_;  // spray_hash("")
};

}  // namespace mailfort::mailbox
