"""``python -m geomstats_gen``: the command line."""

import sys

from geomstats_gen.cli import main

sys.exit(main())
