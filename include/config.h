#ifndef PACED_CONFIG_H
#define PACED_CONFIG_H

/*
 * The YAML configuration (config contract v1): parsing with libyaml,
 * validation with file:line:column errors, secrets through ${ENV} and
 * *_file, the roster inline or from roster_file. A struct config is
 * immutable once loaded; reload builds a new one and swaps it in.
 */

#include "config_types.h"

/*
 * Loads and validates the file at path. Returns an owned config (free with
 * config_free) or NULL; on NULL, every error found has been appended to
 * *errs (owned, free with free()) as "file:line:column: message" lines.
 */
struct config *config_load(const char *path, char **errs);
/*
 * Like config_load on len bytes of YAML at buf (borrowed) that name stands
 * for: messages start with name, relative paths in the file start from
 * name's folder.
 */
struct config *config_load_buffer(const char *name, const char *buf,
    size_t len, char **errs);
/*
 * Borrows both. Returns 0 when next differs from old only in keys that
 * SIGHUP may change; else -1 with the keys that need a restart in err.
 */
int config_reloadable(const struct config *old, const struct config *next,
    char *err, size_t errlen);
/* Frees c and everything it owns; NULL does nothing. */
void config_free(struct config *c);
/* Borrows c; returns the index of the KPI named name, or -1. */
int config_kpi_index(const struct config *c, const char *name);
/*
 * Key i of the file (0-based, in table order) and its one line of doc,
 * both static. Returns 1 for a section (a mapping of further keys), 0 for
 * a key that holds a value, -1 when i is past the last key.
 */
int config_key(size_t i, const char **path, const char **doc);

#endif
