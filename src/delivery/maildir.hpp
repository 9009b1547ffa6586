// delivery/maildir.hpp: durable Maildir delivery (tmp -> new, fsync, unique names per the Maildir spec).
// SPDX-License-Identifier: MIT
// The mailbox path is derived only from a validated local part: mailbox_path() refuses '/', NUL, "."
// and "..", control bytes and anything outside a conservative character set, so an address can never
// reach outside <mail_root>/<domain>/. Local parts are lower-cased (case-insensitive local users).
#pragma once
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace mailfort::delivery {

// <mail_root>/<domain>/<local>/ or nullopt if the local part or domain is not safe as a path component.
std::optional<std::filesystem::path> mailbox_path(const std::filesystem::path& mail_root, std::string_view local,
                                                  std::string_view domain);

// Create tmp/ new/ cur/ if needed, write the message to tmp/<unique>, fsync, rename into new/, fsync new/.
// Returns the final file name or an error; no file is left in tmp/ on failure.
std::error_code deliver_maildir(const std::filesystem::path& maildir, std::string_view message,
                                std::string* final_name = nullptr);

// Batched delivery (the queue runner's fast path): stage() writes tmp/<name> without syncing;
// commit() makes every staged file durable with one syncfs(2), renames each into new/, then fsyncs
// each distinct new/ once. A message is in new/ only after its bytes are on disk.
struct staged_file {
  std::filesystem::path tmp;
  std::filesystem::path final_path;
  std::string name;
};
std::error_code stage_maildir(const std::filesystem::path& maildir, std::string_view message, staged_file& out);
// Returns one error code per staged file (empty on success); failed files are removed from tmp/.
std::vector<std::error_code> commit_maildir(std::vector<staged_file>& files);

}  // namespace mailfort::delivery
