#ifndef PACED_XMALLOC_H
#define PACED_XMALLOC_H

/*
 * Allocation wrappers: running out of memory is fatal, so callers never
 * carry a NULL check for it.
 */

#include <stddef.h>

/* Returns owned memory; free with free(). Aborts on exhaustion. */
void *xmalloc(size_t size);
/* Returns owned zeroed memory; free with free(). */
void *xcalloc(size_t nmemb, size_t size);
/* Takes ownership of ptr, returns owned memory; free with free(). */
void *xrealloc(void *ptr, size_t size);
/* Like xrealloc for nmemb elements of size bytes, checking the product. */
void *xreallocarray(void *ptr, size_t nmemb, size_t size);
/* Borrows s; returns an owned copy; free with free(). */
char *xstrdup(const char *s);
/* Borrows s; returns an owned NUL-terminated copy of len bytes. */
char *xstrndup(const char *s, size_t len);
/* Returns an owned formatted string; free with free(). */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
