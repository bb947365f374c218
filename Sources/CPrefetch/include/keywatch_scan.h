// Byte search for the line parsers: the next quote or space in a field is usually a few dozen
// bytes away, where a call to the C library's memchr costs more (call, alignment prologue) than
// the search. Inline, sixteen bytes are compared at once.
#ifndef KEYWATCH_SCAN_H
#define KEYWATCH_SCAN_H

#include <stdint.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/// Bit i is set when byte i of the 16 bytes at `p` equals `byte`. `p` needs no alignment; all 16
/// bytes must be readable.
static inline uint32_t keywatch_byte_mask16(const void *p, uint8_t byte) {
#if defined(__SSE2__)
    __m128i block = _mm_loadu_si128((const __m128i *)p);
    return (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(block, _mm_set1_epi8((char)byte)));
#else
    const unsigned char *bytes = (const unsigned char *)p;
    uint32_t mask = 0;
    for (int i = 0; i < 16; i++) mask |= (uint32_t)(bytes[i] == byte) << i;
    return mask;
#endif
}

#endif
