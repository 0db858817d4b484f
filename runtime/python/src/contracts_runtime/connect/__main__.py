import sys

from contracts_runtime.connect.cli import main

sys.exit(main())
