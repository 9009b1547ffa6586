// queue/envelope.hpp: [pure] the queue file format: a versioned, checksummed envelope followed by the message.
// SPDX-License-Identifier: MIT
// Every field round-trips byte-exactly whatever the client sent: values are length-prefixed, never
// delimited by newlines, so no field can be injected (Exim CVE-2020-28026/28021 class). A CRC-free
// SHA-256 over envelope and body detects truncation and corruption; such files are quarantined.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailfort::queue {

struct recipient {
  std::string address;  // as accepted (source route stripped), e.g. alice@localhost
  std::string orcpt;    // reserved for DSN (empty)
  enum class state : std::uint8_t { pending = 0, delivered = 1, failed = 2 } status = state::pending;
  // Delivery history (tag Y, written only once there is some): failed attempts so far, when the next one is
  // due (unix seconds, 0 = now) and the last temporary or permanent reason (printable text, bounded).
  std::uint32_t attempts = 0;
  std::int64_t next_attempt = 0;
  std::string last_error;
  bool delay_notified = false;  // a delay DSN was sent for it (tag D, written only when true)
};

struct envelope {
  std::uint32_t version = 2;  // decode(): the file's version (1 files are still read)
  std::string id;             // queue id (common::new_queue_id)
  std::string sender;         // reverse-path without <>; empty = null sender
  std::vector<recipient> recipients;
  std::int64_t received_at = 0;  // unix seconds
  std::string session_id;
  std::string client_ip;
  std::uint16_t client_port = 0;
  std::string helo;
  std::string listener;   // "mx", "submission", "submissions"
  std::string auth_user;  // authenticated login, empty if none
  std::string tls;        // e.g. "TLSv1.3 TLS_AES_256_GCM_SHA384", empty if plaintext
  std::string body_type;  // "7BIT" / "8BITMIME"
  bool smtputf8 = false;
  std::string folder;  // Maildir++ folder for local delivery ("Junk" for DMARC quarantine); empty = INBOX
  std::uint32_t attempts = 0;
  std::int64_t next_attempt = 0;
};

// Serialise envelope + message into the bytes of one queue file (the whole message as its head part).
std::string encode(const envelope& env, std::string_view message);

// SHA-256, fed in pieces (the body of a message is hashed as it arrives). Hex output.
class sha256_stream {
 public:
  sha256_stream();
  ~sha256_stream();
  sha256_stream(const sha256_stream&) = delete;
  sha256_stream& operator=(const sha256_stream&) = delete;
  void update(std::string_view data);
  std::string finish_hex();  // and starts again

 private:
  void* ctx_;
};
std::string sha256_of(std::string_view data);

// The bytes of a queue file up to and including the message's head part: the message is `head` followed by
// `body_len` bytes whose SHA-256 is `body_sha256_hex` (written separately, e.g. streamed to disk as they
// arrived). With pad_to != 0 the result is exactly pad_to bytes long (a padding field fills the gap), or
// nullopt when that is impossible (too small, or one of the few gaps no single field fits): then the body
// cannot stay where it is.
std::optional<std::string> encode_prefix(const envelope& env, std::string_view head, std::uint64_t body_len,
                                         std::string_view body_sha256_hex, std::size_t pad_to);

enum class decode_error : std::uint8_t { ok, truncated, bad_magic, bad_version, bad_checksum, malformed };

struct decoded {
  decode_error error = decode_error::ok;
  envelope env;
  std::string_view message;     // points into the input
  std::size_t head_len = 0;     // version 2: the head part's length (G); version 1: the message length
  std::size_t prefix_size = 0;  // bytes before the message
  bool padded = false;          // a padding field is present (encode_prefix with pad_to = prefix_size)
};
// Parse a queue file. Never throws; every length is bounds-checked.
decoded decode(std::string_view file);

const char* decode_error_name(decode_error e);

}  // namespace mailfort::queue
