// Tag matching for the baseline's value tables, which keep a 16-bit tag per slot ahead of their
// entries (ValueStats): one SSE2 compare answers for eight slots, where Swift has no way to turn a
// vector comparison into a bit mask.
#ifndef KEYWATCH_TAGS_H
#define KEYWATCH_TAGS_H

#include <stdint.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/// Bit i is set when the i-th little-endian 16-bit tag at `tags` equals `tag`, for i in 0..<16.
/// Reads 32 bytes, which need no alignment; the caller masks off bits for slots it does not hold.
static inline uint32_t keywatch_tag_match16(const void *tags, uint16_t tag) {
#if defined(__SSE2__)
    __m128i needle = _mm_set1_epi16((short)tag);
    __m128i low = _mm_cmpeq_epi16(_mm_loadu_si128((const __m128i *)tags), needle);
    __m128i high = _mm_cmpeq_epi16(_mm_loadu_si128((const __m128i *)tags + 1), needle);
    return (uint32_t)_mm_movemask_epi8(_mm_packs_epi16(low, high));
#else
    const unsigned char *bytes = (const unsigned char *)tags;
    uint32_t mask = 0;
    for (int i = 0; i < 16; i++) {
        uint16_t lane = (uint16_t)(bytes[2 * i] | bytes[2 * i + 1] << 8);
        mask |= (uint32_t)(lane == tag) << i;
    }
    return mask;
#endif
}

#endif
