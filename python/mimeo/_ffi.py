# SPDX-License-Identifier: LGPL-2.1-or-later
"""The C declarations the binding uses, and the library they come from.

cffi's ABI mode: the declarations below are read at import time and the
shared library is opened with dlopen, so no compiler is needed.  In ABI mode
cffi cannot check struct layouts against the headers, so every struct here
must match include/mimeo/*.h field for field, and every enum and MIMEO_*
constant its #define: tests/python/test_layout.py compares each size, field
offset and constant with the C compiler's (a program meson generates from
this file).  An options struct may be declared at an earlier version only
together with that version's number (the library reads every earlier
version); mimeo_message_options is declared at version 2, whose `reason`
gives Python the library's reason when a parse fails.

Which library: $MIMEO_LIBRARY (a path; `meson devenv` and the test suite
set it to the build tree's library), else the one this package was installed
with (_paths.py, written by meson at install), else the dynamic loader's
search for libmimeo.so.1 (0.1.0 was libmimeo.so.0, whose calls differ:
NEWS.md).
"""
import os

from cffi import FFI

CDEF = """
typedef struct mimeo_allocator mimeo_allocator;
typedef struct mimeo_buf {
    char *ptr;
    size_t size;
    size_t asize;
    const mimeo_allocator *alloc;
} mimeo_buf;

const char *mimeo_strerror(int status);
const char *mimeo_status_name(int status);
const char *mimeo_version(void);
void mimeo_buf_dispose(mimeo_buf *buf);
void mimeo_buf_clear(mimeo_buf *buf);

typedef enum mimeo_isa { MIMEO_ISA_AUTO = 0, MIMEO_ISA_SCALAR = 1,
                         MIMEO_ISA_AVX2 = 2, MIMEO_ISA_AVX512 = 3 } mimeo_isa;
typedef enum mimeo_cte { MIMEO_CTE_NONE = 0, MIMEO_CTE_7BIT, MIMEO_CTE_8BIT,
    MIMEO_CTE_BINARY, MIMEO_CTE_BASE64, MIMEO_CTE_QP, MIMEO_CTE_UUENCODE,
    MIMEO_CTE_UNKNOWN } mimeo_cte;

typedef struct mimeo_charset_cache mimeo_charset_cache;
int mimeo_charset_cache_new(mimeo_charset_cache **out, const mimeo_allocator *alloc);
void mimeo_charset_cache_free(mimeo_charset_cache *cc);

typedef struct mimeo_header_options {
    unsigned version;
    const char *default_charset;
    unsigned flags;
    const mimeo_allocator *alloc;
} mimeo_header_options;
int mimeo_header_decode_text(mimeo_charset_cache *cc, const mimeo_header_options *opts,
                             const char *in, size_t len, mimeo_buf *out, unsigned *repairs);

typedef struct mimeo_address {
    const char *display_name;
    const char *local_part;
    const char *domain;
    const char *group;
} mimeo_address;
typedef struct mimeo_address_list {
    const mimeo_address *items;
    size_t count;
    unsigned repairs;
} mimeo_address_list;
int mimeo_address_list_parse(mimeo_address_list **out, mimeo_charset_cache *cc,
                             const mimeo_header_options *opts, const char *in, size_t len);
void mimeo_address_list_free(mimeo_address_list *l);

int mimeo_date_parse(const char *in, size_t len, int64_t *utc_seconds, int *offset_minutes);

/* parser.h */
typedef struct mimeo_parser mimeo_parser;
typedef struct mimeo_part_info {
    unsigned depth;
    const char *section;
    const char *type, *subtype;
    const char *charset;
    mimeo_cte cte;
    const char *boundary;
    const void *content_type;
    uint64_t header_offset;
    uint64_t body_offset;
    uint64_t end_offset;
    uint64_t decoded_size;
    unsigned flags;
    unsigned header_count;
} mimeo_part_info;
typedef struct mimeo_defect {
    int code;
    int severity;
    uint64_t offset;
    const char *reason;
} mimeo_defect;
const char *mimeo_defect_name(int code);
typedef struct mimeo_parser_callbacks {
    unsigned version;
    int (*message_begin)(const mimeo_part_info *msg, uint64_t offset, void *user);
    int (*part_begin)(const mimeo_part_info *part, void *user);
    int (*header)(const mimeo_part_info *part, const char *name, size_t name_len,
                  const char *value, size_t value_len, void *user);
    int (*headers_end)(const mimeo_part_info *part, void *user);
    int (*body)(const mimeo_part_info *part, const char *data, size_t len, void *user);
    int (*preamble)(const mimeo_part_info *part, const char *data, size_t len, void *user);
    int (*epilogue)(const mimeo_part_info *part, const char *data, size_t len, void *user);
    int (*part_end)(const mimeo_part_info *part, void *user);
    int (*message_end)(const mimeo_part_info *msg, void *user);
    int (*defect)(const mimeo_part_info *part, const mimeo_defect *d, void *user);
} mimeo_parser_callbacks;
typedef struct mimeo_parser_options {
    unsigned version;
    unsigned flags;
    unsigned max_depth;
    size_t max_header_bytes;
    unsigned max_headers;
    size_t max_parts;
    size_t max_line;
    const mimeo_allocator *alloc;
    mimeo_isa isa;
} mimeo_parser_options;
int mimeo_parser_new(mimeo_parser **out, const mimeo_parser_options *opts,
                     const mimeo_parser_callbacks *cb, void *user);
int mimeo_parser_feed(mimeo_parser *p, const void *data, size_t len);
int mimeo_parser_finish(mimeo_parser *p);
int mimeo_parser_error(const mimeo_parser *p, const char **reason, uint64_t *offset);
void mimeo_parser_free(mimeo_parser *p);

/* message.h */
typedef struct mimeo_message mimeo_message;
typedef struct mimeo_part mimeo_part;
typedef struct mimeo_message_options {
    unsigned version;
    unsigned flags;
    const mimeo_allocator *alloc;
    const mimeo_parser_options *parser;
    uint64_t max_input;
    size_t spool_memory;
    const char *tmpdir;
    const char **reason;
} mimeo_message_options;
int mimeo_message_parse_buffer(mimeo_message **out, const void *data, size_t len,
                               const mimeo_message_options *opts);
int mimeo_message_parse_file(mimeo_message **out, const char *path,
                             const mimeo_message_options *opts);
int mimeo_message_parse_fd(mimeo_message **out, int fd, const mimeo_message_options *opts);
void mimeo_message_free(mimeo_message *m);
const char *mimeo_message_source(const mimeo_message *m, size_t *len);
const mimeo_part *mimeo_message_root(const mimeo_message *m);
size_t mimeo_message_part_count(const mimeo_message *m);
const mimeo_part *mimeo_message_find_section(const mimeo_message *m, const char *section);
const mimeo_part *mimeo_message_pick_body(const mimeo_message *m, const char *want);
size_t mimeo_message_defect_count(const mimeo_message *m);
int mimeo_message_defect(const mimeo_message *m, size_t i, mimeo_defect *d,
                         const mimeo_part **part);
const mimeo_part *mimeo_part_next(const mimeo_part *p);
const mimeo_part *mimeo_part_parent(const mimeo_part *p);
const mimeo_part *mimeo_part_first_child(const mimeo_part *p);
const mimeo_part *mimeo_part_next_sibling(const mimeo_part *p);
unsigned mimeo_part_depth(const mimeo_part *p);
const char *mimeo_part_section(const mimeo_part *p);
const char *mimeo_part_type(const mimeo_part *p);
const char *mimeo_part_subtype(const mimeo_part *p);
int mimeo_part_is_multipart(const mimeo_part *p);
int mimeo_part_is_message(const mimeo_part *p);
int mimeo_part_is_leaf(const mimeo_part *p);
const char *mimeo_part_charset(const mimeo_part *p);
const char *mimeo_part_cte_name(const mimeo_part *p);
const char *mimeo_part_disposition(const mimeo_part *p);
const char *mimeo_part_filename(const mimeo_part *p);
const char *mimeo_part_param(const mimeo_part *p, const char *name);
size_t mimeo_part_header_count(const mimeo_part *p);
const char *mimeo_part_header_name(const mimeo_part *p, size_t i);
const char *mimeo_part_header_raw(const mimeo_part *p, size_t i, size_t *len);
int mimeo_part_header_decoded(const mimeo_part *p, size_t i, mimeo_charset_cache *cc,
                              const mimeo_header_options *opts, mimeo_buf *out);
const char *mimeo_part_get_header(const mimeo_part *p, const char *name, size_t *len);
const void *mimeo_part_body(const mimeo_part *p, size_t *len);
int mimeo_part_text(const mimeo_part *p, mimeo_charset_cache *cc, mimeo_buf *out,
                    unsigned *repairs);
unsigned mimeo_part_security(const mimeo_part *p);
const char *mimeo_security_role_name(unsigned security);
const char *mimeo_security_scheme_name(unsigned security);
void mimeo_part_offsets(const mimeo_part *p, uint64_t *header_start,
                        uint64_t *body_start, uint64_t *end);
int mimeo_filename_sanitize(const char *name, size_t len, mimeo_buf *out);

/* expand.h (0.2); the options are never passed (NULL = defaults) */
typedef struct mimeo_expand_options mimeo_expand_options;
int mimeo_message_expand(mimeo_message *m, const mimeo_expand_options *opts);
unsigned mimeo_part_derived(const mimeo_part *p);

/* mailbox.h (0.2) */
typedef struct mimeo_mailbox mimeo_mailbox;
typedef struct mimeo_mailbox_options {
    unsigned version;
    unsigned flags;
    const mimeo_allocator *alloc;
    size_t max_messages;
    uint64_t max_inflated;
    mimeo_isa isa;
} mimeo_mailbox_options;
typedef struct mimeo_mailbox_entry {
    size_t number;
    uint64_t offset;
    uint64_t size;
    const char *path;
} mimeo_mailbox_entry;
int mimeo_mailbox_open(mimeo_mailbox **out, const char *path, const mimeo_mailbox_options *opts);
int mimeo_mailbox_open_buffer(mimeo_mailbox **out, const void *data, size_t len,
                              const mimeo_mailbox_options *opts);
void mimeo_mailbox_free(mimeo_mailbox *mb);
int mimeo_mailbox_type(const mimeo_mailbox *mb);
size_t mimeo_mailbox_count(const mimeo_mailbox *mb);
uint64_t mimeo_mailbox_size(const mimeo_mailbox *mb);
size_t mimeo_mailbox_skipped(const mimeo_mailbox *mb);
int mimeo_mailbox_entry_get(const mimeo_mailbox *mb, size_t n, mimeo_mailbox_entry *e);
int mimeo_mailbox_message(mimeo_mailbox *mb, size_t n, const char **data, size_t *len);
unsigned mimeo_mailbox_parse_flags(const mimeo_mailbox *mb);
int mimeo_mailbox_parse(mimeo_message **out, mimeo_mailbox *mb, size_t n,
                        const mimeo_message_options *opts);
const char *mimeo_mailbox_error(const mimeo_mailbox *mb);
size_t mimeo_mailbox_next_from(const void *data, size_t len, size_t from);
size_t mimeo_mailbox_separator(const void *data, size_t offset);

typedef int (*mimeo_write_fn)(const void *data, size_t len, void *user);
/* 0.2, flat-memory tree (issue 13): absent from 0.1 libraries, so the
 * binding looks them up with has() and falls back to mimeo_part_body(). */
uint64_t mimeo_part_size(const mimeo_part *p);
int mimeo_part_decode(const mimeo_part *p, unsigned flags, mimeo_charset_cache *cc,
                      mimeo_write_fn write, void *ctx, unsigned *repairs);
int mimeo_part_decode_buf(const mimeo_part *p, unsigned flags, mimeo_charset_cache *cc,
                          mimeo_buf *out, unsigned *repairs);
const char *mimeo_message_io_error(const mimeo_message *m);
uint64_t mimeo_message_source_size(const mimeo_message *m);
int mimeo_message_read_source(const mimeo_message *m, uint64_t offset, void *buf, size_t len);

/* builder.h */
typedef struct mimeo_builder mimeo_builder;
typedef struct mimeo_builder_options {
    unsigned version;
    unsigned flags;
    const char *message_id_domain;
    const mimeo_allocator *alloc;
} mimeo_builder_options;
int mimeo_builder_new(mimeo_builder **out, const mimeo_builder_options *opts);
void mimeo_builder_free(mimeo_builder *b);
int mimeo_builder_add_address(mimeo_builder *b, int field, const char *display_name,
                              const char *addr_spec);
int mimeo_builder_set_subject(mimeo_builder *b, const char *utf8, size_t len);
int mimeo_builder_set_date(mimeo_builder *b, int64_t utc_seconds, int offset_minutes);
int mimeo_builder_set_message_id(mimeo_builder *b, const char *id);
const char *mimeo_builder_message_id(mimeo_builder *b);
int mimeo_builder_add_header(mimeo_builder *b, const char *name, const char *value,
                             unsigned flags);
int mimeo_builder_set_text(mimeo_builder *b, const char *utf8, size_t len, mimeo_cte cte);
int mimeo_builder_set_html(mimeo_builder *b, const char *utf8, size_t len, mimeo_cte cte);
typedef struct mimeo_builder_part {
    unsigned version;
    const char *content_type;
    const char *filename;
    const char *content_id;
    const char *description;
    mimeo_cte encoding;
    unsigned flags;
} mimeo_builder_part;
int mimeo_builder_add_attachment(mimeo_builder *b, const mimeo_builder_part *spec,
                                 const void *data, size_t len);
int mimeo_builder_add_attachment_file(mimeo_builder *b, const mimeo_builder_part *spec,
                                      const char *path);
int mimeo_builder_add_inline(mimeo_builder *b, const mimeo_builder_part *spec,
                             const void *data, size_t len);
int mimeo_builder_add_message(mimeo_builder *b, const void *data, size_t len,
                              const char *filename, unsigned flags);
int mimeo_builder_write_buf(mimeo_builder *b, mimeo_buf *out);
typedef struct mimeo_to7bit_options mimeo_to7bit_options;
int mimeo_to7bit(const mimeo_message *m, const mimeo_to7bit_options *opts,
                 mimeo_write_fn write, void *ctx, size_t *warnings);
"""

# Constants from the headers (ABI mode has no access to #defines).
MIMEO_OK = 0
MIMEO_ENOMEM = -1
MIMEO_EINVAL = -2
MIMEO_EIO = -5
MIMEO_EUSER = -4
MIMEO_ENOTFOUND = -8
MIMEO_MESSAGE_OPTIONS_VERSION = 2
MIMEO_MESSAGE_BORROW = 0x1
MIMEO_PARSER_OPTIONS_VERSION = 1
MIMEO_PARSER_CALLBACKS_VERSION = 1
MIMEO_PARSE_MBOX = 0x01
MIMEO_PARSE_NO_DECODE = 0x02
MIMEO_PART_LEAF = 0x04
MIMEO_BUILDER_OPTIONS_VERSION = 1
MIMEO_BUILDER_PART_VERSION = 1
MIMEO_BUILD_CRLF = 0x1
MIMEO_BUILD_8BITMIME = 0x2
MIMEO_BUILD_WRITE_BCC = 0x4

ffi = FFI()
ffi.cdef(CDEF)


def _candidates():
    env = os.environ.get("MIMEO_LIBRARY")
    if env:
        yield env
        return
    try:
        from . import _paths
        yield _paths.LIBRARY
    except ImportError:
        pass
    yield "libmimeo.so.1"


def _open():
    errors = []
    for name in _candidates():
        try:
            return ffi.dlopen(name)
        except OSError as e:
            errors.append(f"{name}: {e}")
    raise ImportError("mimeo: cannot load the C library libmimeo (" + "; ".join(errors) +
                      "); set MIMEO_LIBRARY to its path")


lib = _open()


def has(name):
    """Does the loaded library export `name` (a function of a later
    release than the oldest this binding supports)?"""
    try:
        getattr(lib, name)
        return True
    except AttributeError:
        return False


def cstr(p):
    """A NUL-terminated C string as str (UTF-8, undecodable bytes kept as
    surrogates so that nothing is lost), or None for NULL."""
    if p == ffi.NULL:
        return None
    return ffi.string(p).decode("utf-8", "surrogateescape")
