import subprocess
import sys

import pytest

from ganpage.allocator import keep_freed_memory

# 8 times: malloc 64 MB, write it, free it; print the process's minor page faults
SCRIPT = """
import ctypes, ctypes.util, resource, sys
from ganpage.allocator import keep_freed_memory
if sys.argv[1] == "1":
    keep_freed_memory()
libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
for _ in range(8):
    block = libc.malloc(64 << 20)
    ctypes.memset(block, 1, 64 << 20)
    libc.free(block)
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt)
"""


@pytest.mark.slow
def test_freed_large_blocks_are_reused_without_new_page_faults_on_glibc():
    faults = {flag: int(subprocess.run([sys.executable, "-c", SCRIPT, flag], check=True,
                                       capture_output=True, text=True).stdout)
              for flag in ("0", "1")}
    if keep_freed_memory():  # glibc: one heap block reused instead of 8 fresh maps of 16k pages
        assert faults["1"] < faults["0"] - 6 * 16384
