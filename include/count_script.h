#ifndef PACED_COUNT_SCRIPT_H
#define PACED_COUNT_SCRIPT_H

/*
 * The counting script: one call per counter shard and batch
 * (redis_apply.c builds the calls). Its arguments are described in
 * count_script.c; the numbers among them travel packed, as a MessagePack
 * array the script unpacks in one step (cmsgpack), written with the
 * count_script_pack_* helpers.
 */

#include <stddef.h>
#include <stdint.h>

/* The most bytes count_script_pack_* writes for one value. */
#define COUNT_SCRIPT_PACK_MAX	9

/* Returns the script's text (static). */
const char *count_script(void);
/* Writes the header of an array of n values at p; returns the end. */
char *count_script_pack_array(char *p, uint32_t n);
/* Writes the integer v at p; returns the end. */
char *count_script_pack_int(char *p, int64_t v);
/* Writes the double d at p, exactly; returns the end. */
char *count_script_pack_double(char *p, double d);

#endif
