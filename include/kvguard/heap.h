/* kvguard: giving freed heap memory back to the system. */
#ifndef KVGUARD_HEAP_H
#define KVGUARD_HEAP_H

/* glibc keeps what is freed mapped, so a process stays at the size of its
 * biggest moment: a relist parsed as json-c trees (~10x its text), or a
 * burst of 200 KB reviews on hundreds of connections. This returns the free
 * pages (malloc_trim; a few ms, it briefly holds each malloc arena's lock):
 * call it after loads and when idle, never per request. A no-op elsewhere. */
void kvg_heap_trim(void);

#endif
