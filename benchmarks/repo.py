"""The repository the tools work on: its paths, git and asv, its thresholds, this machine's name,
and the lock a job holds on the checkout.  A leaf: it imports no other tool.
"""

import contextlib
import fcntl
import hashlib
import json
import os
import pathlib
import platform
import re
import signal
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
ASV_DIR = ROOT / ".asv"
RESULTS = ASV_DIR / "results"
HTML = ASV_DIR / "html"
#: The preview server's port (python3 -m http.server, bound to 127.0.0.1).
PORT = 8080

#: What a machine name may hold: asv makes it a directory under .asv/results.
_MACHINE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


class ToolError(Exception):
    """A failure of git, asv or the set-up, as opposed to a measured result (exit code 2)."""


def git(*args, cwd=ROOT):
    """git's standard output; ToolError with git's own message when it fails."""
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise ToolError(f"git {' '.join(args)}: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout.strip()


def commit_of(ref, cwd=ROOT):
    """The full hash of the commit ref names.  A ref is never read as an option: one that
    starts with "-" is refused, and git is told where its options end."""
    if not ref or ref.startswith("-") or any(c in ref for c in "\0\n"):
        raise ToolError(f"{ref!r} is not a git ref (refs do not start with '-')")
    return git("rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}",
               cwd=cwd)


def asv(*args, cwd=ROOT, check=True, capture=False):
    """Run ``python -m asv ARGS``, echoing the command; its CompletedProcess."""
    print("+ asv", " ".join(args), flush=True)
    done = subprocess.run([sys.executable, "-m", "asv", *args], cwd=cwd, text=True,
                          capture_output=capture)
    if check and done.returncode != 0:
        raise ToolError(f"asv {args[0]} exited {done.returncode}")
    return done


def load_conf(root=ROOT):
    from asv import util as asv_util
    return asv_util.load_json(str(pathlib.Path(root) / "asv.conf.json"), js_comments=True)


def config_copy(path, root=ROOT, pythons=None, **dirs):
    """Write a copy of root's asv.conf.json to path with every directory absolute (asv reads
    some relative to the config file, some to the directory it runs in) and the given ones
    (results_dir=..., html_dir=..., env_dir=...) replaced, and pythons (a list of versions)
    where given; the arguments that make asv use it.  The same repository and suite; what
    the caller keeps apart, apart."""
    root = pathlib.Path(root).resolve()
    conf = load_conf(root)
    conf["repo"] = str(root)
    for key in ("env_dir", "html_dir", "results_dir", "benchmark_dir"):
        conf[key] = str(dirs.get(key, root / conf[key]))
    if pythons is not None:
        conf["pythons"] = list(pythons)
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(conf, indent=1))
    return ["--config", str(path)]


def load_thresholds(root=ROOT):
    """(thresholds, where from): asv.conf.json's regressions_thresholds, the one place they
    are set (asv publish reads them too)."""
    thresholds = load_conf(root).get("regressions_thresholds")
    if not thresholds:
        raise SystemExit(f"{pathlib.Path(root) / 'asv.conf.json'} sets no "
                         "regressions_thresholds; the gate and the drill judge by them")
    return dict(thresholds), "asv.conf.json regressions_thresholds"


def threshold_for(thresholds, entry_name, default=0.05):
    """asv's rule (plugins/regressions.py): the largest threshold whose regex re.match()es
    the entry name; asv's 5% where none does."""
    matching = [float(t) for regex, t in thresholds.items() if re.match(regex, entry_name)]
    return max(matching) if matching else default


# --- this machine ----------------------------------------------------------------------------


def _cpuinfo():
    fields = {}
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            fields.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    return fields


def _cache_sizes():
    """{"L1d": "48K", ...} of cpu0, from sysfs (what the guest is told)."""
    sizes = {}
    for index in sorted(pathlib.Path("/sys/devices/system/cpu/cpu0/cache").glob("index*")):
        try:
            level = (index / "level").read_text().strip()
            kind = (index / "type").read_text().strip()
            size = (index / "size").read_text().strip()
        except OSError:
            continue
        if kind != "Instruction":
            sizes[f"L{level}{'d' if kind == 'Data' else ''}"] = size
    return sizes


def host_identity():
    """What makes this machine's numbers what they are: the CPU (vendor, family, model,
    stepping: VMs of different host generations share one model name), its caches as the
    guest sees them, and the CPU count."""
    info = _cpuinfo()
    return {
        "model_name": info.get("model name") or platform.processor() or platform.machine(),
        "vendor": info.get("vendor_id", ""),
        "family": info.get("cpu family", ""),
        "model": info.get("model", ""),
        "stepping": info.get("stepping", ""),
        "caches": _cache_sizes(),
        "cpus": os.cpu_count(),
    }


def stable_machine_name(identity=None):
    """Same name every run on the same hardware, whatever the VM's hostname is today; another
    host behind the same model name gets another name (the hash of host_identity())."""
    identity = identity or host_identity()
    slug = re.sub(r"[^a-z0-9]+", "-", identity["model_name"].lower()).strip("-")[:40]
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:6]
    return f"{slug}-{identity['cpus']}cpu-{digest}"


def check_machine_name(name):
    """name, or ValueError: asv writes results under .asv/results/<name>, so a name must not
    reach outside it."""
    if not isinstance(name, str) or not _MACHINE_NAME.fullmatch(name) or ".." in name:
        raise ValueError(f"machine name {name!r}: use letters, digits, '.', '_' and '-' "
                         "(no '/', no '..', at most 100 characters)")
    return name


def describe_host(identity=None):
    """host_identity() as one line, which asv records as the machine's "cpu" (machine.json)."""
    identity = identity or host_identity()
    caches = ", ".join(f"{k} {v}" for k, v in sorted(identity["caches"].items()))
    return (f"{identity['model_name']} (family {identity['family']} model {identity['model']} "
            f"stepping {identity['stepping']}; {caches}; {identity['cpus']} CPUs)")


def register_machine(name, cwd=ROOT):
    """asv machine --yes with this host's description as its cpu, so machine.json (and the
    site's machine information) says which hardware the numbers come from."""
    identity = host_identity()
    asv("machine", "--yes", "--machine", name, "--cpu", describe_host(identity),
        "--num_cpu", str(identity["cpus"]), cwd=cwd, capture=True)


def recorded_host(name, results=RESULTS):
    """The cpu description asv recorded for machine name (its machine.json), or None."""
    try:
        return json.loads((pathlib.Path(results) / name / "machine.json").read_text()).get("cpu")
    except (OSError, ValueError):
        return None


def machine_for_this_host(name, results=RESULTS):
    """The machine name to record under: name, unless results already recorded under it come
    from another host (machine.json's cpu, which register_machine() sets); then a new name,
    said aloud."""
    check_machine_name(name)
    was, here = recorded_host(name, results), describe_host()
    if was is not None and was != here:
        new = f"{name}-{stable_machine_name().rsplit('-', 1)[1]}"
        print(f"machine {name!r}: its results come from another host ({was}; this one: "
              f"{here}), so this run records under {new!r}", flush=True)
        return machine_for_this_host(new, results) if new != name else name
    return name


# --- one job at a time in a checkout ---------------------------------------------------------


@contextlib.contextmanager
def checkout_lock(job, root=ROOT):
    """Hold the checkout for one job: asv's environments (.asv/env) are shared by every job in
    it, and two jobs installing different commits' wheels into them could benchmark one commit
    and record it as another.  A second job stops at once, naming the holder."""
    path = pathlib.Path(root) / ".asv" / "job.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another job"
            raise ToolError(f"{holder} holds this checkout ({path}); wait for it to finish "
                            "(two jobs would share asv's environments)") from None
        end_leftovers(root)
        handle.seek(0)
        handle.truncate()
        handle.write(f"{job} (pid {os.getpid()})\n")
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()


def parent_of(pid):
    """pid's parent's pid, or None where pid is gone (/proc/PID/stat: the field after the
    state, which follows the command's name in parentheses)."""
    try:
        return int(pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def _ancestors():
    pids, pid = set(), os.getpid()
    while pid is not None and pid > 1:
        pids.add(pid)
        pid = parent_of(pid)
    return pids


def leftovers(root=ROOT):
    """[(pid, command line)] of asv's processes that work in this checkout: asv itself (run
    here) and asv_runner's (a Python of this checkout's .asv/).  With the checkout's lock held,
    nothing of asv should be running here: these are what a killed job left (asv's forkserver
    sits in a process group of its own and outlives a kill of the job's group)."""
    root = pathlib.Path(root).resolve()
    mine = str(root / ".asv") + os.sep
    found, skip = [], _ancestors()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) in skip:
            continue
        try:
            args = open(f"/proc/{entry}/cmdline", "rb").read().decode(errors="replace")
            cwd = os.readlink(f"/proc/{entry}/cwd")
        except OSError:
            continue  # gone, or not ours to read
        args = args.split("\0")
        if not any("asv" in arg for arg in args):
            continue
        if cwd == str(root) or any(arg.startswith(mine) for arg in args):
            found.append((int(entry), " ".join(a for a in args if a)))
    return found


def end_leftovers(root=ROOT, wait=5.0):
    """End (SIGKILL) what leftovers() finds, saying so; the pids ended."""
    found = leftovers(root)
    for pid, _ in found:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline and any(os.path.exists(f"/proc/{p}") for p, _ in found):
        time.sleep(0.05)
    if found:
        print(f"ended {len(found)} asv process(es) that an earlier job left running in this "
              "checkout: " + "; ".join(f"pid {pid} ({args[:120]})" for pid, args in found),
              flush=True)
    return [pid for pid, _ in found]
