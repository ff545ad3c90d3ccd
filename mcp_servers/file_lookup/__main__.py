"""``python -m mcp_servers.file_lookup --root DIR``."""

import sys

from mcp_servers.file_lookup.server import main

sys.exit(main())
