#!/usr/bin/env python3
"""Drive a command in a real pseudo-terminal, as a person at a terminal would.

usage: pty-session.py ROWS COLS -- COMMAND...
Reads steps from stdin, one JSON object per line:
  {"send": "text"}                 write text to the terminal
  {"expect": "regex", "timeout": s} read until the regex matches the output so far (fails after timeout)
  {"resize": [rows, cols]}         change the window size (the kernel sends SIGWINCH)
Prints {"output": ..., "exit": code} as JSON at the end.
"""
import fcntl, json, os, pty, re, select, struct, sys, termios, time

def set_size(fd, rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

def main():
    rows, cols = int(sys.argv[1]), int(sys.argv[2])
    cmd = sys.argv[sys.argv.index("--") + 1:]
    steps = [json.loads(l) for l in sys.stdin if l.strip()]
    pid, master = pty.fork()
    if pid == 0:
        os.execvp(cmd[0], cmd)
    set_size(master, rows, cols)
    out = b""
    def pump(deadline):
        nonlocal out
        while time.time() < deadline:
            r, _, _ = select.select([master], [], [], 0.05)
            if r:
                try:
                    data = os.read(master, 4096)
                except OSError:
                    return False
                if not data:
                    return False
                out += data
                return True
        return True
    for step in steps:
        if "send" in step:
            os.write(master, step["send"].encode())
        elif "resize" in step:
            set_size(master, *step["resize"])
        elif "expect" in step:
            deadline = time.time() + step.get("timeout", 10)
            pattern = re.compile(step["expect"].encode())
            while not pattern.search(out):
                if time.time() >= deadline or not pump(deadline):
                    print(json.dumps({"output": out.decode(errors="replace"), "exit": None, "failed": step["expect"]}))
                    os.kill(pid, 9)
                    os.waitpid(pid, 0)
                    return 1
    deadline = time.time() + 10
    while pump(deadline):
        pass
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    print(json.dumps({"output": out.decode(errors="replace"), "exit": code}))
    return 0

sys.exit(main())
