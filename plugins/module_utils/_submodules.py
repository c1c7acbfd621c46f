# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Private to the aegee.deploy collection: not a public API, may change at any
# time without notice.
"""The deploy repo's service folders that are git submodules.

Only the submodules of the enabled services are initialised (shallow where the
server allows it), at the commit the deploy repo records, or at the tip of a
branch of the service repo when the inventory says to follow it. Everything
that can fail over the network (access, a recorded commit the service repo
does not have) is tried before the deploy repo's HEAD moves; what fails later
is undone by :func:`restore`.
"""

from __future__ import annotations

import os
import shlex

from ansible_collections.aegee.deploy.plugins.module_utils._git import RepoError

# the commit the tool last checked out in a submodule: never counted as a local commit
PLACED = "refs/aegee-deploy/placed"


def listed(git, commit="HEAD"):
    """The submodules recorded at ``commit``: ``[{"name", "path", "url", "recorded"}]`` (url as in .gitmodules)."""
    rc, out, _err = git("config", "--blob", "%s:.gitmodules" % commit, "-z", "--get-regexp",
                        r"^submodule\..*\.(path|url)$", check=False)
    if rc != 0:
        return []  # no .gitmodules: the flat shape
    names = {}
    for item in out.split("\0"):
        key, sep, value = item.partition("\n")
        if sep and key.count(".") >= 2:
            name, field = key[len("submodule."):].rsplit(".", 1)
            names.setdefault(name, {"name": name})[field] = value
    by_path = {entry["path"]: entry for entry in names.values() if entry.get("path")}
    if not by_path:
        return []
    _rc, out, _err = git("ls-tree", "-r", "-z", commit, "--", *sorted(by_path))
    subs = []
    for item in out.split("\0"):
        meta, sep, path = item.partition("\t")
        fields = meta.split()
        if sep and len(fields) == 3 and fields[1] == "commit" and path in by_path:
            entry = by_path[path]
            subs.append({"name": entry["name"], "path": path, "url": entry.get("url"), "recorded": fields[2]})
    return subs


def initialised(git, path):
    return os.path.exists(os.path.join(git.root, path, ".git"))


def _has_commit(sub, commit):
    return sub("rev-parse", "-q", "--verify", "%s^{commit}" % commit, check=False)[0] == 0


def _url(git, entry):
    """The URL git fetches the submodule from: its origin once cloned, else the deploy repo's config."""
    if initialised(git, entry["path"]):
        rc, out, _err = git.sub(entry["path"])("config", "--get", "remote.origin.url", check=False)
    else:
        rc, out, _err = git("config", "--get", "submodule.%s.url" % entry["name"], check=False)
    return out.strip() if rc == 0 and out.strip() else entry["url"]


def _folder(git, path):
    return shlex.quote(os.path.join(git.root, path))


def local_commits(git, entry):
    """How many commits the submodule's HEAD has that its origin, the deploy repo and the tool never had."""
    sub = git.sub(entry["path"])
    known = ["--remotes"] + [ref for ref in (entry["recorded"], PLACED) if _has_commit(sub, ref)]
    rc, out, _err = sub("rev-list", "--count", "HEAD", "--not", *known, check=False)
    return int(out.strip() or 0) if rc == 0 else 0


def refuse_local_commits(git, follow):
    """Stop, naming the folder and a command that drops them, when a submodule holds local commits."""
    problems = []
    for entry in listed(git):
        if not initialised(git, entry["path"]):
            continue
        count = local_commits(git, entry)
        if count:
            sub = git.sub(entry["path"])
            base = sub("rev-parse", PLACED)[1].strip() if follow.get(entry["path"]) and _has_commit(sub, PLACED) \
                else entry["recorded"]
            problems.append(
                "%s has %d local commit(s) that %s does not have (push them there, or drop them on the host with "
                "`git -C %s reset --keep %s`)" % (entry["path"], count, _url(git, entry), _folder(git, entry["path"]),
                                                  base))
    if problems:
        raise RepoError("service folders of the deploy repo on this host that are git submodules hold local "
                        "commits: %s. Nothing was changed." % "; ".join(problems))


def _access_error(entry, err):
    return RepoError(
        "cannot fetch the service folder %s (a git submodule) from %s: %s. Nothing was changed. Check that this host "
        "can reach %s (for an SSH URL: the host's deploy key for that repository)"
        % (entry["path"], entry["url"], err.strip(), entry["url"]))


def _missing_error(entry, err=""):
    return RepoError(
        "the deploy repo records the service folder %s (a git submodule) at commit %s, which %s does not have%s. "
        "Nothing was changed. Push that commit to %s, or record one it has in the deploy repo"
        % (entry["path"], entry["recorded"], entry["url"], ": %s" % err.strip() if err.strip() else "", entry["url"]))


def _fetch_branch(sub, entry):
    branch = entry["branch"]
    rc, out, err = sub("fetch", "--quiet", "origin", "+refs/heads/%s:refs/remotes/origin/%s" % (branch, branch),
                       check=False)
    if rc != 0:
        raise _access_error(entry, "branch %s: %s" % (branch, err or out))
    return sub("rev-parse", "refs/remotes/origin/%s" % branch)[1].strip()


def _fetch_recorded(sub, entry):
    if _has_commit(sub, entry["recorded"]):
        return
    rc, out, err = sub("fetch", "--quiet", "origin", entry["recorded"], check=False)
    if rc != 0:  # a server that refuses to serve a commit by id: fetch its branches
        rc, out, err = sub("fetch", "--quiet", "origin", check=False)
        if rc != 0:
            raise _access_error(entry, err or out)
    if not _has_commit(sub, entry["recorded"]):
        raise _missing_error(entry, err or out)


def plan(git, commit, services, follow, fetch):
    """The enabled submodules at ``commit`` and the commit each is to be at; fetches unless ``fetch`` is false.

    ``services``: None (every submodule), folder names, or a callable ``services(show)`` returning them,
    where ``show(path)`` is a file's text at ``commit`` (for ENABLED_SERVICES in the .env about to be
    checked out). ``follow``: ``{folder: branch}`` of the service repos whose branch tip is taken.
    """
    subs = listed(git, commit)
    unknown = sorted(set(follow or {}) - {entry["path"] for entry in subs})
    if unknown:
        raise RepoError("%s: not git submodules of the deploy repo (commit %s), so there is no service repo branch "
                        "to follow; nothing was changed" % (", ".join(unknown), commit))
    if services is not None and subs:
        if callable(services):
            services = services(lambda path: _show(git, commit, path))
        wanted = set(services or ())
        subs = [entry for entry in subs if entry["path"] in wanted]
    for entry in subs:
        entry["branch"] = (follow or {}).get(entry["path"])
        entry["url"] = _url(git, entry)
        entry["new"] = not initialised(git, entry["path"])
        entry["before"] = entry["after"] = None
        if entry["new"]:
            entry["after"] = None if entry["branch"] else entry["recorded"]
            continue
        sub = git.sub(entry["path"])
        entry["before"] = sub("rev-parse", "HEAD")[1].strip()
        if entry["branch"]:
            if fetch:
                entry["after"] = _fetch_branch(sub, entry)
            else:
                rc, out, _err = sub("rev-parse", "-q", "--verify", "refs/remotes/origin/%s" % entry["branch"],
                                    check=False)
                entry["after"] = out.strip() if rc == 0 else None
        else:
            if fetch:
                _fetch_recorded(sub, entry)
            entry["after"] = entry["recorded"]
    return subs


def _show(git, commit, path):
    rc, out, _err = git("show", "%s:%s" % (commit, path), check=False)
    return out if rc == 0 else None


def moving(subs):
    return [entry["path"] for entry in subs if entry["new"] or entry["after"] != entry["before"]]


def _init(git, entry):
    """Clone an enabled submodule at its recorded commit: shallow, else (a server refusing it) in full."""
    err = ""
    for depth in (["--depth", "1"], []):
        rc, out, err = git("submodule", "update", "--init", *depth, "--", entry["path"], check=False)
        if rc == 0:
            entry["url"] = _url(git, entry)
            return
        err = err or out
    entry["url"] = _url(git, entry)
    if initialised(git, entry["path"]):  # the clone worked: the commit is what is missing
        raise _missing_error(entry, err.strip().splitlines()[-1] if err.strip() else "")
    raise _access_error(entry, err.strip().splitlines()[-1] if err.strip() else "")


def sync(git, subs):
    """Bring each planned submodule to its commit (set ``moved``/``after``); raises RepoError, see restore()."""
    for entry in subs:
        if entry["new"]:
            entry["moved"] = True
            _init(git, entry)
            if not entry["branch"]:
                entry["after"] = entry["recorded"]
        sub = git.sub(entry["path"])
        if entry["branch"]:
            entry["after"] = _fetch_branch(sub, entry) if entry["new"] else entry["after"]
        if entry["after"] != sub("rev-parse", "HEAD")[1].strip():
            entry["moved"] = True
            rc, out, err = sub("checkout", "--quiet", "--detach", entry["after"], check=False)
            if rc != 0:
                raise RepoError("cannot check out %s at %s: %s. Resolve this on the host and deploy again"
                                % (entry["path"], entry["after"], (err or out).strip()))
        if entry.get("moved"):
            sub("update-ref", PLACED, entry["after"])


def restore(git, subs):
    """Undo :func:`sync`: new submodules are de-initialised, the others put back at their commit."""
    for entry in reversed(subs):
        if not entry.get("moved"):
            continue
        if entry["new"]:
            git("submodule", "deinit", "--quiet", "--force", "--", entry["path"], check=False)
        else:
            git.sub(entry["path"])("checkout", "--quiet", "--detach", entry["before"], check=False)


def report(subs):
    """What the update did (or would do) to each enabled submodule, by folder."""
    return {
        entry["path"]: {"url": entry["url"], "recorded": entry["recorded"], "branch": entry["branch"],
                        "before": entry["before"], "commit": entry["after"],
                        "changed": bool(entry.get("moved")) or entry["path"] in moving([entry])}
        for entry in subs
    }


def compose_source(git, path):
    """Where the committed text of ``path`` comes from, for the history and the status page.

    ``{"submodule": folder or None, "url": ..., "commit": ..., "blob": ...}``: for a file inside a submodule, the
    submodule's folder, URL and checked-out commit; else the deploy repo's. ``blob`` is the committed file's git
    object id (None if it is not committed): equal blobs, equal compose definition.
    """
    inside = git.submodule_of(path)
    folder, rest = inside if inside else (None, path)
    repo = git.sub(folder) if folder else git
    rc, url, _err = repo("config", "--get", "remote.origin.url", check=False)
    _rc, commit, _err = repo("rev-parse", "HEAD")
    rc_blob, blob, _err = repo("rev-parse", "-q", "--verify", "HEAD:%s" % rest, check=False)
    return {"submodule": folder, "url": url.strip() if rc == 0 else None, "commit": commit.strip(),
            "blob": blob.strip() if rc_blob == 0 else None}
