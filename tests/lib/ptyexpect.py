#!/usr/bin/python3
"""Drives an interactive program through a pseudo-terminal, as a person would.

    ptyexpect.py [--timeout S] [--size ROWSxCOLS] SCRIPT -- COMMAND [ARGS...]

--size sets the terminal's window size before COMMAND starts. SCRIPT holds one
step a line:
    expect REGEX      wait until REGEX matches the output seen since the last match
    line REGEX        the same for a whole line matching REGEX, after any shell
                      prompts ("# ", "$ ": a shell may print its prompt before
                      the output of a command typed ahead)
    send TEXT         type TEXT followed by a carriage return (Enter)
    sendraw TEXT      type TEXT as it is (Python escapes such as \\x1d allowed)
    resize ROWS COLS  change the window size (the program gets SIGWINCH)
    sleep S           let S seconds pass, copying output
    eof [STATUS]      wait for the program to exit (with STATUS, when given)
Everything the program prints is copied to stdout, so a transcript reads like a
terminal session. Exits 0 when every step passed, 1 when one did not (naming
it), and the program is killed if still running.
"""
import fcntl
import os
import pty
import re
import select
import signal
import struct
import sys
import termios
import time


def winsize(fd, rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def main():
    args = sys.argv[1:]
    timeout = 20.0
    size = None
    while args[:1] in (["--timeout"], ["--size"]):
        if args[0] == "--timeout":
            timeout = float(args[1])
        else:
            size = tuple(int(x) for x in args[1].split("x"))
        args = args[2:]
    if "--" not in args or args.index("--") != 1:
        sys.exit("usage: ptyexpect.py [--timeout S] [--size ROWSxCOLS] SCRIPT -- COMMAND [ARGS...]")
    with open(args[0]) as f:
        steps = [l.rstrip("\n") for l in f if l.strip() and not l.startswith("#")]
    command = args[2:]

    pid, fd = pty.fork()
    if pid == 0:
        if size:
            winsize(0, *size)
        os.execvp(command[0], command)

    buf = ""
    exited = False

    def read_some(deadline):
        nonlocal buf, exited
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        r, _, _ = select.select([fd], [], [], left)
        if not r:
            return False
        try:
            data = os.read(fd, 4096)
        except OSError:
            data = b""
        if not data:
            exited = True
            return False
        text = data.decode("utf-8", "replace")
        sys.stdout.write(text)
        sys.stdout.flush()
        buf += text
        return True

    def fail(msg):
        sys.stdout.write("\n")
        print(f"ptyexpect: {msg}", file=sys.stderr)
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass  # already reaped by "eof STATUS"
        sys.exit(1)

    for step in steps:
        verb, _, arg = step.partition(" ")
        deadline = time.monotonic() + timeout
        if verb in ("expect", "line"):
            rx = re.compile(arg if verb == "expect" else r"(?m)^(?:[#$] )*(?:%s)\r?$" % arg)
            while True:
                m = rx.search(buf)
                if m:
                    buf = buf[m.end():]
                    break
                if exited or not read_some(deadline):
                    if exited or time.monotonic() >= deadline:
                        fail(f"did not see /{arg}/ (output since last match: {buf!r})")
        elif verb == "send":
            os.write(fd, arg.encode() + b"\r")
        elif verb == "sendraw":
            os.write(fd, arg.encode().decode("unicode_escape").encode("latin-1"))
        elif verb == "resize":
            rows, cols = arg.split()
            winsize(fd, int(rows), int(cols))
        elif verb == "sleep":
            end = time.monotonic() + float(arg)
            while time.monotonic() < end and not exited:
                read_some(end)
        elif verb == "eof":
            while not exited:
                if not read_some(deadline) and not exited and time.monotonic() >= deadline:
                    fail("program did not exit")
            if arg:
                _, status = os.waitpid(pid, 0)
                if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != int(arg):
                    fail(f"program ended with wait status {status}, expected exit status {arg}")
        else:
            fail(f"unknown step {step!r}")

    if not exited:
        # Give the program a moment to finish on its own, then end it.
        deadline = time.monotonic() + 2
        while not exited and read_some(deadline):
            pass
    try:
        _, status = os.waitpid(pid, os.WNOHANG if not exited else 0)
    except ChildProcessError:
        status = 0
    if not exited:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
