#!/usr/bin/env python3
"""gen-man3.py INCLUDE_DIR VERSION OUTPUT SOVERSION

Write mimeo(3), the library's reference page, from the public headers:
for every include/mimeo/<component>.h its purpose (the first paragraph of
the file comment) and every MIMEO_EXTERN function with its prototype and
the first sentence of its doc comment, with the release it appeared in.
Generated at build time so the page cannot drift from the headers; the
headers stay the full reference (parameters, return codes, ownership).
"""
import datetime
import glob
import os
import re
import sys

# the order a reader meets them (docs/architecture.md), then anything new
ORDER = ["common", "parser", "message", "query", "header", "charset", "param", "address",
         "date", "codec", "builder", "mailbox", "pop3", "tnef", "expand", "imap"]


def roff(text):
    """Escape text for a troff line body."""
    text = text.replace("\\", "\\e")
    text = text.replace("-", "\\-")
    return text


def roff_line(text):
    """Escape a whole line: a leading . or ' would be a request."""
    text = roff(text)
    if text.startswith((".", "'")):
        text = "\\&" + text
    return text


def clean_comment(c):
    """The text of a /* */ or /** */ comment, leading stars removed."""
    c = re.sub(r"^/\*\*?", "", c)
    c = re.sub(r"\*/$", "", c)
    lines = [re.sub(r"^\s*\*( |$)", "", ln) for ln in c.splitlines()]
    return "\n".join(lines).strip()


def first_sentence(doc):
    doc = re.split(r"\n\s*@|\n\s*\n|@code", doc)[0]
    doc = " ".join(doc.split())
    doc = re.sub(r"@since\s+[0-9.]+", "", doc).strip()
    # the first full stop that ends a sentence (not "e.g." nor a file name)
    m = re.search(r"(?<!e\.g)(?<!i\.e)(?<!etc)[.!?](\s|$)", doc)
    s = doc[:m.start() + 1] if m else doc
    if len(s) > 240:
        s = s[:237].rsplit(" ", 1)[0] + " ..."
    return s


def header_purpose(text):
    m = re.match(r"\s*/\*(.*?)\*/", text, re.S)
    if not m:
        return ""
    body = clean_comment("/*" + m.group(1) + "*/")
    paras = [p for p in re.split(r"\n\s*\n", body) if p.strip()]
    if not paras:
        return ""
    p = " ".join(paras[0].split())
    # "mimeo/parser.h - the streaming push parser..." -> what follows the dash
    p = re.sub(r"^mimeo/\S+\.h\s*-\s*", "", p)
    return p[:1].upper() + p[1:]


def functions(text):
    out = []
    for m in re.finditer(r"MIMEO_EXTERN\b([^;{]*?)\b(mimeo_[A-Za-z0-9_]+)\s*\(", text):
        start = m.start()
        end = text.index(";", m.end())
        proto = " ".join(text[start + len("MIMEO_EXTERN"):end].split()) + ";"
        before = text[:start].rstrip()
        doc = ""
        if before.endswith("*/"):
            doc = clean_comment(before[before.rfind("/*"):])
        since = re.findall(r"@since\s+([0-9.]+)", doc)
        out.append((m.group(2), proto, first_sentence(doc), since[-1] if since else ""))
    return out


def main():
    include_dir, version, output, soversion = sys.argv[1:5]
    headers = {os.path.basename(h)[:-2]: h
               for h in glob.glob(os.path.join(include_dir, "mimeo", "*.h"))}
    names = [n for n in ORDER if n in headers] + sorted(n for n in headers if n not in ORDER)
    # SOURCE_DATE_EPOCH keeps the page reproducible
    when = datetime.datetime.fromtimestamp(int(os.environ.get("SOURCE_DATE_EPOCH", "0")),
                                           datetime.timezone.utc).strftime("%Y-%m-%d")
    o = []
    o.append(f'.TH MIMEO 3 "{when}" "mimeo {version}" "mimeo library"')
    o.append(".SH NAME")
    o.append("mimeo \\- Internet mail library: MIME parsing, message trees, header decoding, "
             "codecs, charsets, message building, mailboxes, POP3")
    o.append(".SH SYNOPSIS")
    o.append(".nf")
    o.append(".B #include <mimeo.h>")
    o.append(".PP")
    o.append(".B cc prog.c $(pkg\\-config \\-\\-cflags \\-\\-libs mimeo)")
    o.append(".fi")
    o.append(".SH DESCRIPTION")
    o.append("The umbrella header")
    o.append(".B <mimeo.h>")
    o.append("includes one header per component, listed below with every function they "
             "declare and the release it appeared in.  Each header documents its "
             "functions in full (parameters, status codes, who owns what); this page is "
             "the map.")
    o.append(".PP")
    o.append("Conventions: every name starts with")
    o.append(".BR mimeo_ ;")
    o.append("long-lived objects are opaque handles made by a")
    o.append(".B _new")
    o.append("or")
    o.append(".B _open")
    o.append("call and released by its")
    o.append(".B _free")
    o.append("or")
    o.append(".BR _close ;")
    o.append("calls return an")
    o.append(".B int")
    o.append("status,")
    o.append(".B MIMEO_OK")
    o.append("(0) or a negative")
    o.append(".B MIMEO_E*")
    o.append("code that")
    o.append(".BR mimeo_strerror ()")
    o.append("describes, and the object keeps the reason; text comes out as UTF-8 in a")
    o.append(".B mimeo_buf")
    o.append("whose")
    o.append(".B ptr")
    o.append("is never NULL after a successful call; option structs may be zero-initialised; "
             "every object takes an optional allocator; malformed mail is read leniently and "
             "reported as defects, never as an error.")
    for n in names:
        text = open(headers[n], encoding="utf-8").read()
        o.append(f".SS <mimeo/{n}.h>")
        purpose = header_purpose(text)
        if purpose:
            o.append(roff_line(purpose))
        for name, proto, brief, since in functions(text):
            o.append(".TP")
            o.append(".B " + roff(proto).replace('"', '\\(dq'))
            line = brief
            if since:
                line += f" (since {since})"
            o.append(roff_line(line))
    o.append(".SH FILES")
    o.append(".TP")
    o.append(".I <includedir>/mimeo.h, <includedir>/mimeo/*.h")
    o.append("the headers, the full reference")
    o.append(".TP")
    o.append(f".I libmimeo.so.{soversion}, libmimeo.a, mimeo.pc")
    o.append("the library and its pkg\\-config file")
    o.append(".SH SEE ALSO")
    o.append(".BR mimeo (1),")
    o.append(".BR pkg\\-config (1);")
    o.append("the guides in the source tree under")
    o.append(".IR docs/ ,")
    o.append("and")
    o.append(".I docs/examples/mail\\-client.c")
    o.append("(a mail client in one page).")
    with open(output, "w", encoding="utf-8") as f:
        f.write("\n".join(o) + "\n")


if __name__ == "__main__":
    main()
