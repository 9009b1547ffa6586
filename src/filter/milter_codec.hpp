// filter/milter_codec.hpp: [pure] the milter protocol v6 as the MTA speaks it: packet framing, the commands we
// send, the replies a milter sends back, custom SMTP replies, and the header edits of end of message.
// SPDX-License-Identifier: MIT
// Untrusted input: every byte a milter sends. A milter is a separate program, possibly remote, possibly broken:
// a reply that does not parse is a milter failure (the configured default action), never a crash or a guess.
// Limits are given at construction (packet size); every length and index is bounds-checked.
// Sources: libmilter's mfdef.h (command and flag values), Postfix milter8.c (what an MTA accepts), summarised in
// the project's milter research notes (next-integrations, section 2).
// Not implemented: SMFIC_UNKNOWN (we never relay unknown commands to a milter), SMFIR_SETSYMLIST beyond the
// macro lists of the negotiation reply, SMFIP_MDS_* (data chunk size negotiation; chunks stay <= 65535).
#pragma once
#include "smtp/reply.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mailfort::filter::milter {

inline constexpr std::uint32_t k_version = 6;
inline constexpr std::size_t k_chunk = 65535;  // body bytes per BODY packet (libmilter's MILTER_CHUNK_SIZE)

// MTA -> milter commands (SMFIC_*).
namespace cmd {
inline constexpr char abort = 'A', body = 'B', connect = 'C', macro = 'D', eob = 'E', helo = 'H', header = 'L',
                      mail = 'M', eoh = 'N', optneg = 'O', quit = 'Q', rcpt = 'R', data = 'T', quit_nc = 'K';
}

// Actions the MTA offers (SMFIF_*).
namespace act {
inline constexpr std::uint32_t add_headers = 0x01, change_body = 0x02, add_rcpt = 0x04, del_rcpt = 0x08,
                               change_headers = 0x10, quarantine = 0x20, change_from = 0x40, add_rcpt_par = 0x80,
                               set_symlist = 0x100, all = 0x1FF;
}

// Protocol steps (SMFIP_*): NO* = the milter does not want that event; NR_* = it will not reply to it.
namespace proto {
inline constexpr std::uint32_t no_connect = 0x1, no_helo = 0x2, no_mail = 0x4, no_rcpt = 0x8, no_body = 0x10,
                               no_headers = 0x20, no_eoh = 0x40, nr_header = 0x80, no_unknown = 0x100, no_data = 0x200,
                               skip = 0x400, rcpt_rej = 0x800, nr_connect = 0x1000, nr_helo = 0x2000, nr_mail = 0x4000,
                               nr_rcpt = 0x8000, nr_data = 0x10000, nr_unknown = 0x20000, nr_eoh = 0x40000,
                               nr_body = 0x80000, hdr_leadspc = 0x100000, all = 0x1FFFFF;
}

// Macro stages of the negotiation reply's symbol lists (SMFIM_*): connect, helo, mail, rcpt, data, eom, eoh.
enum class stage : std::uint8_t { connect = 0, helo = 1, mail = 2, rcpt = 3, data = 4, eom = 5, eoh = 6 };
inline constexpr std::size_t k_stages = 7;
// The stage character of a MACRO packet (the command it precedes).
char stage_command(stage s);

// ---- framing ---------------------------------------------------------------------------------------------
struct packet {
  char command = 0;
  std::string data;
};

// One packet: u32 big-endian length (command byte + data), the command, the data.
std::string encode(char command, std::string_view data);

// Splits the byte stream from a milter into packets. A length of 0 or above `max_packet` is an error (a milter
// that announces 4 GiB must not make us allocate it); after an error the reader stays in error.
class packet_reader {
 public:
  explicit packet_reader(std::size_t max_packet) : max_(max_packet) {}
  enum class status : std::uint8_t { need_more, packet, error };
  // Appends bytes (at most what the caller read from the socket).
  void feed(std::string_view bytes);
  // The next complete packet, if any.
  status next(packet& out);
  std::size_t buffered() const { return buf_.size() - pos_; }

 private:
  std::size_t max_;
  std::string buf_;
  std::size_t pos_ = 0;
  bool error_ = false;
};

// ---- what we send ----------------------------------------------------------------------------------------
using macro_list = std::vector<std::pair<std::string, std::string>>;

std::string encode_optneg(std::uint32_t version, std::uint32_t actions, std::uint32_t protocol);
std::string encode_macros(char command, const macro_list& macros);
// family: '4', '6', 'U' (unix), 'L' (unknown: no port or address).
std::string encode_connect(std::string_view hostname, char family, std::uint16_t port, std::string_view address);
// A command whose data is NUL-terminated strings (HELO, MAIL, RCPT, HEADER).
std::string encode_strings(char command, const std::vector<std::string_view>& strings);

// ---- what a milter sends back ----------------------------------------------------------------------------
enum class reply_kind : std::uint8_t {
  negotiate,      // 'O'
  continue_,      // 'c'
  accept,         // 'a'
  reject,         // 'r'
  tempfail,       // 't'
  reply_code,     // 'y': text holds the custom reply (validate with parse_custom_reply)
  discard,        // 'd'
  shutdown,       // '4': 421 and close the SMTP session
  connfail,       // 'f': treated as tempfail
  progress,       // 'p'
  skip,           // 's'
  quarantine,     // 'q': text holds the reason
  add_header,     // 'h'
  insert_header,  // 'i'
  change_header,  // 'm'
  change_from,    // 'e'
  add_rcpt,       // '+'
  add_rcpt_par,   // '2'
  del_rcpt,       // '-'
  replace_body,   // 'b': text holds the chunk
};
const char* reply_name(reply_kind k);
// Modifications are valid only in reply to end of message.
bool is_modification(reply_kind k);

struct reply {
  reply_kind kind = reply_kind::continue_;
  std::string text;   // reply_code, quarantine reason, replace_body chunk
  std::string name;   // header name
  std::string value;  // header value (as sent: folds are LF + WSP)
  std::uint32_t index = 0;
  std::string address;  // change_from / add_rcpt / del_rcpt, without <>
  std::string args;     // ESMTP arguments of change_from / add_rcpt_par
  // negotiate
  std::uint32_t version = 0, actions = 0, protocol = 0;
  std::array<std::optional<std::vector<std::string>>, k_stages> macros;  // lists the milter asked for
};

enum class parse_error : std::uint8_t { none, unknown_command, malformed };
struct parse_result {
  std::optional<reply> value;
  parse_error error = parse_error::none;
  const char* why = "";  // for the log when !value
};
parse_result parse_reply(const packet& p);

// A custom reply ('y'): "NNN[-| ][x.y.z ]text" lines joined by CRLF. Only 4xx and 5xx; every line carries the
// same code; an enhanced code must have the class of the reply; text is printable; "%%" becomes "%". Returns
// nullopt when the reply cannot be used (the milter failed).
std::optional<smtp::reply> parse_custom_reply(std::string_view text);

// Is this an address a milter may put in the envelope: printable, no spaces or controls, at most 512 octets?
bool valid_envelope_address(std::string_view a);

// ---- header section --------------------------------------------------------------------------------------
// The header section as the connection holds it (CRLF line ends) cut into fields, the way Postfix's cleanup
// does: a line "name:" starts a field, a line starting with SP/HTAB continues one, anything else (the empty line,
// or a line that is no field) ends the section.
struct head_field {
  std::string_view name;
  std::string_view value;  // after the colon, folds included, without the final CRLF
};
struct split_head {
  std::vector<head_field> fields;
  std::size_t fields_end = 0;  // where the field lines end (the empty line or the first non-field line)
  std::size_t body_start = 0;  // where the body begins: after the empty line, or at the first non-field line
};
split_head split(std::string_view head, std::size_t max_fields = 10000);

// The value as a milter is given it: CRLF folds become LF, and the leading space is removed unless `leadspc`.
std::string value_for_milter(std::string_view value, bool leadspc);

struct header_edit {
  enum class op : std::uint8_t { add, insert, change } kind = op::add;
  std::uint32_t index = 0;  // insert: position (0 = top); change: 1-based occurrence of `name`
  std::string name;
  std::string value;  // as the milter sent it
};
// Applies the edits in order to the field lines of `head` and returns the new header section (the rest of `head`
// after its fields is kept). Change indexes count the fields as received (not those added); an empty value
// deletes; an index past the last occurrence adds the field. Values: LF becomes CRLF; one space goes after the
// colon unless `leadspc`. Returns nullopt if a name or value cannot be written as a header line.
std::optional<std::string> apply_header_edits(std::string_view head, const std::vector<header_edit>& edits,
                                              bool leadspc);

// A replacement body as a milter sends it, with line ends made CRLF (a bare LF becomes CRLF). `pending_cr`
// carries a CR that ended the previous chunk.
void normalize_body_chunk(std::string_view in, std::string& out, bool& pending_cr);

// ---- configuration -------------------------------------------------------------------------------------
// A milter's address as Postfix and Sendmail write it: "inet:host:port", "inet:[v6]:port", "inet:port@host",
// "inet6:port@host", "unix:/path" or "local:/path".
struct address {
  bool unix_socket = false;
  std::string host;  // IP literal or host name (inet)
  std::uint16_t port = 0;
  std::string path;  // unix
};
std::optional<address> parse_address(std::string_view s);

}  // namespace mailfort::filter::milter
