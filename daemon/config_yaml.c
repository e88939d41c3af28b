/*
 * config_yaml.c: the YAML toolkit of the config loader. Parses the file
 * into a libyaml document, then gives the loaders of config.c,
 * config_org.c and config_roster.c typed fields with ${VAR} expanded,
 * secret files, list and mapping walks, and one way to report: every
 * problem is collected with file:line:column and key path, with a
 * did-you-mean where a name is close, and sorted into file order at the
 * end. Called at startup, by --check-config and on SIGHUP.
 */
#include "config_yaml.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "caltime.h"
#include "log.h"
#include "xmalloc.h"

#define CONFIG_MAX_ERRORS	100
#define SECRET_MAX_BYTES	(64 * 1024)
#define ID_MAX			128	/* the rep_id bound of events */

void
sbuf_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = b->cap == 0 ? 128 : b->cap;
		while (b->len + n + 1 > b->cap)
			b->cap *= 2;
		b->s = xrealloc(b->s, b->cap);
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void
sbuf_vprintf(struct sbuf *b, const char *fmt, va_list ap)
{
	va_list	 ap2;
	char	 small[256];
	int	 n;

	va_copy(ap2, ap);
	n = vsnprintf(small, sizeof(small), fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		sbuf_add(b, small, (size_t)n);
		return;
	}
	{
		char	*big = xmalloc((size_t)n + 1);

		vsnprintf(big, (size_t)n + 1, fmt, ap);
		sbuf_add(b, big, (size_t)n);
		free(big);
	}
}

void __attribute__((format(printf, 2, 3)))
sbuf_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	sbuf_vprintf(b, fmt, ap);
	va_end(ap);
}

/* Records one "file:line:column: path: message" line. */
static void
verror(struct loader *l, const struct where *w, const char *fmt, va_list ap)
{
	struct load_error	*e;
	struct sbuf		 b = { NULL, 0, 0 };

	if (l->stopped)
		return;
	if (l->nerrs == CONFIG_MAX_ERRORS) {
		l->stopped = true;
		return;
	}
	if (l->errs == NULL)
		l->errs = xcalloc(CONFIG_MAX_ERRORS, sizeof(*l->errs));
	sbuf_printf(&b, "%s:", w->file);
	if (w->line != 0) {
		sbuf_printf(&b, "%zu:", w->line);
		if (w->col != 0)
			sbuf_printf(&b, "%zu:", w->col);
	}
	sbuf_add(&b, " ", 1);
	if (w->path != NULL && *w->path != '\0')
		sbuf_printf(&b, "%s: ", w->path);
	sbuf_vprintf(&b, fmt, ap);
	sbuf_add(&b, "\n", 1);
	e = &l->errs[l->nerrs];
	e->other_file = strcmp(w->file, l->name) != 0;
	e->line = w->line;
	e->col = w->col;
	e->seq = l->nerrs++;
	e->text = b.s;
}

static int
load_error_cmp(const void *a, const void *b)
{
	const struct load_error	*x = a, *y = b;

	if (x->other_file != y->other_file)
		return x->other_file ? 1 : -1;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	return (x->seq > y->seq) - (x->seq < y->seq);
}

/* Appends the errors, in file order, to *errs (NULL: drops them). */
void
errors_flush(struct loader *l, char **errs)
{
	struct sbuf	 all = { NULL, 0, 0 };

	qsort(l->errs, l->nerrs, sizeof(*l->errs), load_error_cmp);
	sbuf_add(&all, "", 0);
	if (errs != NULL && *errs != NULL) {
		sbuf_add(&all, *errs, strlen(*errs));
		free(*errs);
	}
	for (size_t i = 0; i < l->nerrs; i++) {
		sbuf_add(&all, l->errs[i].text, strlen(l->errs[i].text));
		free(l->errs[i].text);
	}
	if (l->stopped)
		sbuf_printf(&all, "%s: too many errors, stopping\n", l->name);
	free(l->errs);
	if (errs != NULL)
		*errs = all.s;
	else
		free(all.s);
}

void __attribute__((format(printf, 3, 4)))
where_error(struct loader *l, const struct where *w, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	verror(l, w, fmt, ap);
	va_end(ap);
}

struct where
node_where(struct loader *l, const yaml_node_t *n, const char *path)
{
	struct where	 w = { .file = l->name, .path = path };

	if (n != NULL) {
		w.line = n->start_mark.line + 1;
		w.col = n->start_mark.column + 1;
	}
	return w;
}

/* An error at node n (NULL: at the file, for a bad default). */
void __attribute__((format(printf, 4, 5)))
node_error(struct loader *l, const yaml_node_t *n, const char *path,
    const char *fmt, ...)
{
	struct where	 w = node_where(l, n, path);
	va_list		 ap;

	va_start(ap, fmt);
	verror(l, &w, fmt, ap);
	va_end(ap);
}

char *
path_key(const char *parent, const char *key)
{
	if (parent == NULL || *parent == '\0')
		return xstrdup(key);
	return xasprintf("%s.%s", parent, key);
}

char *
path_index(const char *parent, size_t i)
{
	return xasprintf("%s[%zu]", parent, i);
}

yaml_node_t *
node_get(struct loader *l, int index)
{
	return yaml_document_get_node(&l->doc, index);
}

bool
node_is_null(const yaml_node_t *n)
{
	const char	*v;

	if (n->type != YAML_SCALAR_NODE ||
	    n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	v = (const char *)n->data.scalar.value;
	return (*v == '\0' || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
	    strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0);
}

const char *
node_kind(const yaml_node_t *n)
{
	if (node_is_null(n))
		return "null";
	switch (n->type) {
	case YAML_MAPPING_NODE:
		return "a mapping";
	case YAML_SEQUENCE_NODE:
		return "a list";
	default:
		return "a scalar";
	}
}

void
type_error(struct loader *l, const yaml_node_t *n, const char *path,
    const char *want)
{
	node_error(l, n, path, "expected %s, got %s", want, node_kind(n));
}

size_t
seq_len(const yaml_node_t *n)
{
	return (size_t)(n->data.sequence.items.top -
	    n->data.sequence.items.start);
}

yaml_node_t *
seq_at(struct loader *l, const yaml_node_t *n, size_t i)
{
	return node_get(l, n->data.sequence.items.start[i]);
}

size_t
map_len(const yaml_node_t *n)
{
	return (size_t)(n->data.mapping.pairs.top -
	    n->data.mapping.pairs.start);
}

static bool
env_name_ok(const char *s, size_t n)
{
	if (n == 0 || (s[0] >= '0' && s[0] <= '9'))
		return false;
	for (size_t i = 0; i < n; i++) {
		char	c = s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '_'))
			return false;
	}
	return true;
}

/*
 * Expands ${NAME} from the environment; $${ stands for a literal ${.
 * Returns owned text, or NULL with the error recorded. Messages name the
 * variable, never its value: values are often secrets.
 */
static char *
expand_env(struct loader *l, const yaml_node_t *n, const char *path,
    const char *s)
{
	struct sbuf	 b = { NULL, 0, 0 };
	const char	*p = s;

	sbuf_add(&b, "", 0);
	while (*p != '\0') {
		const char	*end, *v;
		char		*name;

		if (p[0] == '$' && p[1] == '$' && p[2] == '{') {
			sbuf_add(&b, "${", 2);
			p += 3;
			continue;
		}
		if (p[0] != '$' || p[1] != '{') {
			sbuf_add(&b, p++, 1);
			continue;
		}
		if ((end = strchr(p + 2, '}')) == NULL) {
			node_error(l, n, path, "unterminated ${ (write $${ for "
			    "a literal ${)");
			goto fail;
		}
		if (!env_name_ok(p + 2, (size_t)(end - (p + 2)))) {
			node_error(l, n, path, "bad variable name in ${...} "
			    "(letters, digits and _)");
			goto fail;
		}
		name = xstrndup(p + 2, (size_t)(end - (p + 2)));
		if ((v = getenv(name)) == NULL) {
			node_error(l, n, path, "environment variable %s is not "
			    "set", name);
			free(name);
			goto fail;
		}
		free(name);
		sbuf_add(&b, v, strlen(v));
		p = end + 1;
	}
	return b.s;
fail:
	free(b.s);
	return NULL;
}

/* The scalar's text with ${VAR} expanded, owned; NULL on error. */
char *
scalar_text(struct loader *l, const yaml_node_t *n, const char *path)
{
	const char	*v;

	if (n->type != YAML_SCALAR_NODE) {
		type_error(l, n, path, "a string");
		return NULL;
	}
	v = (const char *)n->data.scalar.value;
	if (strlen(v) != n->data.scalar.length) {
		node_error(l, n, path, "contains a NUL byte");
		return NULL;
	}
	return expand_env(l, n, path, v);
}

/*
 * A field that must be a non-null string. item is where a missing field is
 * reported. Returns owned text or NULL (an error recorded, unless the field
 * is optional and absent or null).
 */
char *
field_string(struct loader *l, const yaml_node_t *item, const yaml_node_t *n,
    const char *path, bool required)
{
	if (n == NULL || node_is_null(n)) {
		if (required && n == NULL)
			node_error(l, item, path, "required key is missing");
		else if (required)
			node_error(l, n, path, "a value is required");
		return NULL;
	}
	return scalar_text(l, n, path);
}

/* Edit distance, for did-you-mean; long words are not compared. */
static size_t
edit_distance(const char *a, const char *b)
{
	size_t	 la = strlen(a), lb = strlen(b), row[65];

	if (la > 64 || lb > 64)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t	 diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t	 up = row[j], best;

			best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb];
}

/*
 * Appends to b either ` (did you mean "x"?)` when a candidate is close to
 * word, or ` (valid: a, b, c)`.
 */
void
suggest(struct sbuf *b, const char *word, const char *const *cands, size_t n)
{
	size_t		 best = SIZE_MAX, d, shown = 0;
	const char	*pick = NULL;

	for (size_t i = 0; i < n; i++) {
		if (cands[i] == NULL)
			continue;
		d = edit_distance(word, cands[i]);
		if (d < best) {
			best = d;
			pick = cands[i];
		}
	}
	if (pick != NULL && best <= 2 && best < strlen(word)) {
		sbuf_printf(b, " (did you mean \"%s\"?)", pick);
		return;
	}
	if (n == 0)
		return;
	sbuf_add(b, " (valid: ", 9);
	for (size_t i = 0; i < n; i++) {
		if (cands[i] == NULL)
			continue;
		if (shown == 24) {
			sbuf_add(b, ", ...", 5);
			break;
		}
		if (shown++ > 0)
			sbuf_add(b, ", ", 2);
		sbuf_add(b, cands[i], strlen(cands[i]));
	}
	sbuf_add(b, ")", 1);
}

static int
name_ref_cmp(const void *a, const void *b)
{
	const struct name_ref	*x = a, *y = b;
	int			 r = strcmp(x->name, y->name);

	if (r != 0)
		return r;
	return (x->idx > y->idx) - (x->idx < y->idx);
}

/* Indexes n names (NULL ones skipped: items that failed to load). */
void
name_index_build(struct name_index *ni, const char *const *names, size_t n)
{
	free(ni->v);
	ni->v = xcalloc(n == 0 ? 1 : n, sizeof(*ni->v));
	ni->n = 0;
	for (size_t i = 0; i < n; i++) {
		if (names[i] == NULL)
			continue;
		ni->v[ni->n].name = names[i];
		ni->v[ni->n++].idx = i;
	}
	qsort(ni->v, ni->n, sizeof(*ni->v), name_ref_cmp);
}

/* Returns the index of the first item called name, or -1. */
ssize_t
name_index_find(const struct name_index *ni, const char *name)
{
	size_t	 lo = 0, hi = ni->n;

	while (lo < hi) {
		size_t	 mid = lo + (hi - lo) / 2;

		if (strcmp(ni->v[mid].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < ni->n && strcmp(ni->v[lo].name, name) == 0)
		return (ssize_t)ni->v[lo].idx;
	return -1;
}

/* Appends a did-you-mean or the valid names of an index. */
void
name_index_suggest(const struct name_index *ni, struct sbuf *b,
    const char *word)
{
	const char	**cands = xcalloc(ni->n + 1, sizeof(*cands));
	size_t		  n = 0;

	for (size_t i = 0; i < ni->n; i++) {
		if (n > 0 && strcmp(cands[n - 1], ni->v[i].name) == 0)
			continue;
		cands[n++] = ni->v[i].name;
	}
	suggest(b, word, cands, n);
	free(cands);
}

/* Looks name up in ni; reports an unknown name at n. Returns idx or -1. */
ssize_t
lookup_name(struct loader *l, const struct name_index *ni,
    const struct where *w, const char *what, const char *name)
{
	struct sbuf	 hint = { NULL, 0, 0 };
	ssize_t		 i;

	if ((i = name_index_find(ni, name)) >= 0)
		return i;
	sbuf_add(&hint, "", 0);
	name_index_suggest(ni, &hint, name);
	where_error(l, w, "unknown %s \"%s\"%s", what, name, hint.s);
	free(hint.s);
	return -1;
}

/*
 * Reports every repeated name after its first use. wheres[i] locates
 * names[i]; NULL names are skipped.
 */
void
report_dups(struct loader *l, const char *const *names,
    const struct where *wheres, size_t n, const char *what)
{
	struct name_index	 ni = { NULL, 0 };

	name_index_build(&ni, names, n);
	for (size_t i = 1, run = 0; i < ni.n; i++) {
		const struct name_ref	*first;

		/* A run of one name is sorted by index: its head came first. */
		if (strcmp(ni.v[run].name, ni.v[i].name) != 0) {
			run = i;
			continue;
		}
		first = &ni.v[run];
		if (wheres[first->idx].file == wheres[ni.v[i].idx].file &&
		    wheres[first->idx].col != 0)
			where_error(l, &wheres[ni.v[i].idx], "duplicate %s "
			    "\"%s\" (first at %zu:%zu)", what, ni.v[i].name,
			    wheres[first->idx].line, wheres[first->idx].col);
		else
			where_error(l, &wheres[ni.v[i].idx], "duplicate %s "
			    "\"%s\" (first at line %zu)", what, ni.v[i].name,
			    wheres[first->idx].line);
	}
	free(ni.v);
}

void
names_init(struct name_list *nl, size_t n)
{
	nl->v = xcalloc(n + 1, sizeof(*nl->v));
	nl->w = xcalloc(n + 1, sizeof(*nl->w));
	nl->paths = xcalloc(n + 1, sizeof(*nl->paths));
	nl->n = n;
}

/* Records name i, written at node n under path (owned from here on). */
void
names_set(struct loader *l, struct name_list *nl, size_t i, const char *name,
    const yaml_node_t *n, char *path)
{
	nl->v[i] = name;
	nl->paths[i] = path;
	nl->w[i] = node_where(l, n, path);
}

void
names_report(struct loader *l, const struct name_list *nl, const char *what)
{
	report_dups(l, nl->v, nl->w, nl->n, what);
}

/* Frees the list but not the names, which belong to their items. */
void
names_free(struct name_list *nl)
{
	for (size_t i = 0; i < nl->n; i++)
		free(nl->paths[i]);
	free(nl->paths);
	free(nl->v);
	free(nl->w);
}

/* Reports repeated keys of a mapping whose keys are user names. */
static void
map_dup_keys(struct loader *l, const yaml_node_t *map, const char *path)
{
	struct name_list	 nl;

	names_init(&nl, map_len(map));
	for (size_t i = 0; i < nl.n; i++) {
		yaml_node_t	*k;
		const char	*name;

		k = node_get(l, map->data.mapping.pairs.start[i].key);
		if (k->type != YAML_SCALAR_NODE)
			continue;
		name = (const char *)k->data.scalar.value;
		names_set(l, &nl, i, name, k, path_key(path, name));
	}
	names_report(l, &nl, "key");
	names_free(&nl);
}

/*
 * Splits the mapping of a list item or named entry into the values of keys
 * (NULL-terminated) and reports unknown and repeated keys. Returns -1 when
 * n is not a mapping.
 */
int
map_fields(struct loader *l, const yaml_node_t *n, const char *path,
    const char *const *keys, yaml_node_t **vals)
{
	size_t	 nkeys = 0;

	while (keys[nkeys] != NULL)
		vals[nkeys++] = NULL;
	if (n->type != YAML_MAPPING_NODE) {
		type_error(l, n, path, "a mapping");
		return -1;
	}
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
	    p < n->data.mapping.pairs.top; p++) {
		yaml_node_t	*k = node_get(l, p->key);
		const char	*name;
		char		*kpath;
		size_t		 i;

		if (k->type != YAML_SCALAR_NODE) {
			node_error(l, k, path, "keys must be strings");
			continue;
		}
		name = (const char *)k->data.scalar.value;
		for (i = 0; i < nkeys; i++)
			if (strcmp(keys[i], name) == 0)
				break;
		kpath = path_key(path, name);
		if (i == nkeys) {
			struct sbuf	 hint = { NULL, 0, 0 };

			sbuf_add(&hint, "", 0);
			suggest(&hint, name, keys, nkeys);
			node_error(l, k, kpath, "unknown key%s", hint.s);
			free(hint.s);
		} else if (vals[i] != NULL) {
			node_error(l, k, kpath, "duplicate key");
		} else
			vals[i] = node_get(l, p->value);
		free(kpath);
	}
	return 0;
}

/*
 * The checks that open a list: n must be a list and, when empty is not
 * NULL, hold at least one item (empty is then the message). Null passes
 * silently where null_ok: such keys mean "none". Returns 0 with *cnt when
 * the items may be walked, -1 when there is nothing to load.
 */
int
seq_open(struct loader *l, const yaml_node_t *n, const char *path,
    bool null_ok, const char *empty, size_t *cnt)
{
	*cnt = 0;
	if (null_ok && node_is_null(n))
		return -1;
	if (n->type != YAML_SEQUENCE_NODE) {
		type_error(l, n, path, "a list");
		return -1;
	}
	if ((*cnt = seq_len(n)) == 0 && empty != NULL) {
		node_error(l, n, path, "%s", empty);
		return -1;
	}
	return 0;
}

/*
 * The same for a mapping keyed by user names, whose repeated keys it
 * reports as well.
 */
int
map_open(struct loader *l, const yaml_node_t *n, const char *path,
    bool null_ok, const char *empty, size_t *cnt)
{
	*cnt = 0;
	if (null_ok && (n == NULL || node_is_null(n)))
		return -1;
	if (n->type != YAML_MAPPING_NODE) {
		type_error(l, n, path, "a mapping");
		return -1;
	}
	if ((*cnt = map_len(n)) == 0 && empty != NULL) {
		node_error(l, n, path, "%s", empty);
		return -1;
	}
	map_dup_keys(l, n, path);
	return 0;
}

/*
 * Calls fn on each entry of mapping n in file order, until too many
 * errors; a key that is not a string is reported and skipped.
 */
void
each_entry(struct loader *l, const yaml_node_t *n, const char *path,
    entry_cb fn, void *arg)
{
	size_t	 cnt = map_len(n);

	for (size_t i = 0; i < cnt && !l->stopped; i++) {
		yaml_node_pair_t	*p = &n->data.mapping.pairs.start[i];
		struct entry		 e = { .i = i };
		char			*epath;

		e.key = node_get(l, p->key);
		if (e.key->type != YAML_SCALAR_NODE) {
			node_error(l, e.key, path, "keys must be strings");
			continue;
		}
		e.value = node_get(l, p->value);
		e.name = (const char *)e.key->data.scalar.value;
		e.path = epath = path_key(path, e.name);
		e.w = node_where(l, e.key, e.path);
		fn(l, &e, arg);
		free(epath);
	}
}

/*
 * Calls fn on each item of list n in order, until too many errors, with
 * the values of keys (NULL-terminated, at most ITEM_KEYS_MAX). An item
 * that is not a mapping is reported by map_fields and skipped.
 */
void
each_item(struct loader *l, const yaml_node_t *n, const char *path,
    const char *const *keys, item_cb fn, void *arg)
{
	yaml_node_t	*v[ITEM_KEYS_MAX];
	size_t		 cnt = seq_len(n), nkeys = 0;

	/* A longer key list is a mistake in this file, not in the input. */
	while (keys[nkeys] != NULL)
		nkeys++;
	if (nkeys > ITEM_KEYS_MAX)
		abort();
	for (size_t i = 0; i < cnt && !l->stopped; i++) {
		struct item	 it = { .i = i, .v = v };
		char		*ipath = path_index(path, i);

		it.node = seq_at(l, n, i);
		it.path = ipath;
		if (map_fields(l, it.node, ipath, keys, v) == 0)
			fn(l, &it, arg);
		free(ipath);
	}
}

/* The index of s in names (NULL-terminated); else reports it, -1. */
int
enum_value(struct loader *l, const yaml_node_t *n, const char *path,
    const char *const *names, const char *s)
{
	struct sbuf	 b = { NULL, 0, 0 };
	int		 i;

	for (i = 0; names[i] != NULL; i++)
		if (strcmp(names[i], s) == 0)
			return i;
	for (i = 0; names[i] != NULL; i++) {
		if (i > 0)
			sbuf_add(&b, ", ", 2);
		sbuf_add(&b, names[i], strlen(names[i]));
	}
	node_error(l, n, path, "invalid value \"%s\" (use %s)", s, b.s);
	free(b.s);
	return -1;
}

/* Reads an enum field; returns its index or -1 (error recorded unless
 * absent/null and optional). */
int
field_enum(struct loader *l, const yaml_node_t *item, const yaml_node_t *n,
    const char *path, const char *const *names, bool required)
{
	char	*s;
	int	 i;

	if ((s = field_string(l, item, n, path, required)) == NULL)
		return -1;
	i = enum_value(l, n, path, names, s);
	free(s);
	return i;
}

static bool
id_char(char c)
{
	return ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '@' ||
	    c == '-');
}

/* The rep_id charset of the event contract, used for every id. */
int
check_id(struct loader *l, const struct where *w, const char *what,
    const char *s)
{
	size_t	 n = strlen(s);

	if (n == 0) {
		where_error(l, w, "empty %s", what);
		return -1;
	}
	if (n > ID_MAX) {
		where_error(l, w, "%s of %zu bytes is too long (at most %d)",
		    what, n, ID_MAX);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (!id_char(s[i])) {
			where_error(l, w, "invalid %s \"%s\" (1 to %d of "
			    "A-Z a-z 0-9 . _ @ -)", what, s, ID_MAX);
			return -1;
		}
	}
	return 0;
}

/* An id field: required unless optional; returns owned text or NULL. */
char *
field_id(struct loader *l, const yaml_node_t *item, const yaml_node_t *n,
    const char *path, bool required, const char *what)
{
	char		*s = field_string(l, item, n, path, required);
	struct where	 w = node_where(l, n, path);

	if (s != NULL && check_id(l, &w, what, s) != 0) {
		free(s);
		return NULL;
	}
	return s;
}

/* "/a/b.yaml" -> "/a", "b.yaml" -> "." */
char *
dir_of(const char *name)
{
	const char	*slash = strrchr(name, '/');

	if (slash == NULL)
		return xstrdup(".");
	if (slash == name)
		return xstrdup("/");
	return xstrndup(name, (size_t)(slash - name));
}

/* Paths in the file are relative to the file's own folder. */
char *
resolve(struct loader *l, const char *path)
{
	if (path[0] == '/' || strcmp(l->dir, ".") == 0)
		return xstrdup(path);
	return xasprintf("%s/%s", l->dir, path);
}

/*
 * Reads a whole file of at most max bytes into owned *out (NUL-terminated).
 * regular_only refuses FIFOs and devices, which could block or never end.
 */
int
read_all(const char *path, bool regular_only, size_t max, char **out,
    size_t *outlen, char *err, size_t errlen)
{
	struct stat	 st;
	size_t		 len = 0, cap = 4096;
	char		*b;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC |
	    (regular_only ? O_NONBLOCK : 0))) == -1) {
		snprintf(err, errlen, "%s", strerror(errno));
		return -1;
	}
	if (regular_only && (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode))) {
		snprintf(err, errlen, "not a regular file");
		close(fd);
		return -1;
	}
	b = xmalloc(cap);
	for (;;) {
		ssize_t	 r;

		if (len + 1 == cap) {
			if (cap > max) {
				snprintf(err, errlen, "larger than %zu bytes",
				    max);
				goto fail;
			}
			cap *= 2;
			b = xrealloc(b, cap);
		}
		r = read(fd, b + len, cap - 1 - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			snprintf(err, errlen, "%s", strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	if (len > max) {
		snprintf(err, errlen, "larger than %zu bytes", max);
		goto fail;
	}
	close(fd);
	b[len] = '\0';
	*out = b;
	*outlen = len;
	return 0;
fail:
	close(fd);
	free(b);
	return -1;
}

/*
 * Reads a secret from the file named by node n: trailing newlines trimmed,
 * not empty, one line (a CR or LF inside would end up in a header or a
 * protocol line). Returns owned text or NULL. Messages name the file only.
 */
static char *
read_secret(struct loader *l, const yaml_node_t *n, const char *path,
    const char *file)
{
	char	*full = resolve(l, file), *s, err[128];
	size_t	 len;

	if (read_all(full, true, SECRET_MAX_BYTES, &s, &len, err,
	    sizeof(err)) != 0) {
		node_error(l, n, path, "cannot read %s: %s", full, err);
		free(full);
		return NULL;
	}
	while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r'))
		s[--len] = '\0';
	if (memchr(s, '\0', len) != NULL)
		node_error(l, n, path, "%s holds a NUL byte", full);
	else if (len == 0)
		node_error(l, n, path, "%s is empty", full);
	else if (memchr(s, '\n', len) != NULL || memchr(s, '\r', len) != NULL)
		node_error(l, n, path, "%s holds a line break (CR or LF) "
		    "before its end: a secret is one line", full);
	else {
		free(full);
		return s;
	}
	free(full);
	free(s);
	return NULL;
}

int
secret_one_line(struct loader *l, const yaml_node_t *n, const char *path,
    const char *s)
{
	if (strpbrk(s, "\r\n") == NULL)
		return 0;
	node_error(l, n, path, "the secret holds a line break (CR or LF): a "
	    "secret is one line");
	return -1;
}

/* The secret in the file named by node n; owned, or NULL on error. */
char *
secret_file(struct loader *l, const yaml_node_t *n, const char *path)
{
	char	*file, *s;

	if ((file = scalar_text(l, n, path)) == NULL)
		return NULL;
	s = read_secret(l, n, path, file);
	free(file);
	return s;
}

/*
 * The PEM file of certificates named by node n (CA bundles for TLS
 * clients): resolved against the config's folder, readable, a regular
 * file of at most 4 MiB holding at least one certificate. Returns the
 * resolved path (owned) or NULL after an error.
 */
char *
pem_file(struct loader *l, const yaml_node_t *n, const char *path)
{
	char	*file, *full, *s, err[128];
	size_t	 len;

	if ((file = scalar_text(l, n, path)) == NULL)
		return NULL;
	full = resolve(l, file);
	free(file);
	if (read_all(full, true, 4 * 1024 * 1024, &s, &len, err,
	    sizeof(err)) != 0) {
		node_error(l, n, path, "cannot read %s: %s", full, err);
		free(full);
		return NULL;
	}
	if (strstr(s, "-----BEGIN CERTIFICATE-----") == NULL) {
		node_error(l, n, path, "%s holds no PEM certificate "
		    "(-----BEGIN CERTIFICATE-----)", full);
		free(full);
		full = NULL;
	}
	free(s);
	return full;
}

int
parse_int(const char *s, long long *v)
{
	char	*end;

	if (*s == '\0' || strspn(s, "+-0123456789") != strlen(s))
		return -1;
	errno = 0;
	*v = strtoll(s, &end, 10);
	return (errno != 0 || *end != '\0') ? -1 : 0;
}

int
parse_number(const char *s, double *v)
{
	char	*end;

	/* strtod alone would also take "inf", "nan" and hex. */
	if (*s == '\0' || strspn(s, "+-.0123456789eE") != strlen(s))
		return -1;
	errno = 0;
	*v = strtod(s, &end);
	return (errno != 0 || *end != '\0' || !isfinite(*v)) ? -1 : 0;
}


/*
 * Parses a duration within min..max (as written in a file; NULL: no
 * bound) into *v; else reports it at n and returns -1.
 */
int
duration_in(struct loader *l, const yaml_node_t *n, const char *path,
    const char *text, const char *min, const char *max, int64_t *v)
{
	int64_t	 lim;

	if (caltime_parse_duration(text, v) != 0) {
		node_error(l, n, path, "invalid duration \"%s\" (use 500ms, "
		    "30s, 5m, 2h, 35d)", text);
		return -1;
	}
	if (min != NULL && caltime_parse_duration(min, &lim) == 0 &&
	    *v < lim) {
		node_error(l, n, path, "%s is below the minimum %s", text, min);
		return -1;
	}
	if (max != NULL && caltime_parse_duration(max, &lim) == 0 &&
	    *v > lim) {
		node_error(l, n, path, "%s is above the maximum %s", text, max);
		return -1;
	}
	return 0;
}

/* Parses an integer within min..max (as written) into *v, or reports. */
int
int_in(struct loader *l, const yaml_node_t *n, const char *path,
    const char *text, const char *min, const char *max, long long *v)
{
	long long	 lo, hi;

	if (parse_int(text, v) != 0) {
		node_error(l, n, path, "invalid integer \"%s\"", text);
		return -1;
	}
	if (parse_int(min, &lo) != 0 || parse_int(max, &hi) != 0 ||
	    *v < lo || *v > hi) {
		node_error(l, n, path, "%s is out of range (%s to %s)", text,
		    min, max);
		return -1;
	}
	return 0;
}

/* YAML 1.2's core schema booleans; yes/no/on/off are not among them. */
int
bool_value(struct loader *l, const yaml_node_t *n, const char *path,
    const char *text, bool *v)
{
	if (strcmp(text, "true") == 0 || strcmp(text, "True") == 0 ||
	    strcmp(text, "TRUE") == 0)
		*v = true;
	else if (strcmp(text, "false") == 0 || strcmp(text, "False") == 0 ||
	    strcmp(text, "FALSE") == 0)
		*v = false;
	else {
		node_error(l, n, path, "invalid boolean \"%s\" (use true or "
		    "false)", text);
		return -1;
	}
	return 0;
}


/*
 * The text of an optional scalar field, owned; NULL when absent or null, or
 * with an error recorded. want names the type in a message; like rows, a
 * quoted number or boolean is a string, so only quoted_ok takes one.
 */
static char *
field_scalar(struct loader *l, const yaml_node_t *n, const char *path,
    const char *want, bool quoted_ok)
{
	if (n == NULL || node_is_null(n))
		return NULL;
	if (n->type != YAML_SCALAR_NODE) {
		type_error(l, n, path, want);
		return NULL;
	}
	if (!quoted_ok &&
	    n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) {
		node_error(l, n, path, "expected %s, got a quoted string",
		    want);
		return NULL;
	}
	return scalar_text(l, n, path);
}

/* An optional duration field within min..max; *v keeps its default
 * when the field is absent, null or bad. */
void
field_duration(struct loader *l, const yaml_node_t *n, const char *path,
    const char *min, const char *max, int64_t *v)
{
	char	*s = field_scalar(l, n, path, "a duration", true);
	int64_t	 d;

	if (s != NULL && duration_in(l, n, path, s, min, max, &d) == 0)
		*v = d;
	free(s);
}

/* An optional integer field within min..max (as written), as above. */
void
field_int(struct loader *l, const yaml_node_t *n, const char *path,
    const char *min, const char *max, int *v)
{
	char		*s = field_scalar(l, n, path, "an integer", false);
	long long	 i;

	if (s != NULL && int_in(l, n, path, s, min, max, &i) == 0)
		*v = (int)i;
	free(s);
}

/* An optional boolean field, as above. */
void
field_bool(struct loader *l, const yaml_node_t *n, const char *path, bool *v)
{
	char	*s = field_scalar(l, n, path, "a boolean", false);
	bool	 b;

	if (s != NULL && bool_value(l, n, path, s, &b) == 0)
		*v = b;
	free(s);
}

static yaml_node_t **
seen_slot(struct loader *l, yaml_node_t **v, const char *path)
{
	for (size_t i = 0; i < l->nrows; i++)
		if (strcmp(l->paths[i], path) == 0)
			return &v[i];
	return NULL;
}

yaml_node_t *
seen_node(struct loader *l, const char *path)
{
	yaml_node_t	**p = seen_slot(l, l->seen, path);

	return p != NULL ? *p : NULL;
}

yaml_node_t *
seen_key(struct loader *l, const char *path)
{
	yaml_node_t	**p = seen_slot(l, l->seen_key, path);

	return p != NULL ? *p : NULL;
}

static void
yaml_error(struct loader *l, const yaml_parser_t *p)
{
	struct where	 w = { .file = l->name };
	const char	*problem = p->problem != NULL ? p->problem : "error";

	if (p->error == YAML_MEMORY_ERROR)
		fatalx("config_yaml", "reason=\"out of memory\"");
	if (p->error == YAML_READER_ERROR) {
		/* The reader gives a byte offset, not a mark. */
		w.line = 1;
		w.col = 1;
		for (size_t i = 0; i < p->problem_offset && i < l->len; i++) {
			if (l->buf[i] == '\n') {
				w.line++;
				w.col = 1;
			} else
				w.col++;
		}
		where_error(l, &w, "invalid input: %s", problem);
		return;
	}
	w.line = p->problem_mark.line + 1;
	w.col = p->problem_mark.column + 1;
	if (p->context != NULL)
		where_error(l, &w, "YAML syntax error: %s (%s at %zu:%zu)",
		    problem, p->context, p->context_mark.line + 1,
		    p->context_mark.column + 1);
	else
		where_error(l, &w, "YAML syntax error: %s", problem);
}

/* Parses the buffer into l->doc; one document only. */
int
parse_yaml(struct loader *l)
{
	yaml_parser_t	 p;
	yaml_document_t	 extra;
	yaml_node_t	*root;
	int		 rc = -1;

	if (!yaml_parser_initialize(&p))
		fatalx("config_yaml", "reason=\"out of memory\"");
	yaml_parser_set_input_string(&p, (const unsigned char *)l->buf,
	    l->len);
	if (!yaml_parser_load(&p, &l->doc)) {
		yaml_error(l, &p);
		goto out;
	}
	l->have_doc = true;
	if (!yaml_parser_load(&p, &extra)) {
		yaml_error(l, &p);
		goto out;
	}
	if ((root = yaml_document_get_root_node(&extra)) != NULL)
		node_error(l, root, NULL, "only one YAML document is allowed");
	else
		rc = 0;
	yaml_document_delete(&extra);
out:
	yaml_parser_delete(&p);
	return rc;
}
