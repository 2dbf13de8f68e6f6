# SPDX-License-Identifier: LGPL-2.1-or-later
"""The binding's hand-written cffi declarations (python/mimeo/_ffi.py) match
the C headers: cffi's ABI mode cannot check them, and a struct that drifts
(a field added, moved or widened in include/mimeo/*.h and not in _ffi.py)
would make Python read and write the wrong bytes.

$MIMEO_LAYOUT is the python_layout program meson builds from _ffi.py's
declarations (tests/python/layout_gen.py) against include/mimeo: it prints
what the C compiler says of every struct, field and constant the binding
declares; cffi must say the same of each.

One difference is allowed, and only where it is stated: an options struct
grows by versions (docs/conventions.md), and the binding may declare an
earlier version's layout when it also sets that earlier version (so the
library reads only those fields).  Its fields must still sit where the
header puts them."""
import os
import subprocess
import sys

import pytest

import mimeo
from mimeo import _ffi
from mimeo._ffi import ffi


def c_layout():
    path = os.environ.get("MIMEO_LAYOUT")
    if not path or not os.access(path, os.X_OK):
        pytest.skip("MIMEO_LAYOUT (the python_layout program meson builds) is not set")
    out = subprocess.run([path], check=True, capture_output=True, text=True).stdout
    sizes, fields, consts, versions = {}, {}, {}, {}
    for line in out.splitlines():
        kind, *rest = line.split()
        if kind == "size":
            sizes[rest[0]] = int(rest[1])
        elif kind == "version":
            versions[rest[0]] = int(rest[1])
        elif kind == "field":
            fields[(rest[0], rest[1])] = (int(rest[2]), int(rest[3]))
        elif kind == "const":
            consts[rest[0]] = int(rest[1])
        else:
            raise AssertionError("unexpected line from python_layout: %r" % line)
    return sizes, fields, consts, versions


def binding_version(struct):
    """The version the binding sets in `struct` (MIMEO_<STRUCT>_VERSION in
    one of its modules), or None when it sets none (0: the current one)."""
    name = struct.upper() + "_VERSION"
    for modname, mod in sorted(sys.modules.items()):
        if (modname == "mimeo" or modname.startswith("mimeo.")) and hasattr(mod, name):
            return getattr(mod, name)
    return None


def cffi_structs():
    """{typedef name: [(field, CField)]} of every struct cffi has a body for."""
    out = {}
    typedefs, _, _ = ffi.list_types()
    for name in typedefs:
        t = ffi.typeof(name)
        if t.kind == "struct" and t.fields is not None:
            out[name] = t.fields
    return out


def test_every_struct_matches_the_headers():
    sizes, fields, _, versions = c_layout()
    structs = cffi_structs()
    assert structs, "cffi declares no structs"
    # the C program covers exactly what cffi declares (a declaration
    # layout_gen.py misread would otherwise go unchecked)
    assert set(sizes) == set(structs)
    assert set(fields) == {(s, f) for s, fl in structs.items() for f, _ in fl}
    wrong = []
    for name, fl in sorted(structs.items()):
        ours = binding_version(name)
        if name in versions and ours is not None and ours > versions[name]:
            wrong.append("%s: the binding sets version %d, the header's is %d" %
                         (name, ours, versions[name]))
        older = name in versions and ours is not None and ours < versions[name]
        if older and ffi.sizeof(name) >= sizes[name]:
            wrong.append("%s: the binding sets the earlier version %d but declares the "
                         "whole struct (%d bytes): set version %d" %
                         (name, ours, ffi.sizeof(name), versions[name]))
        elif not older and ffi.sizeof(name) != sizes[name]:
            wrong.append("%s: cffi sizeof %d, C %d" % (name, ffi.sizeof(name), sizes[name]))
        for f, cf in fl:
            c_off, c_size = fields[(name, f)]
            if (ffi.offsetof(name, f), ffi.sizeof(cf.type)) != (c_off, c_size):
                wrong.append("%s.%s: cffi offset %d size %d, C offset %d size %d" %
                             (name, f, ffi.offsetof(name, f), ffi.sizeof(cf.type), c_off,
                              c_size))
    assert not wrong, "_ffi.py differs from include/mimeo:\n" + "\n".join(wrong)


def test_every_constant_matches_the_headers():
    _, _, consts, versions = c_layout()
    assert consts
    wrong = []
    enums = {}
    typedefs, _, _ = ffi.list_types()
    for name in typedefs:
        t = ffi.typeof(name)
        if t.kind == "enum":
            enums.update(t.relements)
    # a struct's version constant is checked with its layout above
    own_versions = {s.upper() + "_VERSION" for s in versions}
    for name, value in sorted(consts.items()):
        if name in own_versions:
            continue
        ours = enums[name] if name in enums else getattr(_ffi, name)
        if ours != value:
            wrong.append("%s: binding %d, C %d" % (name, ours, value))
    assert not wrong, "_ffi.py differs from include/mimeo:\n" + "\n".join(wrong)
    # every enum constant and MIMEO_* constant of the module was compared
    module = {n for n in vars(_ffi) if n.startswith("MIMEO_")}
    assert set(enums) | module == set(consts)
