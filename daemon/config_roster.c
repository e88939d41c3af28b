/*
 * config_roster.c: roster_file, the roster as a CSV file beside the config
 * (rep_id,team,role,manager), read whole when the config loads. Its reps
 * are checked like inline ones (config_org.c) and its errors read
 * ROSTERFILE:LINE: message, sorted after the config file's own. Called at
 * startup, by --check-config and on SIGHUP.
 */
#include "config_roster.h"

#include <stdlib.h>
#include <string.h>

#include "config_org.h"
#include "xmalloc.h"

#define ROSTER_MAX_BYTES	(256 * 1024 * 1024)

/* Trims blanks at both ends of [s, s+len); returns an owned copy. */
static char *
csv_field(const char *s, size_t len)
{
	while (len > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	return xstrndup(s, len);
}

/*
 * roster_file: CSV with the header rep_id,team,role,manager; manager may
 * be empty; blank lines and lines starting with # are skipped. Errors
 * read ROSTERFILE:LINE: message.
 */
static void
load_roster_csv(struct loader *l, const char *file, const char *buf,
    size_t len)
{
	struct config	*c = l->c;
	struct rep_src	*src;
	size_t		 lineno = 0, cap = 64;
	const char	*p = buf, *end = buf + len;
	bool		 header = false;

	c->reps = xcalloc(cap, sizeof(*c->reps));
	src = xcalloc(cap, sizeof(*src));
	while (p < end && !l->stopped) {
		const char	*nl = memchr(p, '\n', (size_t)(end - p));
		size_t		 ll = nl != NULL ? (size_t)(nl - p) :
		    (size_t)(end - p);
		char		*f[4] = { NULL, NULL, NULL, NULL };
		size_t		 nf = 0, start = 0;
		struct where	 w = { .file = file };

		w.line = ++lineno;
		if (ll > 0 && p[ll - 1] == '\r')
			ll--;
		if (memchr(p, '\0', ll) != NULL) {
			where_error(l, &w, "contains a NUL byte");
			goto next;
		}
		for (size_t i = 0; i <= ll; i++) {
			if (i < ll && p[i] != ',')
				continue;
			if (nf < 4)
				f[nf] = csv_field(p + start, i - start);
			nf++;
			start = i + 1;
		}
		if (!header) {
			header = true;
			if (nf != 4 || strcmp(f[0], "rep_id") != 0 ||
			    strcmp(f[1], "team") != 0 ||
			    strcmp(f[2], "role") != 0 ||
			    strcmp(f[3], "manager") != 0)
				where_error(l, &w, "the first line must be the "
				    "header rep_id,team,role,manager");
			goto next;
		}
		if (nf == 1 && (f[0][0] == '\0' || f[0][0] == '#'))
			goto next;
		if (f[0][0] == '#')
			goto next;
		if (nf != 4) {
			where_error(l, &w, "expected 4 fields (rep_id,team,"
			    "role,manager), got %zu", nf);
			goto next;
		}
		if (c->nreps == cap) {
			c->reps = xreallocarray(c->reps, cap, 2 *
			    sizeof(*c->reps));
			src = xreallocarray(src, cap, 2 * sizeof(*src));
			memset(c->reps + cap, 0, cap * sizeof(*c->reps));
			memset(src + cap, 0, cap * sizeof(*src));
			cap *= 2;
		}
		{
			struct config_rep	*r = &c->reps[c->nreps];

			src[c->nreps].w = w;
			c->nreps++;
			if (check_id(l, &w, "rep id", f[0]) == 0) {
				r->id = f[0];
				f[0] = NULL;
			}
			rep_fill(l, r, &w, &w, f[1], f[2]);
			if (f[3][0] != '\0' && check_id(l, &w, "manager id",
			    f[3]) == 0) {
				r->manager = f[3];
				f[3] = NULL;
			}
		}
next:
		for (size_t i = 0; i < 4; i++)
			free(f[i]);
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	if (!header && !l->stopped) {
		struct where	 w = { .file = file, .line = 1 };

		where_error(l, &w, "empty file: the first line must be the "
		    "header rep_id,team,role,manager");
	}
	rep_dups(l, src);
}

void
load_roster_file(struct loader *l, yaml_node_t *n, const char *path)
{
	char	*file, *full, *buf, err[128];
	size_t	 len;

	if (seen_node(l, "reps") != NULL) {
		node_error(l, seen_key(l, path), path, "give reps or "
		    "roster_file, not both");
		return;
	}
	if ((file = field_string(l, n, n, path, true)) == NULL)
		return;
	full = resolve(l, file);
	if (read_all(full, true, ROSTER_MAX_BYTES, &buf, &len, err,
	    sizeof(err)) != 0)
		node_error(l, n, path, "cannot read %s: %s", full, err);
	else {
		load_roster_csv(l, full, buf, len);
		free(buf);
	}
	free(full);
	free(file);
}
