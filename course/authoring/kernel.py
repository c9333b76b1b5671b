"""A live Python kernel that runs code cell by cell and reports what happened."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from jupyter_client.manager import start_new_kernel


@dataclass
class Reply:
    """What one piece of code did: whether it ran, its error and its output streams."""

    ok: bool
    error: str
    stdout: str
    stderr: str
    result: str
    traceback: list[str]


class Kernel:
    """A Python kernel in ``cwd``; use as a context manager so it always shuts down."""

    def __init__(self, cwd: Path) -> None:
        """Start the kernel (a few seconds)."""
        self.manager, self.client = start_new_kernel(kernel_name="python3", cwd=str(cwd))

    def __enter__(self) -> Kernel:
        """Return the kernel."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Shut the kernel down."""
        self.close()

    def run(self, code: str, timeout: float = 300) -> Reply:
        """Run ``code`` and return what it did."""
        out: dict[str, list[str]] = {"stdout": [], "stderr": [], "error": [], "result": []}
        traceback: list[str] = []

        def hook(msg: dict) -> None:
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                out[content["name"]].append(content["text"])
            elif kind == "execute_result":
                out["result"].append(content["data"].get("text/plain", ""))
            elif kind == "error":
                out["error"].append(f"{content['ename']}: {content['evalue']}")
                traceback.extend(content.get("traceback", []))

        reply = self.client.execute_interactive(code, output_hook=hook, timeout=timeout,
                                                store_history=False)
        ok = reply["content"]["status"] == "ok"
        text = {key: "".join(parts) for key, parts in out.items()}
        return Reply(ok, text["error"], text["stdout"], text["stderr"], text["result"],
                     traceback)

    def value(self, expression: str) -> object:
        """Return the JSON value of ``expression`` evaluated in the kernel."""
        reply = self.run(f"import json as _json_out; print(_json_out.dumps({expression}))")
        if not reply.ok:
            raise RuntimeError(f"could not evaluate {expression!r}: {reply.error}")
        return json.loads(reply.stdout.strip().splitlines()[-1])

    def close(self) -> None:
        """Stop the kernel."""
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)
