// Interposes the C allocator entry points for the test binary that links this target: each call
// forwards to glibc's implementation and, when the calling thread has counting on, counts itself.
#define _GNU_SOURCE
#include "AllocationCounter.h"
#include <stddef.h>
#include <errno.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

static __thread int counting;
static __thread uint64_t allocations;

void beacon_allocation_counter_start(void) { allocations = 0; counting = 1; }
uint64_t beacon_allocation_counter_stop(void) { counting = 0; return allocations; }

// Sanitizers bring their own allocator: interposing under them would hand ASan memory it did not
// allocate. There the counter counts nothing and says so.
#if defined(__has_feature)
#  if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#    define BEACON_UNDER_SANITIZER 1
#  endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#  define BEACON_UNDER_SANITIZER 1
#endif

#ifdef BEACON_UNDER_SANITIZER
int beacon_allocation_counter_available(void) { return 0; }
#else
int beacon_allocation_counter_available(void) { return 1; }

static inline void note(void) { if (counting) allocations++; }

void *malloc(size_t size) { note(); return __libc_malloc(size); }
void *calloc(size_t count, size_t size) { note(); return __libc_calloc(count, size); }
void *realloc(void *pointer, size_t size) { note(); return __libc_realloc(pointer, size); }
void free(void *pointer) { __libc_free(pointer); }
void *memalign(size_t alignment, size_t size) { note(); return __libc_memalign(alignment, size); }
void *aligned_alloc(size_t alignment, size_t size) { note(); return __libc_memalign(alignment, size); }
int posix_memalign(void **result, size_t alignment, size_t size) {
    note();
    void *pointer = __libc_memalign(alignment, size);
    if (pointer == NULL) return ENOMEM;
    *result = pointer;
    return 0;
}
#endif
