// The Linux calls and constants Swift's Glibc module does not show (they
// need _GNU_SOURCE, or are newer than its headers): one place, taken from
// the system's own headers in linux_calls.c rather than copied by hand.
// This header includes no system header, so that _GNU_SOURCE never changes
// a definition Swift's other modules share.
#ifndef HANFS_LINUX_CALLS_H
#define HANFS_LINUX_CALLS_H

#include <stdint.h>

/// pipe2(2): both ends close-on-exec atomically, so a command started on
/// another thread meanwhile cannot inherit them.
int lc_pipe2(int fds[2], int flags);

/// pidfd_open(2): a descriptor that polls readable when the process exits.
int lc_pidfd_open(int pid, unsigned int flags);

/// inotify(7).
int lc_inotify_init1(int flags);
int lc_inotify_add_watch(int fd, const char *path, uint32_t mask);
/// An entry written or moved in; removed or moved out; the watched
/// directory itself gone; events lost.
extern const uint32_t lc_in_created;
extern const uint32_t lc_in_removed;
extern const uint32_t lc_in_gone;
extern const uint32_t lc_in_overflow;

/// unshare(2) of the UTS namespace alone: a host name of the caller's own.
int lc_unshare_uts(void);

/// O_DIRECT: I/O past the page cache (the monitor's probe of a device).
extern const int lc_o_direct;

#endif
