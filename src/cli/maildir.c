/*
 * maildir.c - delivering files into a Maildir (see maildir.h).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "maildir.h"

#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

char *cli_maildir_path(const char *a, const char *b, const char *c)
{
	size_t n = strlen(a) + strlen(b) + (c ? strlen(c) + 1 : 0) + 2;
	char *p = malloc(n);

	if (!p) {
		cli_error("out of memory");
		return NULL;
	}
	if (c)
		snprintf(p, n, "%s/%s/%s", a, b, c);
	else
		snprintf(p, n, "%s/%s", a, b);
	return p;
}

int cli_maildir_sync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

int cli_maildir_create(const char *dir)
{
	static const char *const subs[] = { "tmp", "new", "cur" };
	size_t i;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		cli_error("cannot create %s: %s", dir, strerror(errno));
		return -1;
	}
	for (i = 0; i < 3; i++) {
		char *p = cli_maildir_path(dir, subs[i], NULL);
		int bad = !p || (mkdir(p, 0700) != 0 && errno != EEXIST);

		if (bad)
			cli_error("cannot create %s/%s: %s", dir, subs[i], strerror(errno));
		free(p);
		if (bad)
			return -1;
	}
	return 0;
}

void cli_maildir_unique_name(char *out, size_t n, unsigned long counter)
{
	struct timeval tv;
	char host[64];
	size_t i;

	gettimeofday(&tv, NULL);
	if (gethostname(host, sizeof(host)) != 0)
		strcpy(host, "localhost");
	host[sizeof(host) - 1] = '\0';
	/* maildir(5): '/' and ':' would break the name; keep it plain */
	for (i = 0; host[i]; i++) {
		char ch = host[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '-'))
			host[i] = '_';
	}
	snprintf(out, n, "%lld.M%06ldP%ldQ%lu.%s" CLI_MAILDIR_SUFFIX, (long long)tv.tv_sec,
		 (long)tv.tv_usec, (long)getpid(), counter, host);
}

int cli_maildir_is_ours(const char *name)
{
	return strstr(name, CLI_MAILDIR_SUFFIX) != NULL;
}

int cli_maildir_move_new(const char *dir, const char *name)
{
	char *from = cli_maildir_path(dir, "tmp", name);
	char *to = cli_maildir_path(dir, "new", name);
	int rc = -1;

	if (!from || !to)
		errno = ENOMEM;
	else
		rc = rename(from, to);
	free(from);
	free(to);
	return rc;
}
