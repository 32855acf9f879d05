/* Give back what a long-idle runtime process no longer needs: free heap pages and the stack touched during
 * setup. Hundreds of idle containers each keep a monitor and an init, so every page counts (Podman's conmon
 * plus container is ~1 MB each on our reference machine). */
#include "dv.h"

#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* The [stack] mapping's low end, from /proc/self/maps (0 when not found). */
static uintptr_t stack_low(void) {
  FILE *f = fopen("/proc/self/maps", "re");
  if (f == NULL) return 0;
  char line[512];
  uintptr_t low = 0;
  while (fgets(line, sizeof(line), f) != NULL) {
    if (strstr(line, "[stack]") != NULL) {
      unsigned long lo = 0, hi = 0;
      if (sscanf(line, "%lx-%lx", &lo, &hi) == 2) low = (uintptr_t)lo;
      break;
    }
  }
  fclose(f);
  return low;
}

void dv_release_idle_memory(void) {
  malloc_trim(0);
  uintptr_t low = stack_low();
  long page = sysconf(_SC_PAGESIZE);
  volatile char here;
  /* Everything more than a page below our frame is dead setup stack; the kernel hands back zero pages if it
   * is ever touched again. */
  uintptr_t top = ((uintptr_t)&here & ~((uintptr_t)page - 1)) - 2 * (uintptr_t)page;
  if (low != 0 && top > low) madvise((void *)low, top - low, MADV_DONTNEED);
}
