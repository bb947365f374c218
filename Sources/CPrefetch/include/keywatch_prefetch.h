// Cache prefetch hints for the detection loop, which Swift has no spelling for.
//
// The analysis loop knows which keys the next few events belong to (they wait in the reorder
// window), and a key's state is usually not in cache: asking for it early hides that latency.
#ifndef KEYWATCH_PREFETCH_H
#define KEYWATCH_PREFETCH_H

/// Asks the CPU to bring the cache line holding `address` closer; never faults, has no effect on
/// program behaviour.
static inline void keywatch_prefetch(const void *address) {
    __builtin_prefetch(address, 1, 3);
}

#endif
