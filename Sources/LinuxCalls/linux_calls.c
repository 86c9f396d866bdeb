// See include/LinuxCalls.h.
#define _GNU_SOURCE
#include "LinuxCalls.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/inotify.h>
#include <sys/syscall.h>
#include <unistd.h>

int lc_pipe2(int fds[2], int flags) { return pipe2(fds, flags); }

int lc_pidfd_open(int pid, unsigned int flags) {
#ifdef SYS_pidfd_open
    return (int)syscall(SYS_pidfd_open, pid, flags);
#else
    (void)pid;
    (void)flags;
    return -1;
#endif
}

int lc_inotify_init1(int flags) { return inotify_init1(flags); }
int lc_inotify_add_watch(int fd, const char *path, uint32_t mask) { return inotify_add_watch(fd, path, mask); }

const uint32_t lc_in_created = IN_CLOSE_WRITE | IN_MOVED_TO;
const uint32_t lc_in_removed = IN_DELETE | IN_MOVED_FROM;
const uint32_t lc_in_gone = IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED;
const uint32_t lc_in_overflow = IN_Q_OVERFLOW;
const int lc_o_direct = O_DIRECT;

int lc_unshare_uts(void) { return unshare(CLONE_NEWUTS); }
