// smtp/cleanup.hpp: the one owner of a message between the session and the queue, as Postfix's cleanup(8) is.
// SPDX-License-Identifier: MIT
// At the end of data the connection hands over the message as received (the header section in memory, the
// body already streamed to queue/tmp/<id> by queue::message_file). The cleanup step then, in this order: refuses
// it when receiving it failed or spent the in-flight budget, runs the content filters (the attachment policy,
// then the milters, which may rewrite the header section, the body and the envelope), runs the sender checks
// (SPF, DKIM, DMARC, adding Authentication-Results) on the MX listener or the DKIM signing for a logged-in user
// or a trusted network, adds our Received: field, builds the queue envelope and hands the file to the spool
// through the awaitable store(). It returns what became of the message; the session turns that into the reply
// (session::on_cleanup), the connection sends it.
//
// SECURITY: everything here reads the message, which the client controls. The body is never held in memory
// (the filters and the checks read the file in 64 KiB chunks, on the CPU pool where the work is long); the
// header section is bounded by limits.header_section. Nothing is queued unless every check said so.
#pragma once
#include "smtp/inbound.hpp"
#include "smtp/session.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace mailfort::queue {
class message_file;
struct envelope;
}  // namespace mailfort::queue

namespace mailfort::smtp {

struct server_deps;

// The connection a message came on: for the envelope, the milters, the checks and the log. The views point into
// the connection, which outlives the cleanup step.
struct client_facts {
  std::string_view session_id;
  std::string_view client;  // "ip:port", "[v6]:port": as logged
  std::string_view client_ip;
  std::uint16_t client_port = 0;
  std::string_view local_ip;
  listener_kind kind = listener_kind::mx;
  std::string_view tls_version, tls_cipher;  // of the connection; used only when the session says TLS is active
  bool trusted = false;                      // the client is in relay.trusted_networks
};

// How receiving the content went (the connection streams it; the cleanup step judges it).
struct received_content {
  bool over_budget = false;    // limits.inflight_bytes was spent while it arrived: nothing more was kept
  std::error_code sink_error;  // writing queue/tmp/<id> failed
};

class cleanup {
 public:
  cleanup(const server_deps& deps, const client_facts& client, boost::asio::any_io_executor ex)
      : deps_(deps), client_(client), ex_(std::move(ex)) {}

  // Bytes the queue file's envelope needs besides the header section (queue::message_file leaves room for them
  // in front of the body): every envelope value is known at DATA but the TLS and folder names.
  static std::size_t envelope_room(const session& sess, const client_facts& client);

  // The message at the end of data: `mf` holds it (not yet finished), `sess` its transaction. Runs on the
  // connection's event loop; long work runs on the CPU pool.
  boost::asio::awaitable<cleanup_outcome> process(const session& sess, queue::message_file& mf,
                                                  received_content received);

 private:
  // The envelope as the milters leave it, and where the message goes.
  struct draft {
    std::string sender;
    std::vector<std::string> recipients;
    std::string folder;       // Maildir folder ("Junk"), empty for the inbox
    std::string quarantined;  // held in the queue with this reason once spooled
    bool discarded = false;
  };
  // Each step returns an outcome when it ends the message's road here (refused, unwritable), else nullopt.
  boost::asio::awaitable<std::optional<cleanup_outcome>> check_attachments(const message_content& content,
                                                                           const queue::message_file& mf);
  boost::asio::awaitable<std::optional<cleanup_outcome>> run_milters(const session& sess, message_content& content,
                                                                     queue::message_file& mf, draft& d);
  // The sender checks (SPF, DKIM, DMARC) on the MX listener, DKIM signing for a logged-in user or a trusted
  // network (inbound_checker).
  boost::asio::awaitable<std::optional<cleanup_outcome>> authenticate(const session& sess, message_content& content,
                                                                      const std::string& queue_id, draft& d);
  // Makes the message durable: the envelope and the head part (our Received:, then `head`) are written in front
  // of the body already on disk under queue/tmp/ (or, for a small message, the whole file is written by the
  // commit thread); the commit thread fsyncs, renames into active/ and fsyncs the directory.
  boost::asio::awaitable<cleanup_outcome> store(const session& sess, queue::message_file& mf, message_content& content,
                                                draft& d);
  nlohmann::json fields(nlohmann::json extra) const;

  const server_deps& deps_;
  const client_facts& client_;
  boost::asio::any_io_executor ex_;
};

}  // namespace mailfort::smtp
