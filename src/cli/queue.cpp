// cli/queue.cpp: `mailfort queue list|show ID|flush|delete ID` on the durable queue.
// SPDX-License-Identifier: MIT
#include "cli/cli.hpp"
#include "common/ids.hpp"
#include "queue/envelope.hpp"
#include "queue/runner.hpp"
#include "queue/spool.hpp"

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
      for (auto& r : d->env.recipients) pending += r.status == queue::recipient::state::pending;
      std::cout << id << "  " << utc_time(d->env.received_at) << "  " << d->message.size() << " bytes  <"
                << d->env.sender << ">  " << pending << "/" << d->env.recipients.size() << " pending\n";
      ++n;
    }
    std::cout << n << " message(s) in queue\n";
    exit_code = 0;
  });

  static std::string show_id;
  auto* show = q->add_subcommand("show", "show one message's envelope and headers");
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
    std::cout << "id: " << e.id << "\nreceived: " << utc_time(e.received_at) << "\nsender: <" << e.sender
              << ">\nclient: " << e.client_ip << ":" << e.client_port << " helo=" << e.helo
              << "\nlistener: " << e.listener << "\nauth_user: " << e.auth_user << "\ntls: " << e.tls << "\n";
    for (const auto& r : e.recipients)
      std::cout << "recipient: <" << r.address << "> "
                << (r.status == queue::recipient::state::pending     ? "pending"
                    : r.status == queue::recipient::state::delivered ? "delivered"
                                                                     : "failed")
                << "\n";
    auto hdr_end = d->message.find("\r\n\r\n");
    std::cout << "\n" << d->message.substr(0, hdr_end == std::string_view::npos ? d->message.size() : hdr_end + 2);
    exit_code = 0;
  });

  auto* flush = q->add_subcommand("flush", "attempt delivery of every queued message now");
  flush->callback([&opts, &exit_code] {
    auto cfg = load_config_or_exit(opts);
    queue::spool sp(std::filesystem::path(cfg.data_dir) / "queue");
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
    std::cout << sp.list().size() << " message(s) left in queue\n";
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
