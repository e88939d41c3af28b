/*
 * jsontext.c: one cJSON object to one owned line of text. The copy makes
 * the text free()-able whatever allocator cJSON was built with.
 */
#include "jsontext.h"

#include <stdlib.h>

#include "log.h"
#include "xmalloc.h"

char *
jsontext_take(cJSON *o)
{
	char *p = cJSON_PrintUnformatted(o);
	char *s;

	cJSON_Delete(o);
	if (p == NULL)
		fatalx("out_of_memory", "what=json_print");
	s = xstrdup(p);
	cJSON_free(p);
	return s;
}
