// fuzz/tlsrpt_fuzzer.cpp: the TLS-RPT (RFC 8460) TXT record parser, record selection, mailto: decoding and the
// JSON report builder on arbitrary bytes.
// SPDX-License-Identifier: MIT
// Invariants: a parsed record has 1..16 rua URIs, each 1..1024 printable non-space ASCII bytes starting with
// mailto: or https: (any case); select_tlsrpt_record() of a single record agrees with parse_tlsrpt_record()
// when the record starts with "v=TLSRPTv1" and two copies of it select nothing; a decoded mailto address is
// printable ASCII with exactly one '@'; the report built from rows cut out of the input is valid JSON whose
// summary counts add up to the rows' counts, with every failure-details result-type an RFC 8460 one.
#include "report/tlsrpt.hpp"

#include <nlohmann/json.hpp>

#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

using namespace mailfort::report;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);

  auto rec = parse_tlsrpt_record(in);
  if (rec) {
    if (rec->rua.empty() || rec->rua.size() > tlsrpt_max_rua) std::abort();
    for (const auto& u : rec->rua) {
      if (u.empty() || u.size() > tlsrpt_max_uri) std::abort();
      for (char c : u)
        if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f) std::abort();
      std::string low;
      for (char c : u.substr(0, 7)) low += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (low != "mailto:" && low.substr(0, 6) != "https:") std::abort();
    }
    auto one = select_tlsrpt_record({std::string(in)});
    if (!one || one->rua != rec->rua) std::abort();
    if (select_tlsrpt_record({std::string(in), std::string(in)})) std::abort();
  }
  if (auto m = tlsrpt_mailto(in)) {
    std::size_t ats = 0;
    for (char c : *m) {
      if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f) std::abort();
      ats += c == '@';
    }
    if (ats != 1) std::abort();
  }

  // Rows: the input cut at NUL bytes into fields, 9 per row, plus a count from the first byte.
  std::vector<std::string> fields;
  std::size_t start = 0;
  while (start <= in.size() && fields.size() < 90) {
    auto z = in.find('\0', start);
    fields.emplace_back(in.substr(start, z == std::string_view::npos ? std::string_view::npos : z - start));
    if (z == std::string_view::npos) break;
    start = z + 1;
  }
  tlsrpt_report_input ri;
  ri.organization = fields.empty() ? "" : fields[0];
  ri.report_id = fields.size() > 1 ? fields[1] : "";
  ri.start = size > 0 ? static_cast<std::int64_t>(data[0]) * 86400 : 0;
  ri.end = ri.start + 86399;
  std::int64_t ok = 0, failed = 0;
  for (std::size_t i = 0; i + 9 <= fields.size(); i += 9) {
    tlsrpt_row r;
    r.s.policy_domain = fields[i];
    r.s.policy_type = fields[i + 1];
    r.s.policy_string = {fields[i + 2]};
    r.s.mx_host = {fields[i + 3]};
    r.s.result_type = (fields[i + 4].size() % 3 == 0) ? "" : fields[i + 4];
    r.s.sending_ip = fields[i + 5];
    r.s.receiving_mx = fields[i + 6];
    r.s.receiving_ip = fields[i + 7];
    r.s.additional_info = fields[i + 8];
    r.count = static_cast<std::int64_t>(fields[i + 8].size()) - 2;  // some negative: must count as 0
    (r.s.result_type.empty() ? ok : failed) += std::max<std::int64_t>(r.count, 0);
    ri.rows.push_back(std::move(r));
  }
  auto text = build_tlsrpt_json(ri);
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) std::abort();
  std::int64_t jok = 0, jfailed = 0;
  for (const auto& p : j.at("policies")) {
    jok += p.at("summary").at("total-successful-session-count").get<std::int64_t>();
    jfailed += p.at("summary").at("total-failure-session-count").get<std::int64_t>();
    std::int64_t detail_sum = 0;
    if (p.contains("failure-details"))
      for (const auto& d : p.at("failure-details")) {
        if (!tlsrpt_known_result(d.at("result-type").get<std::string>())) std::abort();
        detail_sum += d.at("failed-session-count").get<std::int64_t>();
      }
    if (detail_sum != p.at("summary").at("total-failure-session-count").get<std::int64_t>()) std::abort();
  }
  if (jok != ok || jfailed != failed) std::abort();
  return 0;
}
