"""Fetching customer-supplied URLs safely: address policy (addresses) and the fetch (fetcher).

Framework-free so both upload-by-URL and the delivery watermark fetch can use it.
"""

from images.remote.addresses import is_blocked, parse_allowed_networks
from images.remote.fetcher import FetchError, FetchLimits, RemoteBody, open_remote

__all__ = [
    "FetchError",
    "FetchLimits",
    "RemoteBody",
    "is_blocked",
    "open_remote",
    "parse_allowed_networks",
]
