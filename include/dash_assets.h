#ifndef PACED_DASH_ASSETS_H
#define PACED_DASH_ASSETS_H

/*
 * The files of daemon/dash/, built into the binary: the
 * Makefile generates their table with tools/embed-assets.sh. Data only.
 */

#include <stddef.h>

struct dash_asset {
	const char *name;		/* file name: "index.html", "app.js" */
	const unsigned char *data;
	size_t len;
};

/* Every file, in name order. */
extern const struct dash_asset dash_assets[];
extern const size_t dash_nassets;

#endif
