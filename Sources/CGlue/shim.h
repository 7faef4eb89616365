// Makes the GNU socket and epoll APIs that the Glibc module hides (recvmmsg, sendmmsg, accept4,
// epoll, eventfd) visible to Swift. Declarations only: there is no C code in this target.
// Everything else comes from the Glibc module: including more here clashes with it.
#ifndef BEACON_CGLUE_SHIM_H
#define BEACON_CGLUE_SHIM_H
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <sys/socket.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#endif
