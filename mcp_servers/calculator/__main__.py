"""``python -m mcp_servers.calculator``."""

import sys

from mcp_servers.calculator.server import main

sys.exit(main())
