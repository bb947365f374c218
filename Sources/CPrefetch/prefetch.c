// The target's functions are all `static inline` in include/keywatch_prefetch.h; SwiftPM needs a
// source file to build a C target.
#include "keywatch_prefetch.h"
