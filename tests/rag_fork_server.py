"""Runs ``assistant`` CLI commands in forked children, for the SIGKILL test.

Importing torch and sentence-transformers costs seconds per process; forking a process that
has already imported them makes each killed run cheap. Protocol (line based): the test writes
a JSON argv list; the server forks a child that runs ``assistant.cli.main(argv)``, prints
``pid <child>``, waits for it, then prints ``exit <child> <status>``.
"""

from __future__ import annotations

import json
import os
import sys

import sentence_transformers  # noqa: F401  (imported before forking, on purpose)

from assistant.cli import main


def serve() -> None:
    for line in sys.stdin:
        argv = json.loads(line)
        pid = os.fork()
        if pid == 0:
            sys.stdin.close()
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)  # the protocol owns stdout; the command's output is dropped
            code = 1
            try:
                code = main(argv)
            finally:
                sys.stdout.flush()
                os._exit(code)
        print(f"pid {pid}", flush=True)
        _, status = os.waitpid(pid, 0)
        print(f"exit {pid} {status}", flush=True)


if __name__ == "__main__":
    serve()
