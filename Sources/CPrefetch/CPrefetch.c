// The module is its header (static inline functions); SwiftPM needs one source file.
#include "CPrefetch.h"
