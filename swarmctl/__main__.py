import sys

from swarmctl.cli import main

sys.exit(main())
