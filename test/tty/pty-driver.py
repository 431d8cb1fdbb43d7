"""Run a command in a real pseudo-terminal and answer its prompts.

usage: pty-driver.py '<json steps>' command args...
steps: [[expected_text, reply], ...]; waits (10 s each) for expected_text in the output, then types reply.
Prints the whole transcript on stdout; exits with the command's status (124 on a timeout).
"""
import json, os, pty, select, sys, time

steps = json.loads(sys.argv[1])
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])

out = b""
def read_until(text, timeout=10.0):
    global out
    end = time.time() + timeout
    while text.encode() not in out:
        left = end - time.time()
        if left <= 0:
            return False
        r, _, _ = select.select([fd], [], [], left)
        if r:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                return False
            if not chunk:
                return False
            out += chunk
    return True

for expected, reply in steps:
    if not read_until(expected):
        sys.stdout.write(out.decode(errors="replace"))
        sys.stdout.write("\n[pty-driver] timed out waiting for %r\n" % expected)
        os.kill(pid, 9)
        sys.exit(124)
    out = out.replace(expected.encode(), b"<<" + expected.encode() + b">>", 1)
    os.write(fd, reply.encode())

while True:
    r, _, _ = select.select([fd], [], [], 10)
    if not r:
        break
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace"))
sys.exit(os.waitstatus_to_exitcode(status))
