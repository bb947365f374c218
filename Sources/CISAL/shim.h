#ifndef CISAL_SHIM_H
#define CISAL_SHIM_H
#include <isa-l/igzip_lib.h>

/// Prepares `state` for a gzip member (header and trailer checked by ISA-L).
static inline void CISAL_inflate_init_gzip(struct inflate_state *state) {
    isal_inflate_init(state);
    state->crc_flag = ISAL_GZIP;
}

/// Whether the member being inflated has ended (its trailer read).
static inline int CISAL_inflate_finished(const struct inflate_state *state) {
    return state->block_state == ISAL_BLOCK_FINISH;
}
#endif
