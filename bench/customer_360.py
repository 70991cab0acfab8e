"""Customer 360 service and template time on the panel benchmark database:
folded into ``bench/panel_bench.py profile`` (same options: --db, --n, --role);
this name stays for the command the README shows.

    .venv/bin/python bench/customer_360.py [--db /var/tmp/cc-bench/panel.db] [--n 500] [--role agent]"""
import runpy
import sys
from pathlib import Path

if __name__ == "__main__":
    sys.argv[1:1] = ["profile"]
    runpy.run_path(str(Path(__file__).with_name("panel_bench.py")), run_name="__main__")
