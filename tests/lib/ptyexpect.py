#!/usr/bin/python3
"""Drives an interactive program through a pseudo-terminal, as a person would.

    ptyexpect.py [--timeout S] [--size ROWSxCOLS] SCRIPT -- COMMAND [ARGS...]

--size sets the terminal's window size before COMMAND starts. SCRIPT holds one
step a line:
    expect REGEX      wait until REGEX matches the output seen since the last match
    line REGEX        the same for a whole line matching REGEX, after any shell
                      prompts ("# ", "$ ": a shell may print its prompt before
                      the output of a command typed ahead)
    raw               wait until the program has put the terminal in raw mode
                      (vivctl console does so after its banner: what is typed
                      before would be echoed by the terminal as well)
    prompt            wait until the output since the last input ends with a
                      shell prompt (a line ending in "# " or "$ "): the shell is
                      done with what was typed and waits for more
    cmd TEXT          prompt, then send TEXT: a command typed at the prompt, so
                      that the transcript reads like a session
    send TEXT         type TEXT followed by a carriage return (Enter)
    sendraw TEXT      type TEXT as it is (Python escapes such as \\x1d allowed)
    resize ROWS COLS  change the window size (the program gets SIGWINCH)
    sleep S           let S seconds pass, copying output
    eof [STATUS]      wait for the program to exit (with STATUS, when given)
Checks see the program's output as it is, control sequences and carriage
returns included. What is copied to stdout is what a terminal would show: lines
as they end up on the screen (carriage returns, backspaces and erasures
applied), without any control sequence, so a transcript reads like a terminal
session. A shell that asks where the cursor is (busybox sh sends ESC[6n with
each prompt) gets the answer a terminal gives, ESC[ROW;COLR, while a `prompt`
step waits for it: only then is it sure to reach the shell's line editor and
not a command typed meanwhile. Exits 0 when every step passed, 1 when one did
not (naming it), and the program is killed if still running.
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

# A control sequence: CSI (ESC [ params final), OSC (ESC ] ... BEL or ESC \),
# or a two-byte escape.
CONTROL = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")
# An escape whose end has not arrived yet.
UNFINISHED = re.compile(r"\x1b(?:\[[0-?]*[ -/]*|\][^\x07\x1b]*\x1b?)?\Z")
CURSOR_QUERY = "\x1b[6n"
PROMPT = re.compile(r"(?:^|\n)[^\r\n]*[#$] \Z")


def winsize(fd, rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def visible(text):
    """TEXT without control sequences, lines ending in \\n only."""
    text = CONTROL.sub("", text).replace("\r\n", "\n")
    return "".join(c for c in text if c in "\n\t" or c >= " ")


class Screen:
    """What a terminal shows, line by line: printed once a line ends."""

    def __init__(self, out):
        self.out = out
        self.pending = ""   # an escape sequence cut by a read
        self.line = []
        self.col = 0

    def feed(self, text):
        text = self.pending + text
        m = UNFINISHED.search(text)
        self.pending = text[m.start():] if m else ""
        text = text[:m.start()] if m else text
        pos = 0
        for m in CONTROL.finditer(text):
            self._chars(text[pos:m.start()])
            self._control(m.group())
            pos = m.end()
        self._chars(text[pos:])
        self.out.flush()

    def _chars(self, text):
        for c in text:
            if c == "\n":
                self.out.write("".join(self.line).rstrip() + "\n")
                self.line, self.col = [], 0
            elif c == "\r":
                self.col = 0
            elif c == "\b":
                self.col = max(self.col - 1, 0)
            elif c == "\t" or c >= " ":
                if c == "\t":
                    c = " " * (8 - self.col % 8)
                for ch in c:
                    self.line[self.col:self.col + 1] = [ch]
                    self.col += 1
            # other control characters (BEL, ...) show nothing

    def _control(self, seq):
        if not seq.startswith("\x1b["):
            return
        final, arg = seq[-1], seq[2:-1]
        n = int(arg) if arg.isdigit() else 1
        if final in "KJ" and arg in ("", "0"):      # erase to the end
            del self.line[self.col:]
        elif final == "C":                          # cursor forward
            self.col += n
            self.line += [" "] * (self.col - len(self.line))
        elif final == "D":                          # cursor back
            self.col = max(self.col - n, 0)
        elif final == "G":                          # to column n
            self.col = n - 1
            self.line += [" "] * (self.col - len(self.line))

    def finish(self):
        """Ends the last line, if anything is on it."""
        if "".join(self.line).strip():
            self.out.write("".join(self.line).rstrip() + "\n")
        self.line, self.col = [], 0
        self.out.flush()


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

    screen = Screen(sys.stdout)
    buf = ""            # output not yet consumed by a match
    since_input = ""    # output since we last typed something
    rows_seen = 1       # lines shown so far, for the cursor's row
    exited = False

    def read_some(deadline):
        nonlocal buf, since_input, rows_seen, exited
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
        screen.feed(text)
        buf += text
        since_input += text
        rows_seen += text.count("\n")
        return True

    def typed(data):
        nonlocal since_input
        since_input = ""
        os.write(fd, data)

    def fail(msg):
        screen.finish()
        print(f"ptyexpect: {msg}", file=sys.stderr)
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass  # already reaped by "eof STATUS"
        sys.exit(1)

    def wait_prompt(deadline):
        nonlocal since_input
        while not PROMPT.search(visible(since_input)) or UNFINISHED.search(since_input):
            if exited or not read_some(deadline):
                if exited or time.monotonic() >= deadline:
                    fail(f"no shell prompt (output since the last input: {since_input!r})")
        # A shell that asks where the cursor is does so right after its prompt,
        # and reads the answer with its line editor: nothing was typed since.
        if since_input.endswith(CURSOR_QUERY):
            # The cursor sits after the prompt: its column counts what is on
            # the last line (1-based, as a terminal answers).
            last = CONTROL.sub("", since_input).rsplit("\n", 1)[-1].rsplit("\r", 1)[-1]
            col = len(last) + 1
            rows = struct.unpack("HHHH", fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8))[0] or 24
            os.write(fd, f"\x1b[{min(rows_seen, rows)};{col}R".encode())
            since_input = since_input[:-len(CURSOR_QUERY)]

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
        elif verb == "raw":
            while termios.tcgetattr(fd)[3] & (termios.ECHO | termios.ICANON):
                if exited or time.monotonic() >= deadline:
                    fail("the program did not put the terminal in raw mode")
                read_some(min(deadline, time.monotonic() + 0.05))
        elif verb == "prompt":
            wait_prompt(deadline)
        elif verb == "cmd":
            wait_prompt(deadline)
            typed(arg.encode() + b"\r")
        elif verb == "send":
            typed(arg.encode() + b"\r")
        elif verb == "sendraw":
            typed(arg.encode().decode("unicode_escape").encode("latin-1"))
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
    screen.finish()
    return 0


if __name__ == "__main__":
    sys.exit(main())
