"""The root's string attributes and every dataset's shape and dtype under some groups of an HDF5 file,
read without the HDF5 library.

h5py reads one object header at a time: on a distant bucket that is a round trip per dataset (105
for a ResNet50 .h5). This reader walks the same metadata (superblock, object headers v1/v2 and their
continuations, old-style groups: v1 B-tree, symbol table nodes, local heap; new-style compact groups:
link messages) in rounds: every structure the walk knows it needs next, for all groups at once, is
fetched together through the file's `prefetch` (parallel ranged reads; see storage.ranged), then parsed.
The walk costs a few round trips per level of the tree instead of one per dataset.

It answers as h5_probe does, or raises NotParsed for anything it does not read (dense groups, shared
messages, virtual or external storage, a datatype h5py names its own way, anything damaged), and the
caller asks h5py. Nothing in the file sets a loop's length or an allocation unchecked: every address is
bounds-checked, each object and B-tree node is visited once, and counts are capped.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from tui.formats import h5_messages as msg
from tui.formats.h5_messages import Cursor, Link, NotHdf5, NotParsed
from tui.formats.h5_probe import MAX_ATTRIBUTE_BYTES, group_link_need, walked_link_need
from tui.formats.limits import Budget

Range = tuple[int, int]
"""(offset, length) of bytes a step reads next."""
Step = Generator[list[Range], None, Any]
"""A parse that yields what it will read next (fetched for all steps together), then returns its result."""

SIGNATURE = b"\x89HDF\r\n\x1a\n"
MAX_CHUNK = 1024 * 1024
"""Bytes one object-header chunk may hold (real ones: hundreds)."""
MAX_CHUNKS = 256
"""Chunks (continuations) one object header may have."""
MAX_HEAP = 16 * 1024 * 1024
"""Bytes of one group's local heap (names): 100,000 links of 100 characters fit."""
MAX_BTREE_DEPTH = 32
ACTIVE_STEPS = 256
"""Steps advanced per round: bounds each round's reads to what the block cache holds."""
HEADER_GUESS = 512
"""Bytes read ahead for an object header whose size is not known yet."""
MAX_OBJECTS = 50_000
"""Objects and links walked here; past it, h5py (in its fenced helper) decides: real Keras files have
thousands, and a file of 100,000 empty groups is refused there as crafted."""


@dataclass
class H5Object:
    """One object header, as far as the walk needs it."""

    kind: str
    """group | dataset | other"""
    links: list[Link] = field(default_factory=list)
    shape: tuple[int, ...] = ()
    dtype: str = ""
    attributes: dict[bytes, bytes] | None = field(default_factory=dict)
    """Each attribute's message by name; None: the attributes are stored densely, not read here."""


@dataclass
class _Header:
    messages: list[tuple[int, int, bytes]]
    """(type, flags, body) of every message, continuation chunks included."""

    def first(self, kind: int) -> bytes | None:
        for found, flags, body in self.messages:
            if found == kind:
                if flags & msg.SHARED_FLAG:
                    raise NotParsed(f"a shared message of type {kind}")
                return body
        return None

    def has(self, kind: int) -> bool:
        return any(found == kind for found, _, _ in self.messages)


def walk(
    file: BinaryIO,
    size: int,
    budget: Budget,
    *,
    attributes: Iterable[str] = (),
    groups: Iterable[str] = (),
    shapes: bool = True,
) -> dict[str, Any]:
    """The h5_probe answer for the root's `attributes` (scalar strings) and `groups` (with their datasets'
    shapes if `shapes`), read by hand.

    Raises:
        NotParsed: something here is left to h5py; budget errors and storage errors pass through.
    """
    return _Walk(file, size, budget).answer(list(attributes), list(groups), shapes)


class _Walk:
    def __init__(self, file: BinaryIO, size: int, budget: Budget) -> None:
        self.file = file
        self.size = size
        self.budget = budget
        self.offsets = 8
        self.lengths = 8
        self.objects: dict[int, H5Object] = {}
        self.expanded: set[int] = set()
        prefetch = getattr(file, "prefetch", None)
        self.prefetch: Callable[[list[Range]], None] | None = prefetch if callable(prefetch) else None

    # -- reading ----------------------------------------------------------------------------------

    def read(self, offset: int, length: int) -> bytes:
        if offset < 0 or length < 0 or offset + length > self.size:
            raise NotParsed(f"a structure at {offset:,} (+{length:,}) lies outside the file ({self.size:,} bytes)")
        self.file.seek(offset)
        data = self.file.read(length)
        if len(data) != length:
            raise NotParsed(f"read {len(data)} of {length} bytes at {offset:,}")
        return data

    def read_up_to(self, offset: int, length: int) -> bytes:
        """Up to `length` bytes: a structure whose size is read from its own first bytes."""
        return self.read(offset, max(0, min(length, self.size - offset)))

    def run(self, addresses: Iterable[int], expand: bool, links: bool = True) -> None:
        """Parse the objects at `addresses` (and, if `expand`, every object their groups hard-link to);
        without `links`, a group's own links are not read (its kind and attributes are all that is asked)."""
        steps: dict[int, Step] = {}
        wants: dict[int, list[Range]] = {}

        def start(first: int) -> None:
            todo = [first]
            while todo:
                address = todo.pop()
                if address in self.objects:
                    if expand and address not in self.expanded:
                        self.expanded.add(address)
                        todo += [child.address for child in self.objects[address].links if child.kind == "hard"]
                    continue
                if address in steps:
                    continue
                if len(self.objects) + len(steps) > MAX_OBJECTS:
                    raise NotParsed(f"more than {MAX_OBJECTS:,} objects")
                self.budget.spend(1, on="HDF5 objects")
                steps[address] = self._object(address, links)
                wants[address] = next(steps[address])

        for address in addresses:
            start(address)
        while wants:
            batch = list(wants)[:ACTIVE_STEPS]
            if self.prefetch is not None:
                self.prefetch([r for key in batch for r in wants[key]])
            for key in batch:
                try:
                    wants[key] = steps[key].send(None)
                    continue
                except StopIteration as done:
                    found: H5Object = done.value
                del wants[key], steps[key]
                self.objects[key] = found
                start(key)

    # -- the answer -------------------------------------------------------------------------------

    def answer(self, attributes: list[str], groups: list[str], shapes: bool) -> dict[str, Any]:
        root = self._superblock()
        self.run([root], expand=False)
        root_object = self.objects[root]
        texts = self._attributes(root_object, attributes)
        targets: dict[str, Link | None] = {}
        for name in groups:
            if name == "/":
                targets[name] = Link("/", "hard", root)
            elif "/" in name.strip("/"):
                raise NotParsed("a group path of several parts")
            else:
                targets[name] = next((lk for lk in root_object.links if lk.name == name.strip("/")), None)
        hard = [t.address for t in targets.values() if t is not None and t.kind == "hard"]
        self.run(hard, expand=shapes, links=shapes or root in hard)  # "/" is the root, read with its links
        answer_groups: dict[str, Any] = {}
        needs: list[list[str]] = []
        visited = [0]
        for name, target in targets.items():
            answer_groups[name] = self._group_answer(name, target, needs, visited, shapes)
        return {"attributes": texts, "groups": answer_groups, "needs": needs,
                "root_layer_names": _has_attribute(root_object, b"layer_names")}  # fmt: skip

    def _attributes(self, found: H5Object, names: list[str]) -> dict[str, str]:
        """The text of each named attribute the object has, in the order asked (variable-length strings
        from their global heap collections, fetched together)."""
        if not names:
            return {}
        if found.attributes is None:
            raise NotParsed("attributes in dense storage")
        values = {name: msg.attribute_text(found.attributes[key], self.offsets, self.lengths)
                  for name in names if (key := name.encode()) in found.attributes}  # fmt: skip
        heap = {value.collection for value in values.values() if isinstance(value, msg.HeapText)}
        prefix = 8 + self.lengths  # "GCOL", version, reserved, then the collection's size
        if self.prefetch is not None and heap:
            self.prefetch([(address, prefix) for address in heap])
        sizes = {address: Cursor(self.read(address, prefix), lengths=self.lengths, pos=8).length() for address in heap}
        if any(n < msg.MIN_COLLECTION for n in sizes.values()) or sum(sizes.values()) > MAX_ATTRIBUTE_BYTES:
            raise NotParsed("a global heap collection of an unusual size")  # h5py, with its byte limit, decides
        if self.prefetch is not None and heap:
            self.prefetch(list(sizes.items()))
        collections = {address: self.read(address, n) for address, n in sizes.items()}
        return {name: value if isinstance(value, str) else msg.heap_text(collections[value.collection], value,
                self.lengths) for name, value in values.items()}  # fmt: skip

    def _group_answer(
        self, name: str, target: Link | None, needs: list[list[str]], visited: list[int], shapes: bool
    ) -> Any:
        if target is None:
            return {"kind": "missing"}
        if target.kind == "external":
            needs.append(group_link_need(name, target.target))
            return {"kind": "external", "target": target.target}
        if target.kind != "hard":
            return {"kind": "other"}
        group = self.objects[target.address]
        if group.kind != "group":
            return {"kind": group.kind}
        found: dict[str, Any] = {}
        if shapes:
            self._visit(target.address, found, needs, visited)
        return {"kind": "group", "shapes": found, "layer_names": _has_attribute(group, b"layer_names")}

    def _visit(self, start: int, found: dict[str, Any], needs: list[list[str]], visited: list[int]) -> None:
        """H5Lvisit's order: each group's links by name, depth first; a group reached twice is walked once."""
        seen = {start}
        stack: list[tuple[str, list[Link]]] = [("", list(reversed(self.objects[start].links)))]
        while stack:
            prefix, todo = stack[-1]
            if not todo:
                stack.pop()
                continue
            link = todo.pop()
            path = prefix + link.name
            visited[0] += 1
            if visited[0] > MAX_OBJECTS:
                raise NotParsed(f"more than {MAX_OBJECTS:,} links")  # h5py refuses it: let it say so
            if link.kind == "external":
                needs.append(walked_link_need(path, link.target))
            if link.kind != "hard":
                continue
            target = self.objects[link.address]
            if target.kind == "dataset":
                found[path] = [list(target.shape), target.dtype]
            elif target.kind == "group" and link.address not in seen:
                seen.add(link.address)
                stack.append((path + "/", list(reversed(target.links))))

    # -- the superblock ---------------------------------------------------------------------------

    def _superblock(self) -> int:
        """The root group's object header address; sets the sizes of offsets and lengths."""
        data = self.read_up_to(0, 256)
        if data[:8] != SIGNATURE or len(data) < 12:
            raise NotParsed("no HDF5 signature at the start (a user block?)")
        version = data[8]
        if version in (0, 1):
            self.offsets, self.lengths = data[13], data[14]
            pos = 24 + (4 if version == 1 else 0)
        elif version in (2, 3):
            self.offsets, self.lengths = data[9], data[10]
            pos = 12
        else:  # the format has versions 0 to 3 (HDF5 1.14's H5F__super_read refuses others)
            raise NotHdf5(f"superblock version {version}")
        if self.offsets not in (2, 4, 8, 16, 32) or self.lengths not in (2, 4, 8, 16, 32):
            raise NotHdf5(f"sizes of offsets and lengths {self.offsets} and {self.lengths}")
        if self.offsets not in (2, 4, 8) or self.lengths not in (2, 4, 8):
            raise NotParsed("unusual sizes of offsets and lengths")
        c = Cursor(data, self.offsets, self.lengths, pos)
        base = c.address()
        if version in (0, 1):
            c.address()  # free-space info: unused
            eof = c.address()
            driver = c.address()
            c.address()  # the root's link name offset
            root = c.defined_address()
            if driver is not None:
                raise NotParsed("a file-driver information block (family or multi file)")
        else:
            c.address()  # superblock extension: holds nothing the walk needs (shared messages are flagged)
            eof = c.address()
            root = c.defined_address()
            end = c.pos
            if c.u32() != msg.lookup3(data[:end]):
                raise NotHdf5("the superblock's checksum does not match")
        if base != 0 or eof is None:
            raise NotParsed("a base address, or no end-of-file address")
        if eof > self.size:
            raise NotHdf5(f"truncated: the file says it ends at byte {eof:,}, it has {self.size:,}")
        self.size = eof  # nothing of the file's own lies beyond its end-of-file address
        return root

    # -- object headers ---------------------------------------------------------------------------

    def _object(self, address: int, links: bool = True) -> Step:
        header = yield from self._header(address)
        stab, link_info = header.first(msg.SYMBOL_TABLE), header.first(msg.LINK_INFO)
        if stab is not None or link_info is not None:
            attribute_info = header.first(msg.ATTRIBUTE_INFO)
            dense = attribute_info is not None and msg.attributes_are_dense(attribute_info, self.offsets)
            messages = header.messages
            named = None if dense else _attributes_by_name(messages)
            if not links:
                return H5Object("group", attributes=named)
            if stab is not None:
                found_links = yield from self._symbol_table(*msg.symbol_table(stab, self.offsets))
            else:
                assert link_info is not None
                if msg.links_are_dense(link_info, self.offsets):
                    raise NotParsed("a group with dense link storage")
                found = [msg.link(body, self.offsets) for t, _, body in header.messages if t == msg.LINK]
                found_links = sorted(found, key=lambda lk: lk.name.encode())  # HDF5 sorts a compact group by name
            return H5Object("group", found_links, attributes=named)
        space, datatype = header.first(msg.DATASPACE), header.first(msg.DATATYPE)
        if space is None or datatype is None:
            return H5Object("other")
        layout = header.first(msg.LAYOUT)
        if layout is None or msg.layout_class(layout) == 3 or header.has(msg.EXTERNAL_FILES):
            raise NotParsed("a dataset with virtual or external storage, or none")  # h5py lists the files
        return H5Object("dataset", shape=msg.shape(space, self.lengths), dtype=msg.dtype(datatype))

    def _header(self, address: int) -> Step:
        """An object header's messages (versions 1 and 2), its continuation chunks fetched a round each."""
        yield [(address, HEADER_GUESS)]
        head = self.read_up_to(address, 64)
        if head[:4] == b"OHDR":
            version = 2
            c = Cursor(head, pos=4)
            if c.u8() != 2:
                raise NotParsed("object header version")
            flags = c.u8()
            if flags & 0xC0:
                raise NotParsed("object header flags")
            c.take((16 if flags & 0x20 else 0) + (4 if flags & 0x10 else 0))
            length, start = c.uint(1 << (flags & 3)), address + c.pos
        elif head[:1] == b"\x01":
            version, flags = 1, 0
            length, start = Cursor(head, pos=8).u32(), address + 16
        else:
            raise NotParsed(f"no object header at {address:,}")
        messages: list[tuple[int, int, bytes]] = []
        chunks = [(start, length)]
        seen: set[int] = set()
        first = True
        while chunks:
            chunks = [(a, n) for a, n in chunks if a not in seen]
            if len(seen) + len(chunks) > MAX_CHUNKS or any(n > MAX_CHUNK for _, n in chunks):
                raise NotParsed("an object header too big or in too many chunks")
            yield chunks
            more: list[tuple[int, int]] = []
            for chunk_address, chunk_length in chunks:
                seen.add(chunk_address)
                if version == 1:
                    data = self.read(chunk_address, chunk_length)
                else:
                    data = self._v2_chunk(address if first else chunk_address, chunk_address, chunk_length, first)
                first = False
                more += self._messages(data, version, flags, messages)
            chunks = more
        return _Header(messages)

    def _v2_chunk(self, header: int, start: int, length: int, first: bool) -> bytes:
        """A version 2 chunk's messages, its checksum (over the prefix too, for the first) checked."""
        if first:
            whole = self.read(header, start - header + length + 4)
            body = whole[start - header : -4]
        else:
            whole = self.read(start, length)
            if whole[:4] != b"OCHK" or length < 8:
                raise NotParsed("a continuation chunk without its signature")
            body = whole[4:-4]
        if int.from_bytes(whole[-4:], "little") != msg.lookup3(whole[:-4]):
            raise NotParsed("object header checksum mismatch")
        return body

    def _messages(self, data: bytes, version: int, flags: int, into: list[tuple[int, int, bytes]]) -> list[Range]:
        """Append a chunk's messages; return its continuations."""
        c = Cursor(data, self.offsets, self.lengths)
        prefix = 8 if version == 1 else 4 + (2 if flags & 0x04 else 0)
        continuations = []
        while len(data) - c.pos >= prefix:
            if version == 1:
                kind, length, message_flags = c.u16(), c.u16(), c.u8()
                c.take(3)
            else:
                kind, length, message_flags = c.u8(), c.u16(), c.u8()
                c.take(prefix - 4)
            body = c.take(length)
            self.budget.spend(1, on="HDF5 header messages")
            if kind > msg.LAST_KNOWN_TYPE:
                raise NotParsed(f"header message type {kind}")
            if kind == msg.CONTINUATION:
                more = Cursor(body, self.offsets, self.lengths)
                continuations.append((more.defined_address(), more.length()))
            elif kind:
                into.append((kind, message_flags, body))
        if version == 1 and c.pos != len(data):
            raise NotParsed("a version 1 header chunk with bytes left over")
        return continuations

    # -- old-style groups -------------------------------------------------------------------------

    def _symbol_table(self, btree: int, heap: int) -> Step:
        """An old-style group's links, in B-tree order (HDF5's own iteration order)."""
        entry = 2 * self.offsets + 24
        yield [(heap, 32), (btree, 1024)]
        c = Cursor(self.read_up_to(heap, 8 + 2 * self.lengths + self.offsets), self.offsets, self.lengths)
        if c.take(4) != b"HEAP" or c.u8() != 0:
            raise NotParsed("a local heap without its signature")
        c.take(3)
        heap_size = c.length()
        c.length()
        heap_data = c.defined_address()
        if heap_size > MAX_HEAP:
            raise NotParsed("a group's local heap is too big")
        level, children = self._btree_node(btree, None)
        yield [(heap_data, heap_size), *((child, 1024) for child in children)]
        names = self.read(heap_data, heap_size)
        seen = {btree}
        while level > 0:
            if level > MAX_BTREE_DEPTH:
                raise NotParsed("a B-tree too deep")
            below: list[int] = []
            for child in children:
                if child in seen:
                    raise NotParsed("a B-tree node reached twice")
                seen.add(child)
                below += self._btree_node(child, level - 1)[1]
            level -= 1
            children = below
            yield [(child, 1024) for child in children]
        links = []
        for node in children:
            if node in seen:
                raise NotParsed("a symbol table node reached twice")
            seen.add(node)
            head = Cursor(self.read_up_to(node, 8))
            if head.take(4) != b"SNOD" or head.u8() != 1:
                raise NotParsed("a symbol table node without its signature")
            head.u8()
            count = head.u16()
            self.budget.spend(count + 1, on="HDF5 links")
            c = Cursor(self.read(node + 8, count * entry), self.offsets, self.lengths)
            for _ in range(count):
                links.append(self._entry(c, names))
        return links

    def _btree_node(self, address: int, level: int | None) -> tuple[int, list[int]]:
        """A group B-tree node's (level, children): child nodes, or symbol table nodes at level 0."""
        head = Cursor(self.read_up_to(address, 8), self.offsets, self.lengths)
        if head.take(4) != b"TREE" or head.u8() != 0:
            raise NotParsed("a group B-tree node without its signature")
        found, used = head.u8(), head.u16()
        if level is not None and found != level:
            raise NotParsed("a B-tree node at the wrong level")
        self.budget.spend(used + 1, on="HDF5 B-tree entries")
        body = self.read(address + 8 + 2 * self.offsets, (used + 1) * self.lengths + used * self.offsets)
        c = Cursor(body, self.offsets, self.lengths)
        children = []
        for _ in range(used):
            c.length()
            children.append(c.defined_address())
        return found, children

    def _entry(self, c: Cursor, names: bytes) -> Link:
        """One symbol table entry: a hard link, or a soft one (cache type 2)."""
        name_offset = c.uint(self.offsets)
        address = c.address()
        cache = c.u32()
        c.take(20)
        end = names.find(b"\0", name_offset)
        if name_offset >= len(names) or end <= name_offset:
            raise NotParsed("a link name outside its heap")
        name = msg.text(names[name_offset:end])
        if cache == 2:
            return Link(name, "soft")
        if cache not in (0, 1) or address is None:
            raise NotParsed(f"a symbol table entry of cache type {cache}")
        return Link(name, "hard", address)


def _attributes_by_name(messages: list[tuple[int, int, bytes]]) -> dict[bytes, bytes]:
    """Each attribute message's body by its name; a shared one, or a name twice, is left to h5py."""
    found: dict[bytes, bytes] = {}
    for kind, flags, body in messages:
        if kind != msg.ATTRIBUTE:
            continue
        name = msg.attribute_name(body)
        if flags & msg.SHARED_FLAG or name in found:
            raise NotParsed("a shared attribute, or two of one name")
        found[name] = body
    return found


def _has_attribute(found: H5Object, name: bytes) -> bool:
    if found.attributes is None:
        raise NotParsed("attributes in dense storage")
    return name in found.attributes
