// common/safeio.hpp: the one durable-file helper (chasquid's safeio is the model): write a new file, flush it,
// rename it into place, flush the directory. Used by the queue (queue/spool) and Maildir delivery
// (delivery/maildir); both batch their flushes (one syncfs(2) for many files, one directory fsync per batch)
// with the pieces below.
// SPDX-License-Identifier: MIT
// A file is durable only when its data is on disk (fdatasync/fsync, or syncfs of its file system) AND the
// directory entry naming it is (fsync of the directory after the rename). rename(2) is atomic: a reader sees
// the old file or the whole new one, never a part. Every function returns the errno of the step that failed.
#pragma once
#include <filesystem>
#include <string_view>
#include <system_error>

namespace mailfort::common::safeio {

enum class flush {
  none,  // the caller flushes later (syncfs of a batch, sync_file)
  data,  // fdatasync(2): the data and the size, not the timestamps
  all,   // fsync(2)
};

// write(2) all of data, retrying on EINTR and short writes.
std::error_code write_all(int fd, std::string_view data);
// Creates path (which must not exist; mode 0600), writes data and flushes as asked. On failure path is removed.
std::error_code write_new(const std::filesystem::path& path, std::string_view data, flush how);
// fdatasync(2) of an existing file.
std::error_code sync_file(const std::filesystem::path& path);
// fsync(2) of a directory: the names created, renamed or removed in it become durable.
std::error_code sync_dir(const std::filesystem::path& dir);
// syncfs(2): every dirty page and the journal of the file system holding dir (one flush for a batch of files;
// Linux reports writeback errors through it since 5.8).
std::error_code sync_filesystem(const std::filesystem::path& dir);
// Renames tmp (already flushed) to path, then syncs path's directory. When the rename fails, tmp is removed.
std::error_code publish(const std::filesystem::path& tmp, const std::filesystem::path& path);
// The whole durable write: write_new(tmp, data, how), then publish(tmp, path). tmp must be on path's file system.
std::error_code write_file(const std::filesystem::path& tmp, const std::filesystem::path& path, std::string_view data,
                           flush how);

}  // namespace mailfort::common::safeio
