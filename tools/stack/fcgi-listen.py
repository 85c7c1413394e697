#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""tools/stack/fcgi-listen.py SOCKET PROGRAM — what systemd does for koogate-fcgi@.socket, for stacks
without systemd: binds the Unix socket SOCKET (mode 0660 under umask 007), and runs PROGRAM in this
process with it as fd 3, LISTEN_FDS=1 and LISTEN_PID (sd_listen_fds(3)). Unlike systemd-socket-activate
it starts PROGRAM at once, as the enabled service does at boot, not at the first connection."""
import os
import socket
import sys


def main(argv):
    if len(argv) != 3:
        sys.stderr.write(__doc__ + "\n")
        return 2
    path, program = argv[1], argv[2]
    if os.path.exists(path):
        os.unlink(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(path)
    sock.listen(socket.SOMAXCONN)
    if sock.fileno() != 3:
        os.dup2(sock.fileno(), 3)
    os.set_inheritable(3, True)
    os.environ["LISTEN_FDS"] = "1"
    os.environ["LISTEN_PID"] = str(os.getpid())
    os.execv(program, [program])
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
