import subprocess
import sys

from ganpage.allocator import keep_freed_memory


def test_large_allocations_no_longer_page_fault_afresh_on_glibc():
    script = ("import resource, sys; from ganpage.allocator import keep_freed_memory;"
              "took = keep_freed_memory() if sys.argv[1] == '1' else False;"
              "import torch; [torch.ones(16 << 20).sum() for _ in range(8)];"
              "print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt)")
    faults = {flag: int(subprocess.run([sys.executable, "-c", script, flag], check=True,
                                       capture_output=True, text=True).stdout)
              for flag in ("0", "1")}
    if keep_freed_memory():  # glibc: 8 x 64 MB reuse one heap block instead of 8 fresh maps
        assert faults["1"] < faults["0"] - 8 * 16384 // 2
