// Declares the GNU socket calls that the Glibc module hides (recvmmsg, sendmmsg, accept4) and the
// epoll and eventfd APIs. Declarations only: there is no C code in this target.
//
// It deliberately does NOT define _GNU_SOURCE: that would give the system headers a second meaning
// (fd_set, for one) next to the Glibc module's, and a clean build then fails on the mismatch. The
// few GNU declarations are written out here instead, exactly as glibc declares them.
#ifndef BEACON_CGLUE_SHIM_H
#define BEACON_CGLUE_SHIM_H
#include <sys/socket.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>

/// struct mmsghdr (sys/socket.h under __USE_GNU).
struct beacon_mmsghdr {
    struct msghdr msg_hdr;
    unsigned int msg_len;
};

/// MSG_WAITFORONE (bits/socket.h under __USE_GNU): return once one datagram has arrived.
#define BEACON_MSG_WAITFORONE 0x10000

extern int recvmmsg(int fd, struct beacon_mmsghdr *messages, unsigned int count, int flags, struct timespec *timeout);
extern int sendmmsg(int fd, struct beacon_mmsghdr *messages, unsigned int count, int flags);
extern int accept4(int fd, struct sockaddr *address, socklen_t *length, int flags);
/// malloc_trim (malloc.h, which the Glibc module leaves out): returns freed heap memory to the system.
extern int malloc_trim(size_t pad);
/// flock (sys/file.h): in Swift, Glibc's `flock` names the fcntl lock struct, so the call is
/// declared again under another name bound to the same symbol.
extern int beacon_flock(int fd, int operation) __asm__("flock");
/// pthread_setname_np (pthread.h under __USE_GNU): names a thread for top -H, ps -L and /proc.
extern int pthread_setname_np(unsigned long thread, const char *name);
/// sched_getaffinity (sched.h under __USE_GNU), with the mask as plain bytes.
extern int beacon_sched_getaffinity(int pid, unsigned long size, unsigned char *mask) __asm__("sched_getaffinity");
#define BEACON_LOCK_EX 2
#define BEACON_LOCK_NB 4
#endif
