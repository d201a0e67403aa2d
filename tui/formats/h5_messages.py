"""HDF5 header messages decoded by hand, after the public file-format spec (version 3.0).

Only what tfscope needs from a weights file: a dataset's shape and dtype (named as h5py names
them), a group's links and attributes (names; a scalar string's text). Whatever is outside that (a
datatype h5py maps in its own way, a shared message, an encoding this module does not know) raises
NotParsed: the caller then asks h5py, so an answer from here is never a guess.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from tui.errors import CorruptArtifactError

MAX_RANK = 32
"""HDF5's own limit on a dataspace's dimensions."""

# Message types (spec IV.A.2).
DATASPACE, LINK_INFO, DATATYPE, LINK, EXTERNAL_FILES, LAYOUT = 0x01, 0x02, 0x03, 0x06, 0x07, 0x08
ATTRIBUTE, CONTINUATION, SYMBOL_TABLE, ATTRIBUTE_INFO = 0x0C, 0x10, 0x11, 0x15
LAST_KNOWN_TYPE = 0x18
SHARED_FLAG = 0x02
MIN_COLLECTION = 4096
"""HDF5's smallest global heap collection: it refuses a smaller one."""


class NotParsed(CorruptArtifactError):
    """The hand-written reader met something it does not read: h5py reads the file instead."""

    title = "Not read by the fast HDF5 reader"


class NotHdf5(CorruptArtifactError):
    """The file breaks a rule of the HDF5 format that the HDF5 library enforces too (a superblock
    version it does not know, a bad checksum, an end past the file's end): h5py would refuse it, so it
    is not asked (a helper process each, ~0.2 s: a folder of junk .h5 files would take minutes)."""


class Cursor:
    """Little-endian fields out of one message or block; reading past its end is NotParsed."""

    def __init__(self, data: bytes, offsets: int = 8, lengths: int = 8, pos: int = 0) -> None:
        self.data = data
        self.pos = pos
        self.offsets = offsets
        self.lengths = lengths

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise NotParsed(f"a field runs past its block ({self.pos}+{n} > {len(self.data)})")
        piece = self.data[self.pos : self.pos + n]
        self.pos += n
        return piece

    def uint(self, n: int) -> int:
        return int.from_bytes(self.take(n), "little")

    def u8(self) -> int:
        return self.uint(1)

    def u16(self) -> int:
        return self.uint(2)

    def u32(self) -> int:
        return self.uint(4)

    def length(self) -> int:
        return self.uint(self.lengths)

    def address(self) -> int | None:
        """An address, or None for the undefined one (all bits set)."""
        value = self.uint(self.offsets)
        return None if value == (1 << (8 * self.offsets)) - 1 else value

    def defined_address(self) -> int:
        value = self.address()
        if value is None:
            raise NotParsed("an address that must be defined is not")
        return value


@dataclass(frozen=True)
class Link:
    """One link of a group: `kind` is hard (to `address`), soft, or external (to file `target`)."""

    name: str
    kind: str
    address: int = 0
    target: str = ""


def text(raw: bytes) -> str:
    """A name as h5py gives it; bytes that are not UTF-8 are left to h5py."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise NotParsed("a name that is not UTF-8") from None


# -- datasets -------------------------------------------------------------------------------------


def shape(data: bytes, lengths: int) -> tuple[int, ...]:
    """A dataspace message (versions 1, 2): the current dimensions; a null dataspace is NotParsed."""
    c = Cursor(data, lengths=lengths)
    version, rank, _flags = c.u8(), c.u8(), c.u8()
    if version == 1:
        c.take(5)
        kind = 1 if rank else 0
    elif version == 2:
        kind = c.u8()
    else:
        raise NotParsed(f"dataspace version {version}")
    if rank > MAX_RANK or kind not in (0, 1) or (kind == 0) != (rank == 0):
        raise NotParsed(f"dataspace of kind {kind} and rank {rank}")
    return tuple(c.length() for _ in range(rank))


_IEEE = {2: (15, 10, 5, 0, 10, 15), 4: (31, 23, 8, 0, 23, 127), 8: (63, 52, 11, 0, 52, 1023)}
"""Float size -> (sign bit, exponent position, size, mantissa position, size, bias): what h5py maps to f2/f4/f8."""
_NAMES = {"i": "int", "u": "uint", "f": "float"}
_NATIVE_BIG = sys.byteorder == "big"


def dtype(data: bytes) -> str:
    """A datatype message as `str(dataset.dtype)` in h5py: integers, IEEE floats, fixed-length strings."""
    c = Cursor(data)
    class_version = c.u8()
    kind, version = class_version & 0x0F, class_version >> 4
    bits = c.take(3)
    size = c.u32()
    if version not in (1, 2, 3):
        raise NotParsed(f"datatype version {version}")
    if kind == 0:  # fixed-point: h5py names it by size and sign only
        if size not in (1, 2, 4, 8) or bits[0] & 0xF0 or bits[1] or bits[2]:
            raise NotParsed(f"an integer type of {size} bytes, flags {bits.hex()}")
        c.take(4)
        return _numpy_name("i" if bits[0] & 0x08 else "u", size, bool(bits[0] & 1))
    if kind == 1:
        if size not in _IEEE or bits[0] & 0x4E or (bits[0] >> 4) & 3 != 2 or bits[2]:
            raise NotParsed(f"a float type of {size} bytes, flags {bits.hex()}")
        offset, precision = c.u16(), c.u16()
        layout = (bits[1], c.u8(), c.u8(), c.u8(), c.u8(), c.u32())
        if offset != 0 or precision != 8 * size or layout != _IEEE[size]:
            raise NotParsed(f"a non-IEEE float of {size} bytes")
        return _numpy_name("f", size, bool(bits[0] & 1))
    if kind == 3 and size > 0 and not bits[0] & 0xF0 and not bits[1] and not bits[2]:
        return f"|S{size}"
    raise NotParsed(f"datatype class {kind}")


def _numpy_name(kind: str, size: int, big: bool) -> str:
    if size == 1 or big == _NATIVE_BIG:
        return f"{_NAMES[kind]}{8 * size}"
    return f"{'>' if big else '<'}{kind}{size}"


def layout_class(data: bytes) -> int:
    """A data layout message: 0 compact, 1 contiguous, 2 chunked, 3 virtual."""
    c = Cursor(data)
    version = c.u8()
    if version in (1, 2):
        c.u8()
        found = c.u8()
    elif version in (3, 4):
        found = c.u8()
    else:
        raise NotParsed(f"layout version {version}")
    if found > 3 or (found == 3 and version < 4):
        raise NotParsed(f"layout class {found}")
    return found


# -- groups ---------------------------------------------------------------------------------------


def symbol_table(data: bytes, offsets: int) -> tuple[int, int]:
    """An old-style group's (v1 B-tree address, local heap address)."""
    c = Cursor(data, offsets=offsets)
    return c.defined_address(), c.defined_address()


def links_are_dense(data: bytes, offsets: int) -> bool:
    """A link info message: True when the links live in a fractal heap (not read here)."""
    return _info_is_dense(data, offsets, "link info", creation_index_bytes=8)


def link(data: bytes, offsets: int) -> Link:
    """A link message (version 1): hard, soft or external; other kinds are NotParsed."""
    c = Cursor(data, offsets=offsets)
    version, flags = c.u8(), c.u8()
    if version != 1 or flags & ~0x1F:
        raise NotParsed(f"link message version {version}, flags {flags}")
    kind = c.u8() if flags & 0x08 else 0
    if flags & 0x04:
        c.take(8)  # creation order
    if flags & 0x10 and c.u8() not in (0, 1):
        raise NotParsed("a link name in an unknown character set")
    name_size = c.uint(1 << (flags & 3))
    if name_size == 0:
        raise NotParsed("a link with an empty name")
    name = text(c.take(name_size))
    if kind == 0:
        return Link(name, "hard", c.defined_address())
    if kind == 1:
        c.take(c.u16())
        return Link(name, "soft")
    if kind == 64:
        value = c.take(c.u16())
        parts = value[1:].split(b"\0")
        if not value or value[0] >> 4 != 0 or len(parts) < 2:
            raise NotParsed("an external link in an unknown encoding")
        return Link(name, "external", target=text(parts[0]))
    raise NotParsed(f"a link of type {kind}")


def _attribute_start(data: bytes, offsets: int = 8, lengths: int = 8) -> tuple[Cursor, int, int, tuple[int, int, int]]:
    """An attribute message (versions 1-3) read up to its name: a cursor there, the version, the flags,
    and the sizes of the name, the datatype and the dataspace."""
    c = Cursor(data, offsets, lengths)
    version, flags = c.u8(), c.u8()
    if version not in (1, 2, 3):
        raise NotParsed(f"attribute version {version}")
    sizes = (c.u16(), c.u16(), c.u16())
    if version == 3:
        c.u8()  # the name's encoding
    return c, version, flags, sizes


def attribute_name(data: bytes) -> bytes:
    """An attribute message's name (versions 1-3), without its terminating NUL."""
    c, _, _, (name_size, _, _) = _attribute_start(data)
    name = c.take(name_size)
    if not name.endswith(b"\0") or b"\0" in name[:-1]:
        raise NotParsed("an attribute name not ended by its one NUL")  # HDF5 refuses it
    return name[:-1]


@dataclass(frozen=True)
class HeapText:
    """A variable-length string's place: object `index` of the global heap collection at `collection`."""

    collection: int
    index: int
    length: int


def attribute_text(data: bytes, offsets: int, lengths: int) -> str | HeapText:
    """A scalar string attribute's value as h5py gives it (a fixed-length one's text; for a variable-length
    one, where its text lies). Any other attribute (numbers, arrays, shared types) is NotParsed."""
    c, version, flags, (name_size, type_size, space_size) = _attribute_start(data, offsets, lengths)
    if version > 1 and flags:  # a shared datatype or dataspace, or unknown bits
        raise NotParsed(f"attribute version {version}, flags {flags}")

    def padded(n: int) -> int:  # version 1 pads each part to 8 bytes
        return -(-n // 8) * 8 if version == 1 else n

    c.take(padded(name_size))
    datatype = c.take(padded(type_size))[:type_size]
    if shape(c.take(padded(space_size))[:space_size], lengths) != ():
        raise NotParsed("an attribute that is not a scalar")
    t = Cursor(datatype)
    class_and_version, bits, size = t.u8(), t.uint(3), t.u32()
    kind, type_version = class_and_version & 0x0F, class_and_version >> 4
    if type_version not in (1, 2, 3):
        raise NotParsed(f"datatype version {type_version}")
    # fixed-length, NUL-terminated or NUL-padded (numpy strips the NULs), ASCII or UTF-8
    if kind == 3 and bits & 0x0F in (0, 1) and bits >> 4 & 0x0F in (0, 1) and not bits >> 8:
        raw = c.take(size)
        return (raw.split(b"\0", 1)[0] if bits & 0x0F == 0 else raw.rstrip(b"\0")).decode("utf-8", "replace")
    # a variable-length string, ASCII or UTF-8: its length, then a global heap ID
    if kind == 9 and bits & 0x0F == 1 and bits >> 8 & 0x0F in (0, 1) and not bits >> 12:
        length = c.u32()
        return HeapText(c.defined_address(), c.u32(), length)
    raise NotParsed(f"an attribute of datatype class {kind}")


def heap_text(collection: bytes, found: HeapText, lengths: int) -> str:
    """A variable-length string out of its global heap collection ("GCOL", spec III.E), as h5py decodes it.

    The whole collection is parsed, as HDF5 does (every object in it, none twice), so what it refuses is
    refused here too: it is left to h5py.
    """
    c = Cursor(collection, lengths=lengths)
    if c.take(4) != b"GCOL" or c.u8() != 1:
        raise NotParsed("no global heap collection where a string points")
    c.take(3)
    end = c.length()
    if not MIN_COLLECTION <= end <= len(collection):
        raise NotParsed(f"a global heap collection of {end:,} bytes")
    c = Cursor(collection[:end], lengths=lengths, pos=-(-c.pos // 8) * 8)  # objects start 8-byte aligned
    objects: dict[int, bytes] = {}
    while end - c.pos >= 8 + lengths:
        index, _references, _ = c.u16(), c.u16(), c.take(4)
        size = c.length()
        if index == 0:  # free space: the collection's last object
            break
        if index in objects:
            raise NotParsed(f"global heap object {index} twice")
        objects[index] = c.take(-(-size // 8) * 8)[:size]
    data = objects.get(found.index)
    if data is None or len(data) != found.length or b"\0" in data:
        raise NotParsed(f"global heap object {found.index} missing, or not the string pointed at")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise NotParsed("a string that is not UTF-8") from None  # h5py has its own way with it


def attributes_are_dense(data: bytes, offsets: int) -> bool:
    """An attribute info message: True when the attributes live in a fractal heap (not read here)."""
    return _info_is_dense(data, offsets, "attribute info", creation_index_bytes=2)


def _info_is_dense(data: bytes, offsets: int, what: str, creation_index_bytes: int) -> bool:
    """A link or attribute info message (version 0): whether its fractal heap address is defined. Flag
    bit 0 adds the maximum creation index (8 bytes for links, 2 for attributes) before the address."""
    c = Cursor(data, offsets=offsets)
    version, flags = c.u8(), c.u8()
    if version != 0 or flags & ~3:
        raise NotParsed(f"{what} version {version}, flags {flags}")
    if flags & 1:
        c.take(creation_index_bytes)
    return c.address() is not None


# -- checksums ------------------------------------------------------------------------------------

_M = 0xFFFFFFFF


def _rot(x: int, k: int) -> int:
    return ((x << k) | (x >> (32 - k))) & _M


def lookup3(data: bytes, initval: int = 0) -> int:
    """Bob Jenkins' lookup3 hashlittle: the checksum of HDF5's version 2 structures."""
    n = len(data)
    a = b = c = (0xDEADBEEF + n + initval) & _M
    if n == 0:
        return c
    padded = data + bytes(-n % 12)
    blocks = len(padded) // 12
    for i in range(blocks):
        k = 12 * i
        a = (a + int.from_bytes(padded[k : k + 4], "little")) & _M
        b = (b + int.from_bytes(padded[k + 4 : k + 8], "little")) & _M
        c = (c + int.from_bytes(padded[k + 8 : k + 12], "little")) & _M
        if i == blocks - 1:
            break
        a = ((a - c) & _M) ^ _rot(c, 4)
        c = (c + b) & _M
        b = ((b - a) & _M) ^ _rot(a, 6)
        a = (a + c) & _M
        c = ((c - b) & _M) ^ _rot(b, 8)
        b = (b + a) & _M
        a = ((a - c) & _M) ^ _rot(c, 16)
        c = (c + b) & _M
        b = ((b - a) & _M) ^ _rot(a, 19)
        a = (a + c) & _M
        c = ((c - b) & _M) ^ _rot(b, 4)
        b = (b + a) & _M
    c ^= b
    c = (c - _rot(b, 14)) & _M
    a ^= c
    a = (a - _rot(c, 11)) & _M
    b ^= a
    b = (b - _rot(a, 25)) & _M
    c ^= b
    c = (c - _rot(b, 16)) & _M
    a ^= c
    a = (a - _rot(c, 4)) & _M
    b ^= a
    b = (b - _rot(a, 14)) & _M
    c ^= b
    c = (c - _rot(b, 24)) & _M
    return c
