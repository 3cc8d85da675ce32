// The prefetch hints are static inline functions in include/CKaminoPrefetch.h.
#include "CKaminoPrefetch.h"
