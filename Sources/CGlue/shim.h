// Makes the GNU socket and epoll APIs (recvmmsg, sendmmsg, accept4, epoll, eventfd, signalfd)
// visible to Swift. Declarations only: there is no C code in this target.
#ifndef BEACON_CGLUE_SHIM_H
#define BEACON_CGLUE_SHIM_H
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <sys/socket.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/uio.h>
#include <sys/resource.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <spawn.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <fcntl.h>
#include <unistd.h>
#include <errno.h>
#include <time.h>
#include <sched.h>
#include <pthread.h>
#endif
