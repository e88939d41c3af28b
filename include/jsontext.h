#ifndef PACED_JSONTEXT_H
#define PACED_JSONTEXT_H

/*
 * cJSON objects to text the rest of paced owns: alert JSON, pace figures,
 * webhook bodies. Running out of memory is fatal, as for xmalloc.
 */

#include <cjson/cJSON.h>

/* Takes ownership of o (deleted); returns its one-line text, owned: free
 * with free(). */
char *jsontext_take(cJSON *o);

#endif
