// cli/queue.cpp: `mailfort queue list|show ID|flush|delete ID` on the durable queue. Everything shown from a queue
// file passes the printable filter: its bytes came from whoever sent the message.
// SPDX-License-Identifier: MIT
#include "cli/cli.hpp"
#include "common/ascii.hpp"
#include "common/ids.hpp"
#include "queue/envelope.hpp"
#include "queue/runner.hpp"
#include "queue/spool.hpp"

#include <algorithm>
#include <ctime>
#include <fstream>
#include <iostream>
#include <sstream>

namespace mailfort::cli {

namespace {
std::optional<queue::decoded> read_entry(const queue::spool& sp, const std::string& id, std::string& storage) {
  std::ifstream in(sp.path_of(id), std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  storage = ss.str();
  return queue::decode(storage);
}

const char* state_name(queue::recipient::state s) {
  switch (s) {
    case queue::recipient::state::pending:
      return "pending";
    case queue::recipient::state::delivered:
      return "delivered";
    case queue::recipient::state::failed:
      return "failed";
  }
  return "pending";
}

// Bytes from the queue file (addresses, HELO, remote replies, headers) as the terminal may see them: printable
// ASCII kept, everything else \xNN (common::printable), never cut short of a real header line.
std::string shown(std::string_view raw, std::size_t max = 2048) { return common::printable(raw, max); }

// "now" for a due recipient, else the UTC time of the next attempt.
std::string next_text(std::int64_t at) {
  return at <= static_cast<std::int64_t>(std::time(nullptr)) ? std::string("now") : utc_time(at);
}
}  // namespace

void register_queue(CLI::App& app, common_options& opts, int& exit_code) {
  auto* q = app.add_subcommand("queue", "inspect and manage the mail queue");
  q->require_subcommand(1);

  auto* list = q->add_subcommand("list", "list queued messages");
  list->callback([&opts, &exit_code] {
    auto cfg = load_config_or_exit(opts);
    queue::spool sp(std::filesystem::path(cfg.data_dir) / "queue");
    std::size_t n = 0;
    for (const auto& id : sp.list()) {
      std::string buf;
      auto d = read_entry(sp, id, buf);
      if (!d || d->error != queue::decode_error::ok) {
        std::cout << id << "  (unreadable: " << (d ? queue::decode_error_name(d->error) : "missing") << ")\n";
        continue;
      }
      std::size_t pending = 0;
      std::int64_t next = INT64_MAX;
      std::string first_error;
      for (auto& r : d->env.recipients) {
        if (r.status != queue::recipient::state::pending) continue;
        ++pending;
        next = std::min(next, r.next_attempt);
        if (first_error.empty()) first_error = r.last_error;
      }
      std::cout << id << "  " << utc_time(d->env.received_at) << "  " << d->message.size() << " bytes  <"
                << shown(d->env.sender) << ">  " << pending << "/" << d->env.recipients.size() << " pending";
      if (pending) std::cout << "  next: " << next_text(next);
      if (!first_error.empty()) std::cout << "  (" << shown(first_error.substr(0, 100)) << ")";
      std::cout << "\n";
      ++n;
    }
    std::cout << n << " message(s) in queue\n";
    exit_code = 0;
  });

  static std::string show_id;
  auto* show = q->add_subcommand("show", "show one message's envelope, recipient states and headers");
  show->add_option("ID", show_id, "queue id")->required();
  show->callback([&opts, &exit_code] {
    auto cfg = load_config_or_exit(opts);
    queue::spool sp(std::filesystem::path(cfg.data_dir) / "queue");
    if (!common::is_queue_id(show_id)) {
      std::cerr << "mailfort: '" << show_id << "' is not a queue id\n";
      exit_code = 2;
      return;
    }
    std::string buf;
    auto d = read_entry(sp, show_id, buf);
    if (!d) {
      std::cerr << "mailfort: no queued message " << show_id << "\n";
      exit_code = 1;
      return;
    }
    if (d->error != queue::decode_error::ok) {
      std::cerr << "mailfort: " << show_id << " is corrupt: " << queue::decode_error_name(d->error) << "\n";
      exit_code = 1;
      return;
    }
    const auto& e = d->env;
    std::cout << "id: " << e.id << "\nreceived: " << utc_time(e.received_at) << "\nsender: <" << shown(e.sender)
              << ">\nclient: " << shown(e.client_ip) << ":" << e.client_port << " helo=" << shown(e.helo)
              << "\nlistener: " << shown(e.listener) << "\nauth_user: " << shown(e.auth_user)
              << "\ntls: " << shown(e.tls) << "\nattempts: " << e.attempts << "\n";
    for (const auto& r : e.recipients) {
      std::cout << "recipient: <" << shown(r.address) << "> " << state_name(r.status);
      if (r.attempts) std::cout << " attempts=" << r.attempts;
      if (r.status == queue::recipient::state::pending) std::cout << " next=" << next_text(r.next_attempt);
      if (!r.last_error.empty()) std::cout << " last_error=\"" << shown(r.last_error) << "\"";
      std::cout << "\n";
    }
    // The header section is the sender's bytes: each line goes through the printable filter (ESC and every other
    // control or 8-bit byte as \xNN, backslash as \x5c), so no header can drive the admin's terminal.
    auto hdr_end = d->message.find("\r\n\r\n");
    std::string_view head = d->message.substr(0, hdr_end == std::string_view::npos ? d->message.size() : hdr_end + 2);
    std::cout << "\n";
    while (!head.empty()) {
      auto eol = head.find("\r\n");
      std::string_view line = head.substr(0, eol);
      std::cout << shown(line, 8192) << "\n";
      head.remove_prefix(eol == std::string_view::npos ? head.size() : eol + 2);
    }
    exit_code = 0;
  });

  auto* flush = q->add_subcommand(
      "flush",
      "retry every queued message now: a running server's queue runner does it (control channel); with no "
      "server, local mail is delivered and deferred remote recipients are made due offline");
  flush->callback([&opts, &exit_code] {
    auto cfg = load_config_or_exit(opts);
    // A running server flushes with its own runner: never a second runner next to it (docs/queue.md).
    auto print = [](const nlohmann::json& r) {
      std::cout << "server flushing: every queued message is retried now; " << r.value("queue", 0)
                << " message(s) in queue\n";
    };
    if (via_server(cfg, {{"verb", "flush"}}, exit_code, print, "queue flush done offline")) return;
    queue::spool sp(std::filesystem::path(cfg.data_dir) / "queue");
    sp.start();  // a local failure may queue a DSN
    // Make deferred recipients due: the running server sees the rewritten file and retries it.
    std::size_t made_due = 0;
    for (const auto& id : sp.list()) {
      std::string buf;
      auto d = read_entry(sp, id, buf);
      if (!d || d->error != queue::decode_error::ok) continue;
      auto env = d->env;
      bool changed = false;
      for (auto& r : env.recipients)
        if (r.status == queue::recipient::state::pending && r.next_attempt != 0) {
          r.next_attempt = 0;
          changed = true;
        }
      if (!changed) continue;
      try {
        sp.rewrite(env, d->message);
        ++made_due;
      } catch (const std::exception& ex) {
        std::cerr << "mailfort: " << id << ": " << ex.what() << "\n";
      }
    }
    auto domains = cfg.domains;
    queue::runner r(sp, std::filesystem::path(cfg.data_dir) / "mail", [domains](const std::string& d) {
      for (const auto& x : domains)
        if (x.size() == d.size() && std::equal(x.begin(), x.end(), d.begin(), [](char a, char b) {
              return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
            }))
          return true;
      return false;
    });
    r.run_once();
    sp.stop();
    std::cout << made_due << " deferred message(s) made due; " << sp.list().size() << " message(s) left in queue\n";
    exit_code = 0;
  });

  static std::string del_id;
  auto* del = q->add_subcommand("delete", "delete a queued message");
  del->add_option("ID", del_id, "queue id")->required();
  del->callback([&opts, &exit_code] {
    auto cfg = load_config_or_exit(opts);
    queue::spool sp(std::filesystem::path(cfg.data_dir) / "queue");
    if (!common::is_queue_id(del_id) || !std::filesystem::exists(sp.path_of(del_id))) {
      std::cerr << "mailfort: no queued message " << del_id << "\n";
      exit_code = 1;
      return;
    }
    sp.remove(del_id);
    std::cout << "deleted " << del_id << "\n";
    exit_code = 0;
  });
}

}  // namespace mailfort::cli
