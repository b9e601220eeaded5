"""``python -m fmnist_helpers.course``: the same as ``fmnist-course``."""

import sys

from .cli import main

sys.exit(main())
