#include <malloc.h>

#include "kvguard/heap.h"

void kvg_heap_trim(void)
{
#ifdef __GLIBC__
    malloc_trim(0);
#endif
}
