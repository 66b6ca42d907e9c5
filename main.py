"""Entry point of the cdktf app (`cdktf synth`, `cdktf deploy`) and of `python main.py`."""

import os
import sys

from eso_oidc.app import main


def release_jsii_runtime() -> None:
    """Tell the jsii runtime's Node process to exit, without waiting, and delete its runtime copy.

    jsii's own exit handler waits for Node to stop (0.3 to 0.45 s measured) and the interpreter's
    shutdown then frees the generated objects (about 0.5 s more), all after the files are written
    (docs/benchmark.md). This uses the internals of jsii 1.142 (`_NodeProcess`), pinned in
    Pipfile.lock. If they differ it raises AttributeError, and the caller exits the usual way.
    """
    if "cdktf._jsii" not in sys.modules:
        return  # nothing loaded an assembly, so no Node process runs
    from jsii._runtime import kernel

    node = kernel.provider._process  # started when cdktf loaded its assembly, so this starts nothing
    stdin = node._process.stdin
    if not stdin.closed:
        stdin.write(b'{"exit":0}\n')
        stdin.close()
    # The temporary folder holding jsii-runtime.js, which Node has already read.
    node._ctx_stack.close()


if __name__ == "__main__":
    status = main()
    if status != 0:
        sys.exit(status)
    try:
        release_jsii_runtime()
    except (AttributeError, OSError):
        sys.exit(status)
    # Everything is written, so skip the interpreter's shutdown and flush only the standard
    # streams. The Node processes exit by themselves on the exit request and the closed pipe.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
