"""How a Lambda entry imports drbot's own modules: with Python's cyclic garbage collector paused, and
what they built then moved out of its reach (docs/architecture.md, "Import cost").

Importing an entry's drbot modules allocates about 19,000 objects the collector tracks (classes,
functions, pydantic's field records) that live as long as the container, and about 100 garbage
cycles (under 100 KB). Left running, the collector's thresholds start a full collection during that
import which scans every object the libraries made before it (about 50,000 with boto3, slack_bolt and
pydantic) and frees almost nothing: about a quarter of what the Slack entry's import adds to its
libraries' (bench/README.md, "Fifth pass"). Its next full collection, during some request, would
scan them all again.

`long_lived_imports()` pauses the collector for the imports inside it, then freezes what is alive
(`gc.freeze()`: later collections skip it; the import's few cycles are kept for the container's
life) and turns the collector back on: the pattern Python's documentation gives for a process that
starts once and then serves, which a Lambda container is. Reference counting frees everything else
as usual, paused or not.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def long_lived_imports() -> Iterator[None]:
    """Run the block (an entry's imports of drbot) with the collector paused; freeze what it built."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()
