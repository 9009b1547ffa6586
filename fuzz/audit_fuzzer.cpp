// fuzz/audit_fuzzer.cpp: the auditor's parsers of what a remote server says: certificate fields (DER), the
// hostname match, software/version detection in banners, EHLO-driven capability and pipelining checks, and the report
// renderers on hostile evidence.
// SPDX-License-Identifier: MIT
// Input: byte 0 selects the target: 0 = a certificate (the rest as DER), 1 = banner text, 2 = an EHLO reply
// (the rest as server bytes through reply_parser) whose text also feeds every renderer.
// Invariants: nothing crashes or throws; detect_software returns at most a 32-byte version of digits and dots;
// text output holds no control byte but '\n' (no ESC reaches a terminal); HTML never holds a "<script" tag.
#include "audit/cert_info.hpp"
#include "audit/report.hpp"
#include "audit/smtp_observations.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

using namespace mailfort;
using namespace mailfort::audit;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 3) {
    case 0: {
      if (auto c = parse_certificate(in)) {
        (void)days_left(*c, 1700000000);
        if (c->dns_names.size() > 64) std::abort();
      }
      (void)certificate_matches_host(in, "mx.example.org");
      break;
    }
    case 1: {
      auto sw = detect_software(in);
      if (sw.version.size() > 32) std::abort();
      for (char ch : sw.version)
        if (!(ch == '.' || (ch >= '0' && ch <= '9'))) std::abort();
      break;
    }
    default: {
      outbound::reply_parser p;
      auto r = p.feed(in);
      smtp_observations o;
      o.host = "192.0.2.1";
      o.connected = true;
      if (r.status == outbound::reply_status::reply) {
        o.banner = p.get();
        o.ehlo_reply = p.get();
        o.ehlo = outbound::parse_ehlo(p.get());
      }
      report rep;
      rep.kind = "smtp";
      rep.target = std::string(in.substr(0, 64));
      check_banner(o, rep.findings);
      check_capabilities(o, {}, rep.findings);
      // Pipelining verdicts quote what the server answered (evidence is remote text).
      o.pipelining.grp = pipelining_obs::group::broken;
      o.pipelining.group_evidence = std::string(in);
      o.pipelining.data = pipelining_obs::data_sync::tolerated;
      o.pipelining.data_evidence = std::string(in);
      check_pipelining(o, rep.findings);
      rep.add({"fuzz", severity::low, control_area::protocol, std::string(in), std::string(in), std::string(in), {}});
      auto text = render_text(rep, false);
      for (char ch : text)
        if ((static_cast<unsigned char>(ch) < 0x20 && ch != '\n') || ch == 0x7f) std::abort();
      auto html = render_html(rep);
      if (html.find("<script") != std::string::npos) std::abort();  // input is always escaped
      (void)render_json(rep);
      break;
    }
  }
  return 0;
}
