#ifndef PACED_CONFIG_YAML_H
#define PACED_CONFIG_YAML_H

/*
 * The YAML toolkit of the config loader (config.c, config_org.c,
 * config_roster.c): the state of one load, errors collected with
 * file:line:column and key path, did-you-mean suggestions, typed fields,
 * ${VAR} expansion and secret files. Not for callers of config.h.
 *
 * These helpers keep short names (node_error, field_string) instead of a
 * config_yaml_ prefix: they are the loader's vocabulary, on most lines of
 * the files above, and no other file includes this header.
 */

#include <sys/types.h>

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

#include "config_types.h"
#include "netaddr.h"

#define ITEM_KEYS_MAX	8	/* keys of one list item, for each_item */

/* A growing string. */
struct sbuf {
	char	*s;
	size_t	 len;
	size_t	 cap;
};

/* Where a message points: file, and line and column when known. */
struct where {
	const char	*file;
	size_t		 line;	/* 0: none */
	size_t		 col;	/* 0: none */
	const char	*path;	/* key path; NULL: none */
};

/* A name and the index of what it names, sorted for bsearch. */
struct name_ref {
	const char	*name;
	size_t		 idx;
};

struct name_index {
	struct name_ref	*v;
	size_t		 n;
};

/* One message, kept until the end to be sorted by position. */
struct load_error {
	bool	 other_file;	/* the roster file: sorts last */
	size_t	 line;
	size_t	 col;
	size_t	 seq;
	char	*text;
};

/* One load of one file. */
struct loader {
	const char		*name;	/* file name for messages */
	char			*dir;	/* where relative paths start */
	const char		*buf;
	size_t			 len;
	yaml_document_t		 doc;
	bool			 have_doc;
	struct config		*c;
	struct load_error	*errs;
	size_t			 nerrs;
	bool			 stopped;	/* too many errors */
	rd_kafka_conf_t		*rk;	/* throwaway: checks properties */
	const char		**paths;	/* the path of each table row */
	yaml_node_t		**seen;	/* value node per row */
	yaml_node_t		**seen_key;
	size_t			 nrows;
	struct netaddr_redis	 url;
	struct name_index	 kpi_names;
	struct name_index	 calendar_names;
	struct name_index	 role_names;
	struct name_index	 team_names;
};

/*
 * The names of a list's items or a mapping's entries and where each was
 * written, gathered for report_dups. A where points into paths, so both
 * live until the report is made.
 */
struct name_list {
	const char	**v;	/* NULL: no usable name */
	struct where	 *w;
	char		**paths;	/* owned */
	size_t		  n;
};

/* One entry of a mapping keyed by user names, as each_entry hands it. */
struct entry {
	size_t		 i;	/* its place among the pairs */
	const char	*name;	/* the key */
	yaml_node_t	*key;
	yaml_node_t	*value;
	const char	*path;	/* the mapping's path and the key */
	struct where	 w;	/* the key's place */
};

/* Called on each entry by each_entry; borrows both. */
typedef void (*entry_cb)(struct loader *, const struct entry *, void *);

/* One item of a list of mappings, as each_item hands it. */
struct item {
	size_t		 i;
	yaml_node_t	*node;
	const char	*path;	/* the list's path and [i] */
	yaml_node_t	**v;	/* the value of each key; NULL: absent */
};

/* Called on each item by each_item; borrows both. */
typedef void (*item_cb)(struct loader *, const struct item *, void *);

/* Appends n bytes of s (borrowed) to b, which owns its text. */
void sbuf_add(struct sbuf *b, const char *s, size_t n);
/* Appends formatted text to b. */
void sbuf_printf(struct sbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Moves the errors, in file order, onto the end of owned *errs (NULL:
 * drops them); frees l's copies. */
void errors_flush(struct loader *l, char **errs);
/* Records an error at w (borrowed). */
void where_error(struct loader *l, const struct where *w, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));
/* Where node n (NULL: the file) is; borrows path, which must outlive it. */
struct where node_where(struct loader *l, const yaml_node_t *n,
    const char *path);
/* An error at node n (NULL: at the file, for a bad default). */
void node_error(struct loader *l, const yaml_node_t *n, const char *path,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* "expected WANT, got a list" at n. */
void type_error(struct loader *l, const yaml_node_t *n, const char *path,
    const char *want);

/* parent.key; returns owned, free it. */
char *path_key(const char *parent, const char *key);
/* parent[i]; returns owned, free it. */
char *path_index(const char *parent, size_t i);

/* The document's node of that index; borrowed from l->doc. */
yaml_node_t *node_get(struct loader *l, int index);
/* True for a plain null: empty, ~, null. */
bool node_is_null(const yaml_node_t *n);
/* "null", "a mapping", "a list" or "a scalar", static. */
const char *node_kind(const yaml_node_t *n);
/* Items of list n. */
size_t seq_len(const yaml_node_t *n);
/* Item i of list n; borrowed from l->doc. */
yaml_node_t *seq_at(struct loader *l, const yaml_node_t *n, size_t i);
/* Pairs of mapping n. */
size_t map_len(const yaml_node_t *n);

/* The scalar's text with ${VAR} expanded, owned; NULL on error. */
char *scalar_text(struct loader *l, const yaml_node_t *n, const char *path);
/*
 * A field that must be a non-null string. item is where a missing field is
 * reported. Returns owned text or NULL (an error recorded, unless the field
 * is optional and absent or null).
 */
char *field_string(struct loader *l, const yaml_node_t *item,
    const yaml_node_t *n, const char *path, bool required);

/* Appends to b either ` (did you mean "x"?)` when one of cands (borrowed)
 * is close to word, or ` (valid: a, b, c)`. */
void suggest(struct sbuf *b, const char *word, const char *const *cands,
    size_t n);

/* Indexes n names (borrowed; NULL ones skipped: items that failed to
 * load) into ni, which owns its array: free(ni->v). */
void name_index_build(struct name_index *ni, const char *const *names,
    size_t n);
/* Returns the index of the first item called name, or -1. */
ssize_t name_index_find(const struct name_index *ni, const char *name);
/* Appends a did-you-mean or the valid names of an index to b. */
void name_index_suggest(const struct name_index *ni, struct sbuf *b,
    const char *word);
/* Looks name up in ni; reports an unknown name at w. Returns idx or -1. */
ssize_t lookup_name(struct loader *l, const struct name_index *ni,
    const struct where *w, const char *what, const char *name);
/* Reports every repeated name after its first use; wheres[i] locates
 * names[i]; NULL names are skipped. Borrows both. */
void report_dups(struct loader *l, const char *const *names,
    const struct where *wheres, size_t n, const char *what);

/* Makes room for n names in nl; free with names_free. */
void names_init(struct name_list *nl, size_t n);
/* Records name i (borrowed), written at node n under path (owned from
 * here on). */
void names_set(struct loader *l, struct name_list *nl, size_t i,
    const char *name, const yaml_node_t *n, char *path);
/* report_dups over nl. */
void names_report(struct loader *l, const struct name_list *nl,
    const char *what);
/* Frees the list but not the names, which belong to their items. */
void names_free(struct name_list *nl);

/*
 * Splits the mapping of a list item or named entry into the values of keys
 * (NULL-terminated) and reports unknown and repeated keys. Returns -1 when
 * n is not a mapping. vals borrow from l->doc.
 */
int map_fields(struct loader *l, const yaml_node_t *n, const char *path,
    const char *const *keys, yaml_node_t **vals);
/*
 * The checks that open a list: n must be a list and, when empty is not
 * NULL, hold at least one item (empty is then the message). Null passes
 * silently where null_ok: such keys mean "none". Returns 0 with *cnt when
 * the items may be walked, -1 when there is nothing to load.
 */
int seq_open(struct loader *l, const yaml_node_t *n, const char *path,
    bool null_ok, const char *empty, size_t *cnt);
/* The same for a mapping keyed by user names, whose repeated keys it
 * reports as well. */
int map_open(struct loader *l, const yaml_node_t *n, const char *path,
    bool null_ok, const char *empty, size_t *cnt);
/* Calls fn on each entry of mapping n in file order, until too many
 * errors; a key that is not a string is reported and skipped. */
void each_entry(struct loader *l, const yaml_node_t *n, const char *path,
    entry_cb fn, void *arg);
/* Calls fn on each item of list n in order, until too many errors, with
 * the values of keys (NULL-terminated, at most ITEM_KEYS_MAX). */
void each_item(struct loader *l, const yaml_node_t *n, const char *path,
    const char *const *keys, item_cb fn, void *arg);

/* The index of s in names (NULL-terminated); else reports it, -1. */
int enum_value(struct loader *l, const yaml_node_t *n, const char *path,
    const char *const *names, const char *s);
/* Reads an enum field; returns its index or -1 (error recorded unless
 * absent/null and optional). */
int field_enum(struct loader *l, const yaml_node_t *item,
    const yaml_node_t *n, const char *path, const char *const *names,
    bool required);
/* The rep_id charset of the event contract, used for every id. */
int check_id(struct loader *l, const struct where *w, const char *what,
    const char *s);
/* An id field: required unless optional; returns owned text or NULL. */
char *field_id(struct loader *l, const yaml_node_t *item,
    const yaml_node_t *n, const char *path, bool required, const char *what);

/* The folder of file name: "/a/b.yaml" -> "/a", "b.yaml" -> "."; owned. */
char *dir_of(const char *name);
/* path relative to the config file's folder, unless absolute; owned. */
char *resolve(struct loader *l, const char *path);
/*
 * Reads a whole file of at most max bytes into owned *out (NUL-terminated).
 * regular_only refuses FIFOs and devices, which could block or never end.
 */
int read_all(const char *path, bool regular_only, size_t max, char **out,
    size_t *outlen, char *err, size_t errlen);
/* The secret in the file named by node n; owned, or NULL on error. */
char *secret_file(struct loader *l, const yaml_node_t *n, const char *path);
/* The resolved path (owned) of a readable PEM file of certificates named
 * by n, or NULL after an error. */
char *pem_file(struct loader *l, const yaml_node_t *n, const char *path);
/* 0 when secret s (borrowed) is one line; else reports at n, naming path
 * but never the secret, and returns -1. */
int secret_one_line(struct loader *l, const yaml_node_t *n,
    const char *path, const char *s);

/* A whole decimal integer; 0 or -1. */
int parse_int(const char *s, long long *v);
/* A whole finite decimal number; 0 or -1. */
int parse_number(const char *s, double *v);
/* Parses a duration within min..max (as written in a file; NULL: no
 * bound) into *v; else reports it at n and returns -1. */
int duration_in(struct loader *l, const yaml_node_t *n, const char *path,
    const char *text, const char *min, const char *max, int64_t *v);
/* Parses an integer within min..max (as written) into *v, or reports. */
int int_in(struct loader *l, const yaml_node_t *n, const char *path,
    const char *text, const char *min, const char *max, long long *v);
/* YAML 1.2's core schema booleans; yes/no/on/off are not among them. */
int bool_value(struct loader *l, const yaml_node_t *n, const char *path,
    const char *text, bool *v);
/* An optional duration field within min..max; *v keeps its default
 * when the field is absent, null or bad. */
void field_duration(struct loader *l, const yaml_node_t *n,
    const char *path, const char *min, const char *max, int64_t *v);
/* An optional integer field within min..max (as written), as above. */
void field_int(struct loader *l, const yaml_node_t *n, const char *path,
    const char *min, const char *max, int *v);
/* An optional boolean field, as above. */
void field_bool(struct loader *l, const yaml_node_t *n, const char *path,
    bool *v);

/* The value node of table row path, or NULL when the file leaves it out;
 * borrowed from l->doc. */
yaml_node_t *seen_node(struct loader *l, const char *path);
/* The key node of table row path, or NULL. */
yaml_node_t *seen_key(struct loader *l, const char *path);

/* Parses l->buf into l->doc (one document only); 0 or -1, reported. */
int parse_yaml(struct loader *l);

#endif
