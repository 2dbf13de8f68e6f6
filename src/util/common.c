/*
 * common.c - status strings, allocator dispatch, growable buffer.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "common-priv.h"

const char *mimeo_strerror(int status)
{
	switch (status) {
#define XX(num, name, msg) case num: return msg;
		MIMEO_STATUS_MAP(XX)
#undef XX
	}
	return "unknown status";
}

const char *mimeo_status_name(int status)
{
	switch (status) {
#define XX(num, name, msg) case num: return "MIMEO_" #name;
		MIMEO_STATUS_MAP(XX)
#undef XX
	}
	return "MIMEO_UNKNOWN";
}

const char *mimeo_version(void)
{
	return MIMEO_VERSION_STRING;
}

void *mimeo__malloc(const mimeo_allocator *a, size_t size)
{
	if (size == 0)
		size = 1; /* a zero-size request still yields a unique pointer */
	return a ? a->malloc(size, a->ctx) : malloc(size);
}

void *mimeo__calloc(const mimeo_allocator *a, size_t n, size_t size)
{
	size_t total;
	void *p;

	if (!mimeo__mul_ok(n, size, &total))
		return NULL;
	p = mimeo__malloc(a, total);
	if (p)
		memset(p, 0, total ? total : 1);
	return p;
}

void *mimeo__realloc(const mimeo_allocator *a, void *ptr, size_t size)
{
	if (size == 0)
		size = 1;
	return a ? a->realloc(ptr, size, a->ctx) : realloc(ptr, size);
}

void mimeo__free(const mimeo_allocator *a, void *ptr)
{
	if (!ptr)
		return;
	if (a)
		a->free(ptr, a->ctx);
	else
		free(ptr);
}

char *mimeo__strndup(const mimeo_allocator *a, const char *s, size_t len)
{
	char *p;
	size_t total;

	if (!mimeo__add_ok(len, 1, &total))
		return NULL;
	p = mimeo__malloc(a, total);
	if (!p)
		return NULL;
	if (len)
		memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

int mimeo__ascii_ieq(const char *a, size_t alen, const char *lit)
{
	size_t i;

	for (i = 0; i < alen; i++) {
		if (lit[i] == '\0' || mimeo__lower((unsigned char)a[i]) != (unsigned char)lit[i])
			return 0;
	}
	return lit[alen] == '\0';
}

int mimeo__array_reserve(const mimeo_allocator *a, void **items, size_t *cap,
			 size_t used, size_t elem_size, size_t initial)
{
	size_t n, bytes;
	void *p;

	if (used < *cap)
		return MIMEO_OK;
	n = *cap ? *cap * 2 : initial;
	if (n <= *cap || !mimeo__mul_ok(n, elem_size, &bytes))
		return MIMEO_ENOMEM;
	p = mimeo__realloc(a, *items, bytes);
	if (!p)
		return MIMEO_ENOMEM;
	*items = p;
	*cap = n;
	return MIMEO_OK;
}

int mimeo__array_push(const mimeo_allocator *a, void **items, size_t *cap, size_t *n,
		      size_t elem_size, size_t initial, const void *elem)
{
	if (mimeo__array_reserve(a, items, cap, *n, elem_size, initial))
		return MIMEO_ENOMEM;
	memcpy((char *)*items + *n * elem_size, elem, elem_size);
	(*n)++;
	return MIMEO_OK;
}

void mimeo_buf_init(mimeo_buf *buf, const mimeo_allocator *alloc)
{
	buf->ptr = NULL;
	buf->size = 0;
	buf->asize = 0;
	buf->alloc = alloc;
}

void mimeo_buf_dispose(mimeo_buf *buf)
{
	mimeo__free(buf->alloc, buf->ptr);
	buf->ptr = NULL;
	buf->size = 0;
	buf->asize = 0;
}

void mimeo_buf_clear(mimeo_buf *buf)
{
	buf->size = 0;
	if (buf->ptr)
		buf->ptr[0] = '\0';
}

int mimeo_buf_grow(mimeo_buf *buf, size_t extra)
{
	size_t need, cap;
	char *p;

	if (!mimeo__add_ok(buf->size, extra, &need) || !mimeo__add_ok(need, 1, &need))
		return MIMEO_ENOMEM;
	if (need <= buf->asize)
		return MIMEO_OK;
	/* Grow by 1.5x so appending n bytes one at a time stays linear. */
	cap = buf->asize < 64 ? 64 : buf->asize;
	while (cap < need) {
		size_t next = cap + cap / 2;
		if (next <= cap) {
			cap = need;
			break;
		}
		cap = next;
	}
	p = mimeo__realloc(buf->alloc, buf->ptr, cap);
	if (!p)
		return MIMEO_ENOMEM;
	if (!buf->ptr)
		p[0] = '\0';
	buf->ptr = p;
	buf->asize = cap;
	return MIMEO_OK;
}

int mimeo__buf_ready(mimeo_buf *buf)
{
	return buf->ptr ? MIMEO_OK : mimeo_buf_grow(buf, 0);
}

int mimeo_buf_put(mimeo_buf *buf, const void *data, size_t len)
{
	int rc = mimeo_buf_grow(buf, len);

	if (rc)
		return rc;
	if (len)
		memcpy(buf->ptr + buf->size, data, len);
	buf->size += len;
	buf->ptr[buf->size] = '\0';
	return MIMEO_OK;
}

int mimeo_buf_puts(mimeo_buf *buf, const char *str)
{
	return mimeo_buf_put(buf, str, strlen(str));
}

char *mimeo_buf_detach(mimeo_buf *buf)
{
	char *p = buf->ptr;

	buf->ptr = NULL;
	buf->size = 0;
	buf->asize = 0;
	return p;
}
