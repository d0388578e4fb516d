"""The history kept in git beside the code: the results branch (asv's results, accumulated,
never rewritten: a fresh clone that fetches it continues the history) and the gh-pages branch
(the published site, as ``asv gh-pages --no-push`` would commit it).  Neither touches the work
tree or the index."""

import os
import pathlib
import subprocess

import repo
from repo import RESULTS, ROOT, ToolError

RESULTS_BRANCH = "results"
PAGES_BRANCH = "gh-pages"


def branch_ref(branch):
    """The local branch, else the remote-tracking one a fresh clone fetched; None if neither."""
    for ref in (f"refs/heads/{branch}", f"refs/remotes/origin/{branch}"):
        try:
            repo.git("rev-parse", "--verify", "--quiet", ref)
            return ref
        except ToolError:
            continue
    return None


def restore_results(results_dir=RESULTS, branch=RESULTS_BRANCH):
    """Copy into results_dir every file of the results branch it lacks (never overwriting):
    a fresh clone continues the history kept there.  The number of files restored."""
    ref = branch_ref(branch)
    if ref is None:
        return 0
    restored = 0
    for name in repo.git("ls-tree", "-r", "--name-only", ref).splitlines():
        target = pathlib.Path(results_dir) / name
        if target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        data = subprocess.run(["git", "show", f"{ref}:{name}"], cwd=ROOT, check=True,
                              capture_output=True).stdout
        target.write_bytes(data)
        restored += 1
    if restored:
        print(f"restored {restored} results file(s) from the {branch!r} branch", flush=True)
    return restored


def commit_directory(directory, branch, message, keep_existing):
    """Commit directory's files to branch without touching the work tree or the index, on top
    of the branch's tip (never rewriting it).  keep_existing: files the branch has and the
    directory lacks stay (results accumulate); otherwise the branch holds the directory as it is
    (a published site).  The new commit, or None when nothing changed."""
    index = ROOT / ".asv" / f"{branch}.index"
    index.unlink(missing_ok=True)
    env = {**os.environ, "GIT_INDEX_FILE": str(index), "GIT_WORK_TREE": str(directory)}
    env.setdefault("GIT_AUTHOR_NAME", "fibext main job")
    env.setdefault("GIT_AUTHOR_EMAIL", "fibext@localhost")
    env.setdefault("GIT_COMMITTER_NAME", env["GIT_AUTHOR_NAME"])
    env.setdefault("GIT_COMMITTER_EMAIL", env["GIT_AUTHOR_EMAIL"])

    def git(*args):
        done = subprocess.run(["git", *args], cwd=ROOT, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise ToolError(f"git {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout.strip()

    parent = branch_ref(branch)
    try:
        if parent and keep_existing:
            git("read-tree", parent)
        git("add", "--force", "--ignore-removal" if keep_existing else "--all", ".")
        tree = git("write-tree")
        if parent and tree == git("rev-parse", f"{parent}^{{tree}}"):
            return None
        commit = git("commit-tree", tree, *(["-p", parent] if parent else []), "-m", message)
        git("update-ref", f"refs/heads/{branch}", commit)
        return commit
    finally:
        index.unlink(missing_ok=True)
