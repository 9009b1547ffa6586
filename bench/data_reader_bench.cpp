// bench/data_reader_bench.cpp: the DATA reader (smtp/data_reader), the parser every received byte goes
// through, on the shapes of message it meets: a 5 KB message as smtp-source sends it, a 1 MB body of
// 76-column lines (base64 attachments), and a worst case of empty and dot-stuffed lines (the byte loop alone).
// Fed in 4 KB pieces, as the server reads them. Bytes per second are of the wire text.
// SPDX-License-Identifier: MIT
#include "smtp/data_reader.hpp"

#include <benchmark/benchmark.h>

#include <string>

namespace {
using mailfort::smtp::data_limits;
using mailfort::smtp::data_reader;
using mailfort::smtp::data_status;

std::string message(std::size_t body_bytes, std::size_t line_len) {
  std::string m =
      "From: <a@example.org>\r\nTo: <b@example.net>\r\nSubject: bench\r\nMessage-ID: <x@example.org>\r\n\r\n";
  while (m.size() < body_bytes) m += std::string(line_len, 'x') + "\r\n";
  return m + ".\r\n";
}

std::string dotty(std::size_t bytes) {
  std::string m = "Subject: dots\r\n\r\n";
  while (m.size() < bytes) m += "..\r\n\r\n.x\r\n";
  return m + ".\r\n";
}

void feed_all(benchmark::State& state, const std::string& wire) {
  std::string out;
  for (auto _ : state) {
    data_reader r(data_limits{});
    out.clear();
    std::string_view in(wire);
    while (!in.empty()) {
      auto res = r.feed(in.substr(0, 4096), out);
      in.remove_prefix(res.consumed);
      if (res.status == data_status::done) break;
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(wire.size()));
}

void BM_data_5k(benchmark::State& state) { feed_all(state, message(5000, 72)); }
void BM_data_1m_base64(benchmark::State& state) { feed_all(state, message(1 << 20, 76)); }
void BM_data_dot_lines(benchmark::State& state) { feed_all(state, dotty(64 * 1024)); }
}  // namespace

BENCHMARK(BM_data_5k);
BENCHMARK(BM_data_1m_base64);
BENCHMARK(BM_data_dot_lines);
BENCHMARK_MAIN();
