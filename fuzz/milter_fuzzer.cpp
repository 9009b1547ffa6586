// fuzz/milter_fuzzer.cpp: the milter reply side on arbitrary milter bytes: framing, reply parsing, custom
// replies, and the header edits of end of message applied to an arbitrary header section.
// SPDX-License-Identifier: MIT
// Input: byte 0 picks the chunk size (1..64) and byte 1 the packet limit (16..4111); the rest is what the milter
// sends. Invariants: feeding in chunks yields exactly the packets of feeding in one piece; a packet never exceeds
// the limit; encode() round-trips; a parsed custom reply is 4xx/5xx with an enhanced code of its class and
// printable lines; every parsed header edit applies to a header section made of the input's tail, and applying no
// edit to a CRLF-terminated section gives it back unchanged.
#include "filter/milter_codec.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

using namespace mailfort::filter::milter;

namespace {

std::vector<packet> drain(packet_reader& r, bool& error) {
  std::vector<packet> out;
  packet p;
  while (true) {
    auto st = r.next(p);
    if (st == packet_reader::status::error) {
      error = true;
      break;
    }
    if (st == packet_reader::status::need_more) break;
    out.push_back(p);
  }
  return out;
}

void check_custom(const std::string& text) {
  auto r = parse_custom_reply(text);
  if (!r) return;
  if (r->code < 400 || r->code > 599) std::abort();
  if (r->enhanced.empty() || r->enhanced[0] != static_cast<char>('0' + r->code / 100)) std::abort();
  if (r->lines.empty() || r->lines.size() > 32) std::abort();
  for (const auto& l : r->lines)
    for (char c : l)
      if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7F) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::size_t chunk = 1 + data[0] % 64;
  const std::size_t limit = 16 + static_cast<std::size_t>(data[1]) * 16;
  std::string_view in(reinterpret_cast<const char*>(data) + 2, size - 2);

  packet_reader whole(limit);
  whole.feed(in);
  bool whole_error = false;
  auto a = drain(whole, whole_error);

  packet_reader pieces(limit);
  std::vector<packet> b;
  bool piece_error = false;
  for (std::size_t i = 0; i < in.size() && !piece_error; i += chunk) {
    pieces.feed(in.substr(i, chunk));
    auto got = drain(pieces, piece_error);
    b.insert(b.end(), got.begin(), got.end());
  }
  if (a.size() != b.size() || whole_error != piece_error) std::abort();

  std::vector<header_edit> edits;
  std::string head(in.substr(in.size() / 2));
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].command != b[i].command || a[i].data != b[i].data) std::abort();
    if (a[i].data.size() + 1 > limit) std::abort();
    // Round trip through the encoder.
    packet_reader rt(limit);
    rt.feed(encode(a[i].command, a[i].data));
    packet p;
    if (rt.next(p) != packet_reader::status::packet || p.command != a[i].command || p.data != a[i].data) std::abort();

    auto pr = parse_reply(a[i]);
    if (!pr.value) continue;
    const auto& r = *pr.value;
    switch (r.kind) {
      case reply_kind::reply_code:
        check_custom(r.text);
        break;
      case reply_kind::add_header:
        edits.push_back({header_edit::op::add, 0, r.name, r.value});
        break;
      case reply_kind::insert_header:
        edits.push_back({header_edit::op::insert, r.index, r.name, r.value});
        break;
      case reply_kind::change_header:
        edits.push_back({header_edit::op::change, r.index, r.name, r.value});
        break;
      case reply_kind::change_from:
      case reply_kind::add_rcpt:
      case reply_kind::add_rcpt_par:
      case reply_kind::del_rcpt:
        if (!r.address.empty() && !valid_envelope_address(r.address)) std::abort();
        break;
      default:
        break;
    }
  }
  // Custom replies straight from the input, too (most inputs never form a 'y' packet).
  check_custom(std::string(in.substr(0, 600)));

  auto sh = split(head);
  if (sh.fields_end > head.size() || sh.body_start > head.size() || sh.fields_end > sh.body_start) std::abort();
  for (const auto& f : sh.fields) (void)value_for_milter(f.value, false);
  auto same = apply_header_edits(head, {}, false);
  if (!same) std::abort();
  if (head.size() >= 2 && head.compare(head.size() - 2, 2, "\r\n") == 0 && *same != head) std::abort();
  if (!edits.empty()) {
    // Parsed edits are valid by construction: applying them must succeed.
    auto edited = apply_header_edits(head, edits, false);
    if (!edited) std::abort();
    auto again = split(*edited);
    if (again.fields_end > edited->size()) std::abort();
  }
  std::string norm;
  bool cr = false;
  normalize_body_chunk(in, norm, cr);
  for (std::size_t i = 0; i < norm.size(); ++i) {
    if (norm[i] == '\n' && (i == 0 || norm[i - 1] != '\r')) std::abort();
    if (norm[i] == '\r' && (i + 1 >= norm.size() || norm[i + 1] != '\n')) std::abort();
  }
  return 0;
}
