"""Locations: a `gs://bucket/prefix` or a local path, parsed once and passed around as a value."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from tui.errors import InvalidUriError

GCS_SCHEME = "gs"
LOCAL_SCHEME = "file"


@dataclass(frozen=True, slots=True)
class Location:
    """Where something lives.

    For GCS, `bucket` is the bucket name ("" for the list of buckets) and `path` the object name or
    prefix inside it. A prefix (a "folder") always ends with "/". For local disk, `path` is absolute
    and folders end with "/" too, so `is_dir` reads the same for both.
    """

    scheme: str
    bucket: str = ""
    path: str = ""

    @property
    def is_gcs(self) -> bool:
        return self.scheme == GCS_SCHEME

    @property
    def is_dir(self) -> bool:
        """True for the bucket list, a bucket root, a prefix or a local folder."""
        return self.path == "" or self.path.endswith("/")

    @property
    def name(self) -> str:
        """The last segment, with a trailing "/" for folders ("" for the bucket list)."""
        path = self.path
        if self.is_gcs and not path:
            return f"{self.bucket}/" if self.bucket else ""
        # The usual shapes cut straight from the path: a level of 100,000 rows asks for every name.
        if path and not path.endswith("/"):
            return path[path.rfind("/") + 1 :]
        if len(path) > 1 and path[-2] != "/":
            return path[path.rfind("/", 0, -1) + 1 :]
        stripped = path.rstrip("/")
        base = stripped.rsplit("/", 1)[-1]
        if not base:
            return "/"
        return f"{base}/" if self.is_dir else base

    @property
    def uri(self) -> str:
        """The location as a user types it: `gs://bucket/path` or an absolute local path."""
        if self.is_gcs:
            return f"gs://{self.bucket}/{self.path}" if self.bucket else "gs://"
        return self.path

    @property
    def parent(self) -> Location:
        """The folder that holds this location (itself at the top)."""
        if self.is_gcs:
            if not self.path:
                return Location(GCS_SCHEME)
            stripped = self.path.rstrip("/")
            head = stripped.rsplit("/", 1)[0] + "/" if "/" in stripped else ""
            return Location(GCS_SCHEME, self.bucket, head)
        stripped = self.path.rstrip("/") or "/"
        head = os.path.dirname(stripped)
        return Location(LOCAL_SCHEME, path=head if head.endswith("/") else head + "/")

    def child(self, name: str) -> Location:
        """A location inside this folder; `name` ends with "/" for a sub-folder."""
        if self.is_gcs and not self.bucket:
            return Location(GCS_SCHEME, name.rstrip("/"), "")
        return Location(self.scheme, self.bucket, self.path + name)

    def as_dir(self) -> Location:
        """The same location read as a folder."""
        return self if self.is_dir else Location(self.scheme, self.bucket, self.path + "/")

    @classmethod
    def from_uri(cls, uri: str) -> Location:
        """The location whose `uri` this is (the inverse of `uri`, without parse_location's checks)."""
        if uri.startswith("gs://"):
            bucket, _, path = uri[len("gs://") :].partition("/")
            return cls(GCS_SCHEME, bucket, path)
        return cls(LOCAL_SCHEME, path=uri)

    def __str__(self) -> str:
        return self.uri


def parse_location(text: str, *, cwd: Path | None = None) -> Location:
    """Parse what a user typed: `gs://bucket/prefix`, `gs://`, or a local path.

    Local paths are made absolute; an existing folder gets its trailing "/". GCS paths keep what
    the user typed: `gs://b/models` may be an object or a prefix, which only a listing tells.

    Raises:
        InvalidUriError: for other schemes (`s3://`, `http://`) or a malformed bucket name.
    """
    text = text.strip()
    if text.startswith("gs://"):
        rest = text[len("gs://") :]
        bucket, _, path = rest.partition("/")
        if bucket and not _is_bucket_name(bucket):
            raise InvalidUriError(
                f"'{bucket}' is not a valid bucket name.",
                "Bucket names are 3-222 characters of lowercase letters, digits, '-', '_' and '.'.",
            )
        if not bucket:
            return Location(GCS_SCHEME)
        return Location(GCS_SCHEME, bucket, path)
    if "://" in text:
        scheme = text.split("://", 1)[0]
        raise InvalidUriError(
            f"tfscope reads Google Cloud Storage and local disk, not '{scheme}://'.",
            "Give a gs://bucket/prefix or a local path.",
        )
    base = cwd or Path.cwd()
    given = Path(os.path.expanduser(text or "."))
    absolute = os.path.normpath(given if given.is_absolute() else base / given)
    if os.path.isdir(absolute) and not absolute.endswith("/"):
        absolute += "/"
    return Location(LOCAL_SCHEME, path=absolute)


def _is_bucket_name(name: str) -> bool:
    allowed = set("abcdefghijklmnopqrstuvwxyz0123456789-_.")
    return 3 <= len(name) <= 222 and set(name) <= allowed and name[0].isalnum() and name[-1].isalnum()
