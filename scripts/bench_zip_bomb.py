"""Benchmark: peak memory of an upload of a zip that holds a huge number of (empty) entries.

The zip is crafted header by header (sda/bench/zip_bomb.py): a million
entries are about 100 MB on disk. Each measurement runs in a fresh Python
process and prints that process's peak resident memory (ru_maxrss):

- "list": what opening the zip with the zipfile module costs (what the upload
  did before it read the entry count from the zip's end);
- "upload": the upload as the server does it now (``ingest_uploads`` with
  the default limits), which refuses the zip naming the limit.

    python scripts/bench_zip_bomb.py                      # 1,000,000 entries
    python scripts/bench_zip_bomb.py --entries 200000 --declared 10   # a zip that under-declares its entries
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

_CHILD = r"""
import resource, sys, zipfile, tempfile
from pathlib import Path
mode, path = sys.argv[1], Path(sys.argv[2])
if mode != "list":
    from sda.server.ingest import ingest_uploads
    from sda.server.settings import AppSettings
before_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
if mode == "list":
    with zipfile.ZipFile(path) as archive:
        outcome = f"{len(archive.infolist())} entries listed"
else:
    target = Path(tempfile.mkdtemp())
    report = ingest_uploads([path], target, AppSettings(data_root=target))
    outcome = f"added {len(report.added)}; refused: {report.rejected[0][1] if report.rejected else '-'}"
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"{peak_mb:.0f}\t{outcome}; {peak_mb - before_mb:,.0f} MB above the {before_mb:,.0f} MB after imports")
"""


def measure(mode: str, path: Path) -> tuple[float, str]:
    """(peak RSS in MB, what happened) of one fresh process doing ``mode`` on the zip."""
    proc = subprocess.run([sys.executable, "-c", _CHILD, mode, str(path)], cwd=REPO, capture_output=True, text=True,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}, timeout=1800)
    if proc.returncode != 0:
        raise SystemExit(f"{mode} failed:\n{proc.stderr[-2000:]}")
    peak, outcome = proc.stdout.strip().split("\t", 1)
    return float(peak), outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000, help="entries in the crafted zip")
    parser.add_argument("--declared", type=int, default=None, help="entry count its end record claims")
    parser.add_argument("--skip-listing", action="store_true", help="do not measure the zipfile listing")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    from sda.bench.zip_bomb import write_many_entry_zip

    with tempfile.TemporaryDirectory() as folder:
        path = write_many_entry_zip(Path(folder) / "bomb.zip", args.entries, args.declared)
        print(f"zip: {args.entries:,} entries (declared {args.declared or args.entries:,}), "
              f"{path.stat().st_size / 1e6:.0f} MB on disk")
        for mode in ([] if args.skip_listing else ["list"]) + ["upload"]:
            peak, outcome = measure(mode, path)
            print(f"{mode:>7}: peak RSS {peak:,.0f} MB  ({outcome})")


if __name__ == "__main__":
    main()
