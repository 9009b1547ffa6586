#!/usr/bin/env bash
# bench/other_fs.sh FS: run peer.sh with both servers' queues and Maildirs on a fresh file system of its own,
# then unmount and delete it. Every variable of peer.sh passes through (N, ROUNDS, PARTS, ...). Needs root.
#   ext4-journal  ext4 WITH a journal (ext4's default, what a mail host has), from a loop device. This
#                 machine's root file system is ext4 without a journal, where ext4 will not reuse an inode freed
#                 in the last minute and scans for one on every create (recently_deleted() in fs/ext4/ialloc.c
#                 runs only when there is no journal): the cost of each new queue or Maildir file then grows
#                 with the deletions of the runs before it (bench/README.md, "Profile of the CPU per message").
#   tmpfs         memory only: fsync and syncfs return at once, so neither server's queue is durable. This is
#                 the "without a durable queue" comparison: the same two programs, with the disk taken away.
# SPDX-License-Identifier: MIT
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
FS=${1:?usage: bench/other_fs.sh ext4-journal|tmpfs}
SIZE_MB=${FS_SIZE_MB:-6144}
mnt=$(mktemp -d /tmp/mailfort-fs.XXXXXX)
img=
cleanup() {
  umount "$mnt" 2>/dev/null || true
  [ -n "$img" ] && rm -f "$img"
  rmdir "$mnt" 2>/dev/null || true
}
trap cleanup EXIT
case $FS in
  ext4-journal)
    img=$(mktemp /tmp/mailfort-fs.XXXXXX.img)
    truncate -s "${SIZE_MB}M" "$img"
    mkfs.ext4 -q -F -O has_journal -i 4096 "$img"  # one inode per 4 KiB: a Maildir is many small files
    dumpe2fs -h "$img" 2>/dev/null | grep -q has_journal || { echo "other_fs: mkfs made no journal" >&2; exit 1; }
    mount -o loop "$img" "$mnt"
    ;;
  tmpfs) mount -t tmpfs -o "size=${SIZE_MB}m,mode=755" tmpfs "$mnt" ;;
  *) echo "other_fs: unknown file system '$FS' (ext4-journal or tmpfs)" >&2; exit 2 ;;
esac
chmod 755 "$mnt"
echo "file system for this run: $FS ($(findmnt -n -o FSTYPE,OPTIONS "$mnt"))"
WORK_PARENT=$mnt bash "$here/peer.sh"
