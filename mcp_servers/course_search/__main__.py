"""``python -m mcp_servers.course_search [--index DIR]``."""

import sys

from mcp_servers.course_search.server import main

sys.exit(main())
