// tls/cert_watch.cpp: poll, settle, reload.
// SPDX-License-Identifier: MIT
#include "tls/cert_watch.hpp"

#include <sys/stat.h>

namespace mailfort::tls {

namespace {

std::string stat_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return "-";
  return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) + ":" + std::to_string(st.st_size) + ":" +
         std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
}

}  // namespace

cert_watcher::cert_watcher(boost::asio::any_io_executor ex, context_holder& holder,
                           std::function<void(bool, const std::string&)> on_result, std::chrono::milliseconds interval)
    : holder_(holder), on_result_(std::move(on_result)), interval_(interval), timer_(std::move(ex)) {}

std::string cert_watcher::fingerprint() const {
  return stat_of(holder_.settings().certificate) + "|" + stat_of(holder_.settings().key);
}

void cert_watcher::start() {
  loaded_ = previous_ = fingerprint();
  arm();
}

void cert_watcher::stop() {
  stopped_ = true;
  timer_.cancel();
}

void cert_watcher::arm() {
  if (stopped_) return;
  timer_.expires_after(interval_);
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopped_) return;
    poll();
    arm();
  });
}

void cert_watcher::poll() {
  const std::string now = fingerprint();
  const bool settled = now == previous_;
  previous_ = now;
  if (!settled || now == loaded_) return;
  // A file missing (between an unlink and a rename): wait for it rather than report a broken pair.
  if (now.front() == '-' || now.back() == '-') return;
  loaded_ = now;  // tried once per change, whatever the outcome
  std::string error;
  const bool ok = holder_.reload(error);
  if (on_result_) on_result_(ok, error);
}

}  // namespace mailfort::tls
