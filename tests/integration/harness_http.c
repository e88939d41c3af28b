/*
 * Integration test harness: a plain-socket HTTP/1.0 GET for the daemon's
 * endpoints, and a reader of samples in Prometheus text.
 */

#include "harness.h"

#include <sys/socket.h>
#include <sys/time.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xmalloc.h"

int
harness_http_get(int port, const char *path, int *status, char **body)
{
	struct sockaddr_in sin;
	struct timeval tv = { 10, 0 };
	char *req, *buf = NULL, *p;
	size_t len = 0, cap = 0, reqlen, off = 0;
	ssize_t n;
	int fd, maj, min, code;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sin, sizeof sin) == -1) {
		close(fd);
		return -1;
	}
	req = xasprintf("GET %s HTTP/1.0\r\nHost: 127.0.0.1:%d\r\n"
	    "Connection: close\r\n\r\n", path, port);
	reqlen = strlen(req);
	while (off < reqlen) {
		if ((n = write(fd, req + off, reqlen - off)) <= 0) {
			free(req);
			close(fd);
			return -1;
		}
		off += (size_t)n;
	}
	free(req);
	for (;;) {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 16384;
			buf = xrealloc(buf, cap + 1);
		}
		n = read(fd, buf + len, cap - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (buf == NULL)
		return -1;
	buf[len] = '\0';
	if (sscanf(buf, "HTTP/%d.%d %d", &maj, &min, &code) != 3 ||
	    (p = strstr(buf, "\r\n\r\n")) == NULL) {
		free(buf);
		return -1;
	}
	*status = code;
	if (body != NULL)
		*body = xstrdup(p + 4);
	free(buf);
	return 0;
}

int
harness_metric(const char *body, const char *series, double *v)
{
	size_t slen = strlen(series);
	bool any_labels = strchr(series, '{') == NULL;
	const char *line = body, *p;
	char *end;
	double x, sum = 0;
	int found = 0;

	for (; line != NULL && *line != '\0'; line = strchr(line, '\n'),
	    line = line != NULL ? line + 1 : NULL) {
		if (*line == '#' || strncmp(line, series, slen) != 0)
			continue;
		p = line + slen;
		if (any_labels && *p == '{') {
			if ((p = strchr(p, '}')) == NULL)
				continue;
			p++;
		}
		if (*p != ' ')
			continue;
		x = strtod(p + 1, &end);
		if (end == p + 1)
			continue;
		if (!any_labels) {
			*v = x;
			return 0;
		}
		sum += x;
		found++;
	}
	if (found == 0)
		return -1;
	*v = sum;
	return 0;
}
