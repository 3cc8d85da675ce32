// The prefetch hints are static inline functions in include/CKaminoPrefetch.h; this file
// only gives the target a source to compile.
#include "CKaminoPrefetch.h"
