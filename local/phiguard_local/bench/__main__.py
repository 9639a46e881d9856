"""`python -m phiguard_local.bench`: see run.py."""

import sys

from phiguard_local.bench.run import main

sys.exit(main())
