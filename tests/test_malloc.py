"""glibc's allocator tuned for a long-running process (kubetrail/malloc.py)."""

from __future__ import annotations

import ctypes
import subprocess
import sys

import pytest

# In a fresh interpreter: free one 2 MiB buffer (which under glibc's defaults raises the mmap
# threshold to its size), then hold a 1.5 MiB one and print the bytes glibc has mapped alone.
_CHILD = """
import ctypes, sys
from kubetrail import malloc
class Info(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                "fsmblks", "uordblks", "fordblks", "keepcost")]
libc = ctypes.CDLL(None)
libc.mallinfo2.restype = Info
if sys.argv[1] == "tuned":
    assert malloc.tune_for_service()
first = bytearray(2 << 20)
del first
held = bytearray(3 << 19)
print(libc.mallinfo2().hblkhd)
"""

glibc = pytest.mark.skipif(not hasattr(ctypes.CDLL(None), "mallinfo2"), reason="the C library is not glibc 2.33+")


def _mapped_alone(mode: str) -> int:
    return int(subprocess.run([sys.executable, "-c", _CHILD, mode], check=True, capture_output=True, text=True).stdout)


@glibc
def test_large_buffers_stay_mapped_alone_once_tuned() -> None:
    """Untuned, freeing a 2 MiB buffer lets the next large one come from the heap, where its hole
    stays after it is freed; tuned, every buffer over MMAP_THRESHOLD is mapped alone."""
    assert _mapped_alone("default") < 3 << 19
    assert _mapped_alone("tuned") >= 3 << 19
