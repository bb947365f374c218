// The target's functions are all `static inline` in its headers (include/); SwiftPM needs a source
// file to build a C target.
#include "keywatch_prefetch.h"
#include "keywatch_scan.h"
#include "keywatch_tags.h"
