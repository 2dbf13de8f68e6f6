/* mail-client.c - what a mail client asks of a message, in one page: show
 * From/To/Subject/Date, pick and show the body, resolve the HTML's cid:
 * images, list the attachments and save them into DIR (never overwriting).
 *   usage: mail-client MESSAGE [DIR]
 *   build: cc -o mail-client mail-client.c $(pkg-config --cflags --libs mimeo)
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <mimeo.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static int to_file(const void *data, size_t len, void *file)
{
	return fwrite(data, 1, len, file) == len ? MIMEO_OK : MIMEO_EIO;
}

static void show_addresses(const mimeo_part *root, const char *field)
{
	mimeo_address_list *l = NULL;

	if (mimeo_part_addresses(&l, root, field, NULL, NULL) == MIMEO_OK)
		for (size_t i = 0; i < l->count; i++) { /* an empty group has no local part */
			const mimeo_address *a = &l->items[i];
			if (a->local_part)
				printf("%s: %s%s<%s@%s>\n", field, a->display_name ? a->display_name : "",
				       a->display_name ? " " : "", a->local_part, a->domain ? a->domain : "");
		}
	mimeo_address_list_free(l);
}

int main(int argc, char **argv)
{
	mimeo_message *m;
	mimeo_buf text = MIMEO_BUF_INIT, name = MIMEO_BUF_INIT;
	int64_t when;
	int zone, rc = 0;

	if (argc < 2 || mimeo_message_parse_file(&m, argv[1], NULL) != MIMEO_OK)
		return 2;
	const mimeo_part *root = mimeo_message_root(m);
	show_addresses(root, "From");
	show_addresses(root, "To");
	mimeo_part_header_text(root, "Subject", 0, NULL, NULL, &text); /* "" when absent */
	printf("Subject: %s\n", text.ptr);
	if (mimeo_part_date(root, "Date", &when, &zone) == MIMEO_OK) {
		time_t t = (time_t)(when + zone * 60); /* local time of the sender */
		char stamp[64];
		strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M", gmtime(&t));
		printf("Date: %s (%+03d%02d)\n", stamp, zone / 60, (zone < 0 ? -zone : zone) % 60);
	}
	const mimeo_part *body = mimeo_message_pick_body(m, "text/plain"); /* HTML if no plain */
	mimeo_buf_clear(&text);
	if (body && mimeo_part_decode_buf(body, MIMEO_DECODE_UTF8, NULL, &text, NULL) == MIMEO_OK) {
		printf("\n%s\n", text.ptr);
		for (const char *s = text.ptr; (s = strstr(s, "cid:")); s++) { /* <img src="cid:..."> */
			char cid[256];
			const mimeo_part *image;
			if (sscanf(s, "%255[^\"' >]", cid) == 1 && (image = mimeo_message_find_content_id(m, cid)))
				printf("%s is part %s (%s/%s)\n", cid, mimeo_part_section(image),
				       mimeo_part_type(image), mimeo_part_subtype(image));
		}
	}
	for (const mimeo_part *a = NULL; (a = mimeo_message_next_attachment(m, a));) {
		const char *fn = mimeo_part_filename(a); /* untrusted: sanitise before use */
		mimeo_buf_clear(&name);
		mimeo_filename_sanitize(fn, fn ? strlen(fn) : 0, &name);
		printf("attachment %s: %s, %llu bytes\n", mimeo_part_section(a), name.ptr,
		       (unsigned long long)mimeo_part_size(a));
		if (argc > 2) {
			char path[4096];
			snprintf(path, sizeof(path), "%s/%s", argv[2], name.ptr);
			FILE *f = fopen(path, "wbx"); /* "x": never overwrite */
			int ok = f && mimeo_part_decode(a, 0, NULL, to_file, f, NULL) == MIMEO_OK;
			if ((f && fclose(f) != 0) || !ok) {
				fprintf(stderr, "cannot save %s\n", path);
				rc = 1;
			}
		}
	}
	mimeo_buf_dispose(&name);
	mimeo_buf_dispose(&text);
	mimeo_message_free(m);
	return rc;
}
