// inbound/checker.hpp: smtp::inbound_checker over the resolver and src/auth/: SPF, DKIM and DMARC on mail
// arriving on the MX listener, our Authentication-Results, DMARC enforcement, and DKIM signing of mail
// from authenticated users.
// SPDX-License-Identifier: MIT
// Threading: check() runs on the connection's event loop and uses that loop's resolver (one per loop,
// registered with add_loop before the loops run). Report rows are written, and message bodies hashed (DKIM,
// every canonicalisation in one pass over the file), on the blocking pool.
#pragma once
#include "auth/dkim_sign.hpp"
#include "config/config.hpp"
#include "dns/source.hpp"
#include "report/dmarc_store.hpp"
#include "smtp/inbound.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/execution_context.hpp>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace mailfort::inbound {

class checker final : public smtp::inbound_checker {
 public:
  // Loads the DKIM signing keys of cfg.dkim.keys; throws std::runtime_error naming the file when one
  // cannot be used (startup must fail rather than send unsigned mail silently). `reports` may be null.
  checker(const config::config& cfg, report::dmarc_store* reports, boost::asio::any_io_executor blocking);

  // The resolver serving connections of one event loop.
  void add_loop(boost::asio::execution_context& loop, dns::source& dns) { dns_[&loop] = &dns; }
  // Who may send as which From: address (default smtp::may_send_as: the login's own address only); the daemon
  // adds subaddresses and aliases (address/resolve.hpp). Set before the loops run.
  void set_send_as(std::function<bool(std::string_view login, std::string_view address)> f) { send_as_ = std::move(f); }

  boost::asio::awaitable<smtp::inbound_verdict> check(boost::asio::any_io_executor ex, const smtp::inbound_message& m,
                                                      smtp::message_content& content) override;
  boost::asio::awaitable<smtp::inbound_verdict> submit(boost::asio::any_io_executor ex, const smtp::inbound_message& m,
                                                       smtp::message_content& content) override;

 private:
  struct key_entry {
    std::string domain;
    std::string selector;
    dkim::signing_key key;
  };
  const config::config& cfg_;
  std::string authserv_id_;
  report::dmarc_store* reports_;
  boost::asio::any_io_executor blocking_;
  std::map<const boost::asio::execution_context*, dns::source*> dns_;
  std::vector<key_entry> keys_;
  std::function<bool(std::string_view, std::string_view)> send_as_;
};

}  // namespace mailfort::inbound
