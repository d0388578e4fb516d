"""Builds, not commits: what fibext installs, identified by its bytes, measured once.

A build's identity is the sha256 of every file the wheel installs (its path and bytes; the
``.dist-info`` metadata and the zip's timestamps left out) in one asv environment (its name
says the interpreter and the pinned requirements).  Commits whose identities are equal are one
build: the main job, the gate and the drill measure one commit of it and give every other
commit of it that commit's results, so no step can appear between commits of one build.

The identity costs the build asv makes anyway: the wheel is built here, from the commit's tree
exported to one fixed directory (the same paths every time, so the same sources give the same
bytes), with the environment's Python and asv.conf.json's build command, and left in asv's own
build cache, where asv installs it from instead of building again.  A cheaper key spares the
build: the git trees of what the wheel is made from (SOURCES).  Equal trees in one
environment are the same build; different trees are built and compared.

Each identified commit is one line of ``<results>/<machine>/builds.jsonl`` (JSON Lines: asv
reads only ``*.json`` there), kept with the results and the results branch: which build it is,
in which environment, from which sources, and which commit of each build asv measured.
"""

import hashlib
import io
import json
import os
import pathlib
import shutil
import subprocess
import tarfile
import zipfile
from dataclasses import dataclass

import repo
from repo import ROOT, ToolError

#: What fibext's wheel is made from.  README.md (the long description) and LICENSE reach only
#: the .dist-info metadata, which the identity leaves out.
SOURCES = ("fibext", "setup.py", "pyproject.toml")
RECORDS = "builds.jsonl"
#: Where a commit's tree is exported to be built: one fixed path, so that paths compiled into
#: the extension (debug information) are the same for every commit.
WORKSHOP = "builds"


@dataclass(frozen=True)
class Env:
    """One asv environment: name (as in results file names) and directory."""
    name: str
    path: pathlib.Path

    @property
    def python(self):
        return self.path / "bin" / "python"

    def cache_dir(self, commit):
        """asv's build cache for commit in this environment (asv.build_cache)."""
        return self.path / "asv-build-cache" / commit


def environments(config=(), root=ROOT):
    """([Env], asv's config) of root's asv.conf.json or the copy config names (the
    environments created where missing, as asv run would)."""
    from asv import config as asv_config
    from asv import environment

    path = config[1] if config else str(pathlib.Path(root) / "asv.conf.json")
    here = os.getcwd()
    os.chdir(root)  # asv reads the config's relative directories from where it runs
    try:
        conf = asv_config.Config.load(path)
        envs = list(environment.get_environments(conf, None))
        for env in envs:
            env.create()
        return [Env(env.name, pathlib.Path(env._path).resolve()) for env in envs], conf
    finally:
        os.chdir(here)


def source_key(commit, root=ROOT):
    """The git object ids of SOURCES at commit, hashed: equal keys, equal inputs."""
    ids = [repo.git("rev-parse", f"{commit}:{name}", cwd=root) for name in SOURCES]
    return hashlib.sha256(" ".join(ids).encode()).hexdigest()


def wheel_members(wheel):
    """{installed path: sha256 of its bytes} of a wheel, .dist-info left out."""
    with zipfile.ZipFile(wheel) as archive:
        return {info.filename: hashlib.sha256(archive.read(info)).hexdigest()
                for info in archive.infolist()
                if not info.is_dir() and ".dist-info/" not in info.filename}


def identity(wheel, env_name):
    """The build identity of a wheel installed in the environment env_name."""
    digest = hashlib.sha256(env_name.encode())
    for name, sha in sorted(wheel_members(wheel).items()):
        digest.update(f"\0{name}\0{sha}".encode())
    return digest.hexdigest()


def build(env, commit, build_command, root=ROOT):
    """Build commit's wheel for env from its tree exported to the fixed workshop, into asv's
    build cache (asv installs it from there); the wheel's path."""
    workshop = pathlib.Path(root) / ".asv" / WORKSHOP / env.path.name
    source = workshop / "src"
    shutil.rmtree(source, ignore_errors=True)
    source.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", "--format=tar", commit], cwd=root,
                             capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(source, filter="data")
    cache = env.cache_dir(commit)
    shutil.rmtree(cache, ignore_errors=True)
    cache.mkdir(parents=True)
    for command in build_command:
        argv = command.format(build_cache_dir=cache, build_dir=source).split()
        if argv[0] == "python":
            argv[0] = str(env.python)
        done = subprocess.run(argv, cwd=source, capture_output=True, text=True,
                              env={**os.environ, "PIP_NO_INPUT": "1"})
        if done.returncode != 0:
            shutil.rmtree(cache, ignore_errors=True)
            raise ToolError(f"building {commit[:8]} for {env.name} failed:\n"
                            f"{done.stdout[-2000:]}{done.stderr[-2000:]}")
    (wheel,) = cache.glob("*.whl")
    cache.with_name(commit + ".timestamp").touch()  # asv's mark of a finished cache entry
    return wheel


# --- the records ---------------------------------------------------------------------------


def records_path(results_dir, machine):
    return pathlib.Path(results_dir) / machine / RECORDS


def load_records(results_dir, machine):
    """{(env, commit): record} from builds.jsonl, the last line of each pair winning."""
    records = {}
    path = records_path(results_dir, machine)
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                record = json.loads(line)
                records[(record["env"], record["commit"])] = record
            except (ValueError, KeyError, TypeError):
                continue  # a line cut short by a killed job: that commit is identified again
    return records


def _append(results_dir, machine, record):
    path = records_path(results_dir, machine)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        handle.write(json.dumps(record, sort_keys=True) + "\n")


def identify(commits, envs, build_command, results_dir, machine, root=ROOT, log=print):
    """{commit: {env name: build identity}} of every commit in every environment: from the
    records, from an identified commit with the same sources, or by building it."""
    records = load_records(results_dir, machine)
    by_source = {(r["env"], r["source"]): r["build"] for r in records.values()}
    out = {}
    for commit in commits:
        out[commit] = {}
        for env in envs:
            known = records.get((env.name, commit))
            if known:
                out[commit][env.name] = known["build"]
                continue
            source = source_key(commit, root)
            build_id = by_source.get((env.name, source))
            how = "same sources as a commit identified before"
            if build_id is None:
                log(f"  building {commit[:8]} for {env.name} (its build identity)", flush=True)
                wheel = build(env, commit, build_command, root)
                build_id = identity(wheel, env.name)
                how = "built"
            record = {"env": env.name, "commit": commit, "source": source, "build": build_id}
            _append(results_dir, machine, record)
            records[(env.name, commit)] = record
            by_source[(env.name, source)] = build_id
            out[commit][env.name] = build_id
            log(f"  {commit[:8]} {env.name}: build {build_id[:12]} ({how})", flush=True)
    return out


def groups(identities):
    """[[commits of one build, in the order given]]: commits are one build where they are in
    every environment."""
    found = {}
    for commit, ids in identities.items():
        found.setdefault(tuple(sorted(ids.items())), []).append(commit)
    return list(found.values())


def measured_for(records, env_name, build_id):
    """The commit asv measured for a build in an environment, or None."""
    for (env, commit), record in records.items():
        if env == env_name and record["build"] == build_id and record.get("measured"):
            return commit
    return None


def choose(commit, ids, results_dir, machine):
    """The commit asv measures for commit's build: the one measured before in every
    environment, else commit itself, recorded as measured where its build had none."""
    records = load_records(results_dir, machine)
    before = {measured_for(records, env, build_id) for env, build_id in ids.items()}
    if len(before) == 1 and None not in before:
        return before.pop()
    for env, build_id in ids.items():
        if measured_for(records, env, build_id) is None:
            _append(results_dir, machine, {**records[(env, commit)], "measured": True})
    return commit


def share(commit, ids, results_dir, machine, root=ROOT):
    """Give commit the results of the commit asv measured for its build, in each environment
    (the results file, with commit's hash and date); the number of files written."""
    records = load_records(results_dir, machine)
    folder = pathlib.Path(results_dir) / machine
    written = 0
    for env, build_id in ids.items():
        measured = measured_for(records, env, build_id)
        if measured in (None, commit):
            continue
        path = folder / f"{measured[:8]}-{env}.json"
        if not path.exists():
            continue
        data = json.loads(path.read_text())
        copy = dict(data, commit_hash=commit, date=_commit_date(commit, root))
        target = folder / f"{commit[:8]}-{env}.json"
        text = json.dumps(copy, separators=(",", ":"))
        if not target.exists() or target.read_text() != text:
            tmp = target.with_suffix(".tmp")
            tmp.write_text(text)
            tmp.replace(target)  # never a half-written results file
            written += 1
    return written


def measured_of(commits, results_dir, machine):
    """{commit: the commit asv measured for its build} of the identified commits (a commit not
    yet identified stands for itself)."""
    records = load_records(results_dir, machine)
    out = {}
    for commit in commits:
        targets = {measured_for(records, env, r["build"])
                   for (env, c), r in records.items() if c == commit}
        out[commit] = targets.pop() if len(targets) == 1 and None not in targets else commit
    return out


def share_all(commits, results_dir, machine, root=ROOT):
    """share() for every identified commit of commits; the number of files written."""
    records = load_records(results_dir, machine)
    written = 0
    for commit in commits:
        ids = {env: r["build"] for (env, c), r in records.items() if c == commit}
        if ids:
            written += share(commit, ids, results_dir, machine, root)
    return written


def _commit_date(commit, root=ROOT):
    """The commit's date in milliseconds, as asv records it."""
    return int(repo.git("log", "-1", "--format=%ct", commit, cwd=root)) * 1000


def describe(group, identities):
    """One line for a build whose commits are given newest first, the range oldest..newest:
    "53cd7533..5cf6b409: one build of 10 commit(s) (sha256 0582bf97...)"."""
    first = identities[group[0]]
    ids = ", ".join(f"{b[:12]}" + (f" in {e}" if len(first) > 1 else "")
                    for e, b in sorted(first.items()))
    span = group[0][:8] if len(group) == 1 else f"{group[-1][:8]}..{group[0][:8]}"
    return f"{span}: one build of {len(group)} commit(s) (sha256 {ids})"


def history_lines(results_dir, machine, commits):
    """Markdown lines for the report: the builds of commits (newest first) as the records
    have them, one line a build, and the commits not identified (measured before builds were
    recorded, each its own figure)."""
    records = load_records(results_dir, machine)
    identities = {}
    for (env, commit), record in records.items():
        if commit in commits:
            identities.setdefault(commit, {})[env] = record["build"]
    known = [c for c in commits if c in identities]
    lines = [f"- {describe(group, identities)}"
             + (f"; measured at {measured[:8]}" if (measured := _measured_in(group, records))
                else "")
             for group in groups({c: identities[c] for c in known})]
    unknown = [c for c in commits if c not in identities]
    if unknown:
        lines.append(f"- {len(unknown)} older commit(s) measured one by one, before builds were "
                     "recorded")
    return lines


def _measured_in(group, records):
    for (env, commit), record in records.items():
        if commit in group and record.get("measured"):
            return commit
    return None


def differences(wheel_a, wheel_b):
    """What differs between two wheels, for a person: each differing member, and for a shared
    library the ELF sections whose bytes differ (e.g. only .debug_line: line numbers moved)."""
    a, b = wheel_members(wheel_a), wheel_members(wheel_b)
    out = []
    for name in sorted(set(a) | set(b)):
        if a.get(name) == b.get(name):
            continue
        if name not in a or name not in b:
            out.append(f"{name} only in {'the second' if name in b else 'the first'}")
            continue
        sections = _differing_sections(wheel_a, wheel_b, name) if name.endswith(".so") else []
        out.append(f"{name}" + (f" (sections {', '.join(sections)})" if sections else ""))
    return out


def _differing_sections(wheel_a, wheel_b, member):
    from elftools.elf.elffile import ELFFile

    def sections(wheel):
        with zipfile.ZipFile(wheel) as archive:
            elf = ELFFile(io.BytesIO(archive.read(member)))
            return {s.name: hashlib.sha256(s.data()).hexdigest() for s in elf.iter_sections()
                    if s.header.sh_type != "SHT_NOBITS"}
    a, b = sections(wheel_a), sections(wheel_b)
    return sorted(name for name in set(a) | set(b) if a.get(name) != b.get(name))
