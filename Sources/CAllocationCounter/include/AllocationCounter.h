// Counts heap allocations made by the calling thread, for tests that hold a code path to
// "no allocation once warm". Linked only into test binaries.
#ifndef BEACON_ALLOCATION_COUNTER_H
#define BEACON_ALLOCATION_COUNTER_H
#include <stdint.h>

/// Starts counting allocations on the calling thread from zero.
void beacon_allocation_counter_start(void);
/// 1 when allocations are counted; 0 in sanitizer builds, which bring their own allocator.
int beacon_allocation_counter_available(void);
/// Stops counting on the calling thread and returns how many allocations it saw.
uint64_t beacon_allocation_counter_stop(void);
#endif
