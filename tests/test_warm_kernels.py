"""Warm kernels (``autograder/kernel_template.py``) see what a cold sandboxed kernel sees.

A warm kernel is forked from a template that has imported torch; the promise is that it is
warm and nothing else: each kernel gets a user id of its own and no capability, fresh
``/tmp``, ``/scratch`` and ``/dev/shm``, only its own processes, the same path and environment
as a cold kernel, and whatever a kernel leaves behind (files, a process that outlives it) is
gone for the next one. The same probe notebook runs in two warm kernels one after the other and
in a cold one, each with a real kernel manager, and their views are compared.
"""

import json
import os
import shutil
import subprocess

import nbformat
import pytest
from nbclient import NotebookClient
from traitlets.config import Config

from autograder.grade_worker import kernel_settings, warm_up
from autograder.sandbox import KernelTemplate, SandboxedKernelManager

pytestmark = pytest.mark.skipif(
    shutil.which("bwrap") is None or os.geteuid() != 0,
    reason="needs bubblewrap and root (the sandbox switches to a user id of its own)",
)

LINGERING = "600.5"  # how long the process a kernel leaves behind would sleep: its mark

PROBE = [
    "import sys\nwarm = 'torch' in sys.modules",
    """\
import json, os, subprocess
def listing(folder):
    return sorted(n for n in os.listdir(folder) if not n.startswith('.'))
def commands():
    found = []
    for pid in filter(str.isdigit, os.listdir('/proc')):
        try:
            found.append(open(f'/proc/{pid}/cmdline').read().replace('\\0', ' ').strip())
        except OSError:
            pass
    return found
status = dict(line.split(':', 1) for line in open('/proc/self/status'))
view = {
    'warm': warm,
    'uid': os.getuid(),
    'capabilities': status['CapEff'].strip(),
    'tmp': listing('/tmp'),
    'scratch': listing('/scratch'),
    'shm': listing('/dev/shm'),
    'lingering': [c for c in commands() if LINGERING in c],
    'cwd': os.getcwd(),
    'path': sys.path,
    'env': {k: v for k, v in os.environ.items() if k != 'RESNET_REFEREE'},
}""".replace("LINGERING", repr(LINGERING)),
    f"""\
for folder in ('/tmp', '/scratch', '/dev/shm'):
    open(os.path.join(folder, 'left-behind'), 'w').write('x')
subprocess.Popen(['sleep', '{LINGERING}'], start_new_session=True)
print(json.dumps(view))""",
]


def printed(cells: list[str], **settings) -> str:
    """What the last of ``cells`` prints in a sandboxed kernel configured by ``settings``."""
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    config = Config()
    for name, value in settings.items():
        setattr(config.SandboxedKernelManager, name, value)
    client = NotebookClient(
        notebook, kernel_manager_class=SandboxedKernelManager, timeout=120, config=config
    )
    client.execute()
    outputs = notebook.cells[-1].outputs
    assert outputs and outputs[0].get("name") == "stdout", outputs
    return outputs[0]["text"]


def kernel_view(warm: bool) -> dict:
    """What the probe notebook reports from a sandboxed kernel, warm or cold."""
    return json.loads(printed(PROBE, warm_start=warm))


def test_a_warm_kernel_is_warm_and_sees_what_a_cold_one_sees():
    first, second, cold = kernel_view(True), kernel_view(True), kernel_view(False)
    assert first["warm"] and second["warm"], "torch was not imported before the first cell"
    assert not cold["warm"]
    for view in (first, second, cold):
        assert view["capabilities"] == "0000000000000000", view
        assert view["uid"] >= 200_000, view
        assert view["scratch"] == view["shm"] == [], view
        assert not any("left-behind" in name for name in view["tmp"]), view
        assert view["lingering"] == [], view
    assert len({first["uid"], second["uid"], cold["uid"]}) == 3
    for key in ("cwd", "path"):
        assert first[key] == second[key] == cold[key], key
    assert sorted(first["env"]) == sorted(cold["env"])
    assert first["env"] == second["env"] == cold["env"]
    # And on this side: nothing of the first kernel's user outlived it.
    left = subprocess.run(["pgrep", "-u", str(first["uid"])], capture_output=True, text=True)
    assert left.stdout == "", left.stdout


def test_one_template_forks_kernels_of_any_limits():
    warm_up(kernel_settings(sandbox=True, warm=True))  # as a grading worker does when it starts
    template = KernelTemplate.shared()
    assert template.process.poll() is None, "warm_up did not start the template"
    ask = ["import resource\nprint(resource.getrlimit(resource.RLIMIT_DATA)[0])"]
    for memory_bytes in (3 * 1024**3, 5 * 1024**3):
        assert int(printed(ask, memory_bytes=memory_bytes)) == memory_bytes
    assert KernelTemplate.shared() is template
