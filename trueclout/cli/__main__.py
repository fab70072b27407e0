"""`python -m trueclout.cli`: the same command as the `trueclout` console script."""

import sys

from trueclout.cli import main

sys.exit(main())
