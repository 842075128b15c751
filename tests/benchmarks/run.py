"""``make bench``: every benchmark, each printing its ratio to the peer way, measured in one run."""

from __future__ import annotations

import sys

from tests.benchmarks import clusters, dashboard, emerging, gistar, ingest


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    result = ingest.run(rows)
    ingest.report(result)
    gistar.report(gistar.run())
    emerging.report(emerging.run())
    dashboard.report(dashboard.run())
    clusters.report(clusters.run())


if __name__ == "__main__":
    main()
