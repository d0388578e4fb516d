"""The interpreters asv benchmarks on: asv.conf.json's "pythons", as this machine has them.

asv's virtualenv environments find ``python3.12`` on the PATH; on a machine with pyenv that
name is a shim which answers only when pyenv is told to offer that version, and a missing
interpreter would stop asv.  find() looks for each version (a working ``pythonX.Y`` on the
PATH, else pyenv's versions directory), provide() links the ones found into .asv/pythons/ and
puts that directory first on this process's PATH (asv and its builds inherit it), and says in
one line which it found and which it skips.  A version is never required: the job goes on
with what there is.
"""

import glob
import os
import pathlib
import shutil
import subprocess

import repo
from asvresults import running_python
from repo import ROOT

#: What a found interpreter must print: its version, and whether it can build extensions.
_PROBE = ("import sys, sysconfig, os; print('%d.%d' % sys.version_info[:2], "
          "os.path.exists(os.path.join(sysconfig.get_paths()['include'], 'Python.h')))")


def wanted(root=ROOT):
    """asv.conf.json's pythons, in order."""
    return list(repo.load_conf(root).get("pythons") or [running_python()])


def _works(executable, version):
    """Why executable will not do for version (a string), or None when it will."""
    try:
        done = subprocess.run([executable, "-c", _PROBE], capture_output=True, text=True,
                              timeout=30, env={k: v for k, v in os.environ.items()
                                               if not k.startswith("PYTHON")})
    except (OSError, subprocess.TimeoutExpired) as error:
        return str(error)
    if done.returncode != 0:
        return (done.stderr.strip().splitlines() or ["does not run"])[-1]
    found, headers = done.stdout.split()
    if found != version:
        return f"is Python {found}"
    return None if headers == "True" else "has no headers (Python.h): it cannot build fibext"


def candidates(version):
    """Where a Python of version may be: the PATH, then pyenv's versions, newest first."""
    out = []
    on_path = shutil.which(f"python{version}")
    if on_path:
        out.append(on_path)
    pyenv = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    found = glob.glob(os.path.join(pyenv, "versions", f"{version}.*", "bin", f"python{version}"))
    out += sorted(found, key=lambda p: [int(x) for x in p.split(os.sep)[-3].split(".")
                                        if x.isdigit()], reverse=True)
    return out


def find(versions):
    """({version: executable}, {version: why not}) for each version."""
    found, skipped = {}, {}
    for version in versions:
        reasons = []
        for executable in candidates(version):
            why = _works(executable, version)
            if why is None:
                found[version] = executable
                break
            reasons.append(f"{executable} {why}")
        else:
            skipped[version] = "; ".join(reasons) or "not on the PATH nor in pyenv's versions"
    return found, skipped


def provide(versions, root=ROOT):
    """Make the found versions the ones asv finds (links in .asv/pythons/, first on the
    PATH); the versions found, in the order asked, after one line saying what was found."""
    found, skipped = find(versions)
    links = pathlib.Path(root) / ".asv" / "pythons"
    links.mkdir(parents=True, exist_ok=True)
    for version, executable in found.items():
        link = links / f"python{version}"
        link.unlink(missing_ok=True)
        link.symlink_to(os.path.realpath(executable))  # the interpreter, not a venv's link
    os.environ["PATH"] = f"{links}{os.pathsep}{os.environ.get('PATH', '')}"
    print("Pythons: " + (", ".join(f"{v} ({found[v]})" for v in versions if v in found)
                         or "none found")
          + (("; skipped: " + "; ".join(f"{v} ({why})" for v, why in skipped.items()))
             if skipped else ""), flush=True)
    return [v for v in versions if v in found]
