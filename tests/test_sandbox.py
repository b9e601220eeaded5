"""The sandbox for untrusted submissions (``course/sandbox.py``), attacked from inside.

Each test runs a small Python program through ``sandboxed_command`` and asserts what it saw and
what it could do: the uid, the file system, the network, the rlimits, torch and one real Jupyter
kernel. Every program first refuses to go on as root, so a broken sandbox cannot harm the machine.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from fmnist_helpers.course.environment import temporary_environment
from fmnist_helpers.course.execute import run_notebook
from fmnist_helpers.course.sandbox import (
    REFUSED,
    UID_BASE,
    SandboxError,
    SandboxPolicy,
    kill_sandbox,
    resolve_policy,
    sandbox_processes,
    sandbox_support,
    sandbox_uid,
    sandboxed_command,
    write_kernel_spec,
)

SUPPORTED, WHY_NOT = sandbox_support()
pytestmark = pytest.mark.skipif(not SUPPORTED, reason=f"no sandbox here: {WHY_NOT}")

COURSE = Path(__file__).resolve().parents[1]

PRELUDE = """\
import errno, json, os, sys
if os.getuid() == 0:
    sys.exit("still root: the sandbox failed, nothing attempted")
P = json.loads(sys.argv[1])
def attempt(action):
    try:
        action()
        return "ok"
    except OSError as error:
        return errno.errorcode.get(error.errno, type(error).__name__)
"""


def inside(program: str, policy: SandboxPolicy, timeout: float = 30, **params) -> dict:
    """Run ``PRELUDE + program`` (``P`` holds ``params``) in the sandbox; return the JSON object it
    prints last."""
    command = sandboxed_command([sys.executable, "-c", PRELUDE + program, json.dumps(params)], policy)
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


@pytest.fixture
def places(tmp_path) -> dict[str, Path]:
    """submissions/alice (the task folder), submissions/bob (another submission), data (readable;
    world-writable on the host)."""
    tmp_path.chmod(0o755)  # pytest makes it 0700: readable to others like a course folder
    folders = {"submissions": tmp_path / "submissions", "alice": tmp_path / "submissions" / "alice",
               "bob": tmp_path / "submissions" / "bob", "data": tmp_path / "data"}
    for folder in folders.values():
        folder.mkdir(exist_ok=True)
    (folders["bob"] / "answers.py").write_text("SECRET = 42\n")
    (folders["data"] / "train.bin").write_text("images")
    folders["data"].chmod(0o777)
    return folders


@pytest.fixture
def policy(places, tmp_path) -> SandboxPolicy:
    """The grader's layout: every submission hidden, alice's own folder bound back inside. The test's
    folder is kept (read-only) so that the hiding matters (the private /tmp alone would hide it all),
    and so is the course (not on /tmp), with its notebooks hidden."""
    return SandboxPolicy(places["alice"], readable=(tmp_path, places["data"], COURSE),
                         hidden=(places["submissions"], COURSE / "notebooks"))


WRITES = """\
def write(path):
    with open(path, "w") as out:
        out.write("x")
targets = [P["folder"] + "/mine.txt", os.environ["TMPDIR"] + "/scratch.txt", "/tmp/" + P["probe"],
           P["course"] + "/" + P["probe"], P["above"] + "/" + P["probe"], P["data"] + "/x",
           P["parent"] + "/x", P["submissions"] + "/x", "/run/lock/" + P["probe"]]
print(json.dumps({"pid": os.getpid(), "uids": os.getresuid(), "gids": os.getresgid(),
                  "groups": os.getgroups(),
                  "home": os.environ["HOME"], "tmpdir": os.environ["TMPDIR"], "cwd": os.getcwd(),
                  "root": os.listdir("/root"), "data": open(P["data"] + "/train.bin").read(),
                  "writes": {path: attempt(lambda: write(path)) for path in targets}}))
"""


def test_it_runs_as_a_fresh_user_and_writes_only_its_folder(policy, places):
    probe = f"sandbox-probe-{time.time_ns()}"
    alice, data = places["alice"], places["data"]
    params = dict(folder=str(alice), probe=probe, course=str(COURSE), above=str(COURSE.parent),
                  data=str(data), parent=str(data.parent), submissions=str(places["submissions"]))
    command = sandboxed_command([sys.executable, "-c", PRELUDE + WRITES, json.dumps(params)], policy)
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=COURSE)
    stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    seen = json.loads(stdout.splitlines()[-1])
    assert seen["pid"] == process.pid  # exec'd in place: signals to the launcher reach the program
    uid = sandbox_uid(process.pid)
    assert seen["uids"] == [uid] * 3 and seen["gids"] == [uid] * 3 and seen["groups"] == []
    assert seen["home"] == str(alice) and seen["tmpdir"] == str(alice / "tmp") and seen["cwd"] == str(COURSE)
    kept = {Path(prefix).parts[2] for prefix in (sys.base_prefix, sys.prefix) if prefix.startswith("/root/")}
    assert set(seen["root"]) == kept  # /root emptied but for the way to the interpreter
    assert seen["data"] == "images"
    lock = "EROFS" if Path("/run/lock").is_dir() else "ENOENT"
    # a clone under /tmp (CI's may be): the course's parent then lies in the private /tmp, as a bare
    # mount point of root's, so the write is refused for want of permission rather than read-only
    above = seen["writes"].get(str(COURSE.parent / probe))
    assert above in ("EROFS", "EACCES"), above
    assert seen["writes"] == {
        str(alice / "mine.txt"): "ok",
        str(alice / "tmp" / "scratch.txt"): "ok",
        f"/tmp/{probe}": "ok",  # a private /tmp ...
        str(COURSE / probe): "EROFS",
        str(COURSE.parent / probe): above,
        str(data / "x"): "EROFS",  # world-writable on the host
        str(data.parent / "x"): "EROFS",
        str(places["submissions"] / "x"): "EACCES",  # the empty stand-in, root's
        f"/run/lock/{probe}": lock,  # world-writable on the host
    }
    assert not (Path("/tmp") / probe).exists()  # ... not the host's
    assert not any(path.exists() for path in (COURSE / probe, COURSE.parent / probe, data / "x"))
    mine = alice / "mine.txt"
    assert mine.read_text() == "x" and mine.stat().st_uid == uid
    assert alice.stat().st_mode & 0o777 == 0o700  # another sandbox user could not even enter


def test_a_task_folder_the_launcher_would_chown_harmfully_is_refused(tmp_path):
    for folder in (Path("/"), Path("/tmp"), COURSE, Path(sys.prefix) / "lib", COURSE / "fmnist_helpers"):
        with pytest.raises(SandboxError, match="task folder"):
            resolve_policy(SandboxPolicy(folder))
    assert resolve_policy(SandboxPolicy(tmp_path)).folder == tmp_path.resolve()


HIDDEN = """\
import ctypes
def listing(path):
    try:
        return sorted(os.listdir(path))
    except OSError as error:
        return type(error).__name__
def read(path):
    with open(path) as source:
        return source.read()
seen = {"submissions": listing(P["submissions"]), "bob": listing(P["bob"]),
        "notebooks": listing(P["notebooks"]),
        "answers": attempt(lambda: read(P["bob"] + "/answers.py"))}
# the classic way out: a user namespace of its own (full capabilities there), then unmount the
# tmpfs that hides the notebooks; mounts inherited from a more privileged namespace are locked
libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWUSER, CLONE_NEWNS, MNT_DETACH = 0x10000000, 0x00020000, 2
seen["userns"] = libc.unshare(CLONE_NEWUSER | CLONE_NEWNS) == 0
seen["umount"] = libc.umount2(P["notebooks"].encode(), MNT_DETACH) == 0
seen["notebooks_after"] = listing(P["notebooks"])
print(json.dumps(seen))
"""


def test_other_submissions_and_the_instructors_notebooks_look_empty(policy, places):
    seen = inside(HIDDEN, policy, submissions=str(places["submissions"]), bob=str(places["bob"]),
                  notebooks=str(COURSE / "notebooks"))
    assert seen["submissions"] == ["alice"]  # its own folder only
    assert seen["bob"] == "FileNotFoundError" and seen["answers"] == "ENOENT"
    assert seen["notebooks"] == []
    assert not seen["umount"] and seen["notebooks_after"] == []  # with or without a user namespace
    assert any((COURSE / "notebooks").glob("*.ipynb"))  # while the host's folder is full


NETWORK = """\
import socket, time
def connect(family, address, kind=socket.SOCK_STREAM):
    with socket.socket(family, kind) as sock:
        sock.settimeout(1)
        sock.connect(address)
def send_udp():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(b"dns?", ("10.255.255.1", 53))
def own_loopback():
    with socket.create_server(("127.0.0.1", 0)) as server:
        connect(socket.AF_INET, server.getsockname())
start = time.monotonic()
print(json.dumps({
    "host_tcp": attempt(lambda: connect(socket.AF_INET, ("127.0.0.1", P["port"]))),
    "outside_tcp": attempt(lambda: connect(socket.AF_INET, ("10.255.255.1", 80))),
    "outside_udp": attempt(send_udp),
    "host_abstract": attempt(lambda: connect(socket.AF_UNIX, P["abstract"].encode())),
    "own_loopback": attempt(own_loopback),
    "interfaces": [name for _, name in socket.if_nameindex()],
    "seconds": time.monotonic() - start}))
"""


def test_no_network_not_even_the_hosts_loopback(policy):
    abstract = f"\0fmnist-sandbox-test-{time.time_ns()}"
    with socket.create_server(("127.0.0.1", 0)) as server, socket.socket(socket.AF_UNIX) as unix:
        unix.bind(abstract.encode())
        unix.listen()
        seen = inside(NETWORK, policy, port=server.getsockname()[1], abstract=abstract)
        server.setblocking(False)
        with pytest.raises(BlockingIOError):  # nothing ever reached the host's server
            server.accept()
    assert seen["host_tcp"] == "ECONNREFUSED"  # its own 127.0.0.1, where nothing listens
    assert seen["outside_tcp"] == "ENETUNREACH" and seen["outside_udp"] == "ENETUNREACH"  # no route
    assert seen["host_abstract"] == "ECONNREFUSED"  # abstract Unix sockets belong to the namespace
    assert seen["own_loopback"] == "ok"  # a local server (dask's LocalCluster) still works
    assert seen["interfaces"] == ["lo"]
    assert seen["seconds"] < 1  # refused at once, not timed out


MEMORY_BOMB = """\
def huge():
    return bytearray(20 * 2**30)
def growing():
    chunks = []
    while len(chunks) < 4096:  # 4 GiB at most, should the limit fail
        chunks.append(bytearray(2**20))
def outcome(action):
    try:
        action()
        return "ok"
    except MemoryError:
        return "MemoryError"
result = {"huge": outcome(huge), "growing": outcome(growing)}
status = dict(line.split(":", 1) for line in open("/proc/self/status"))
result["peak_rss"] = int(status["VmHWM"].split()[0]) * 1024
print(json.dumps(result))
"""


def test_a_memory_bomb_ends_in_memory_error(places):
    limit = 256 * 2**20
    seen = inside(MEMORY_BOMB, SandboxPolicy(places["alice"], memory_bytes=limit))
    assert seen["huge"] == "MemoryError" and seen["growing"] == "MemoryError"
    assert seen["peak_rss"] < limit + 64 * 2**20  # the host lent it no more than the limit


FORK_BOMB = """\
import time
children, error = 0, None
while children < 2000:  # a cap of its own, should the limit fail
    try:
        pid = os.fork()
    except OSError as failure:
        error = type(failure).__name__
        break
    if pid == 0:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.dup2(null, 2)
        time.sleep(120)
        os._exit(0)
    children += 1
print(json.dumps({"uid": os.getuid(), "children": children, "error": error}))
"""


def test_a_fork_bomb_hits_the_process_limit_and_is_cleaned_up(places):
    seen = inside(FORK_BOMB, SandboxPolicy(places["alice"], processes=32))
    try:
        assert seen["error"] == "BlockingIOError"
        assert 20 <= seen["children"] < 32
        assert len(sandbox_processes(seen["uid"])) == seen["children"]  # left behind, sleeping
    finally:
        kill_sandbox(seen["uid"])
    deadline = time.monotonic() + 5
    while sandbox_processes(seen["uid"]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sandbox_processes(seen["uid"]) == []


FILE_BOMB = """\
written = 0
try:
    with open(P["path"], "wb", buffering=0) as out:
        while written < 2**30:  # 1 GiB at most, should the limit fail
            written += out.write(bytes(2**16))
    error = None
except OSError as failure:
    error = errno.errorcode[failure.errno]
print(json.dumps({"error": error}))
"""


def test_a_file_size_bomb_hits_the_file_size_limit(places):
    big = places["alice"] / "big.bin"
    seen = inside(FILE_BOMB, SandboxPolicy(places["alice"], file_bytes=2**20), path=str(big))
    assert seen["error"] == "EFBIG"
    assert big.stat().st_size == 2**20


TORCH = """\
import torch
import fmnist_helpers
from fmnist_helpers import Network
torch.manual_seed(0)
features = torch.nn.Conv2d(1, 6, 5)(torch.zeros(1, 1, 28, 28))
net = Network()
optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
images, labels = torch.randn(256, 1, 28, 28), torch.randint(0, 10, (256,))
losses = []
for _ in range(3):
    loss = torch.nn.functional.cross_entropy(net(images), labels)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    losses.append(loss.item())
print(json.dumps({"shape": list(features.shape), "losses": losses,
                  "package": fmnist_helpers.__file__}))
"""


def test_torch_and_the_course_package_work_with_the_default_policy(places):
    seen = inside(TORCH, SandboxPolicy(places["alice"]), timeout=120)
    assert seen["shape"] == [1, 6, 24, 24]
    assert seen["losses"][-1] < seen["losses"][0]  # it trains
    assert seen["package"] == str(COURSE / "fmnist_helpers" / "__init__.py")


CELLS = ["import os\nprint('uid', os.getuid())",
         "import socket\n"
         "try:\n"
         "    socket.create_connection(('127.0.0.1', {port}), timeout=1).close()\n"
         "    print('connected')\n"
         "except OSError as error:\n"
         "    print('refused', type(error).__name__)"]


def test_a_real_kernel_runs_sandboxed(policy, places, tmp_path):
    notebook = places["alice"] / "submission.ipynb"
    with socket.create_server(("127.0.0.1", 0)) as server:
        cells = [new_code_cell(source.format(port=server.getsockname()[1])) for source in CELLS]
        nbformat.write(new_notebook(cells=cells), notebook)
        name = write_kernel_spec(tmp_path / "jupyter", policy)
        with temporary_environment({"JUPYTER_PATH": str(tmp_path / "jupyter")}):
            result = run_notebook(notebook, tmp_path / "out", {}, tmp_path / "out.ipynb", timeout=60,
                                  kernel_name=name)
    assert result.status == "ok", result.error
    executed = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    uid_line, connect_line = (cell.outputs[0]["text"].strip() for cell in executed.cells)
    assert uid_line.startswith("uid ") and int(uid_line.split()[1]) >= UID_BASE
    assert connect_line == "refused ConnectionRefusedError"


def refused(argv: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    """Run the launcher with ``argv`` as it stands (POLICY_JSON -- CMD...)."""
    launcher = sandboxed_command([], SandboxPolicy(tmp_path))[:3]
    return subprocess.run([*launcher, *argv], capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize("policy_json", [
    "{not json", "[1, 2]", '{"folder": "relative/path"}', '{"hidden": []}',
    '{"folder": "FOLDER", "memory_bytes": -1}', '{"folder": "FOLDER", "network": true}',
    '{"folder": "FOLDER/missing"}', '{"folder": "FOLDER", "readable": "/data"}'])
def test_the_launcher_refuses_a_malformed_policy_and_runs_nothing(policy_json, tmp_path):
    marker = tmp_path / "ran"
    command = [sys.executable, "-c", f"open({str(marker)!r}, 'w')"]
    done = refused([policy_json.replace("FOLDER", str(tmp_path)), "--", *command], tmp_path)
    assert done.returncode == REFUSED
    assert len(done.stderr.splitlines()) == 1 and done.stderr.startswith("fmnist-sandbox: ")
    assert not marker.exists()


def test_the_launcher_refuses_a_kernel_on_tcp(tmp_path):
    (tmp_path / "task").mkdir()
    connection = tmp_path / "kernel-1.json"
    connection.write_text(json.dumps({"transport": "tcp", "ip": "127.0.0.1", "shell_port": 5000}))
    command = [sys.executable, "-m", "ipykernel_launcher", "-f", str(connection)]
    done = refused([SandboxPolicy(tmp_path / "task").to_json(), "--", *command], tmp_path)
    assert done.returncode == REFUSED and "TCP" in done.stderr
