# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Private to the aegee.deploy collection: not a public API, may change at any
# time without notice.
"""What the release transaction and the status read ask of a container runtime.

A runtime runs the deploy repo's project (its compose files, in order) on one
host. The transaction (``_release``) and ``release_info`` (``_status``) only
talk to this interface; Docker Compose v2 (``_runtime_compose``) is the first
implementation. A second one (Swarm, say) is one subclass in its own module
plus one line in ``_runtimes.RUNTIMES``.

Commands run through the ``run(argv, cwd=None, data=None) -> (rc, out, err)``
callable the runtime is built with (``AnsibleModule.run_command`` in modules),
so tests fake that one boundary, or the whole runtime.
"""

from __future__ import annotations

import abc


class RuntimeFailure(Exception):
    """A runtime command failed; the message says which one and what it printed."""


class Runtime(abc.ABC):
    """The project made of ``files`` (relative to ``root``) on this host.

    ``project`` is the project's name as the tool's settings make it (``COMPOSE_PROJECT_NAME`` of the
    ``.env`` with the tool's values): while the deploy repo is updated, the file on disk holds the committed
    value, and the runtime must still find the containers that run.
    """

    def __init__(self, root, files, run, project=None):
        self.root = root
        self.files = list(files)
        self.run = run
        self.project = project or None
        # what each switch and restore did, by service: mode, seconds to healthy, drain, total (the result shows it)
        self.report = {}
        # told what a switch waits for now, as a sentence (the release shows it in its lock); set by the caller
        self.progress = lambda text: None

    # ------------------------------------------------------------ the host
    @abc.abstractmethod
    def diagnose(self):
        """Why this runtime cannot be used on this host, as an actionable sentence; None if it can."""

    @abc.abstractmethod
    def login(self, registry, username, password):
        """Log in to ``registry`` so that pulls see private images; RuntimeFailure if refused."""

    # ---------------------------------------------------------- the project
    @abc.abstractmethod
    def config(self):
        """The project's resolved configuration as a dict (this validates every file); RuntimeFailure if invalid.

        Keys the transaction reads: ``networks`` (``{key: {"external", "name"}}``) and ``services``.
        """

    @abc.abstractmethod
    def ensure_networks(self, config):
        """Create the external networks ``config`` declares and the host lacks; the list of names created."""

    @abc.abstractmethod
    def start(self, services, timeout):
        """Start ``services`` that do not run, leaving running ones untouched; None once healthy, else why not.

        What ``make start`` does for the project's shared pieces (the gateway the checks go through).
        """

    @abc.abstractmethod
    def health_timeout(self, config, services):
        """Seconds to wait for ``services`` to become healthy, from their own healthchecks in ``config``."""

    # ------------------------------------------------------------ a release
    @abc.abstractmethod
    def pull(self, services, config=None):
        """Fetch the images of ``services`` while everything still runs; RuntimeFailure if one cannot be pulled.

        With the project's ``config``, an image pinned by digest that the engine already has is not fetched
        again (it is that very image). The services whose images were fetched."""

    @abc.abstractmethod
    def switch(self, services, timeout, modes=None, probe=None):
        """Replace the running ``services`` with what the files now say and wait until they are healthy.

        Only those services, never their dependencies. ``modes`` maps a service to ``start-first`` (the new
        container starts beside the old one, which serves until the new one is healthy and passes
        ``probe(svc, address)`` (None or why not; ``address`` is where the new container itself answers),
        then is drained and removed) or ``stop-first`` (the default: the old one stops, then the new one
        starts). Returns None once all are up and healthy within ``timeout`` seconds, else what the runtime
        said (the release then restores the previous ones; a start-first service that failed before its
        old container was drained still runs that old container, untouched).
        """

    @abc.abstractmethod
    def remove(self, services):
        """Stop and remove the containers of ``services`` (new services that ran nothing before); best effort."""

    @abc.abstractmethod
    def restore(self, services, timeout, modes=None):
        """Bring ``services`` back to what the (restored) files say and wait until healthy, as ``switch`` does.

        Returns None on success, else what the runtime said.
        """

    # -------------------------------------------------------------- reading
    @abc.abstractmethod
    def ps(self, services=()):
        """One dict per container of the project (all states), Compose ``ps`` style.

        Keys read: ``Service``, ``ID``, ``Name``, ``Image`` (the configured reference), ``State``
        (``running``, ``exited``, ...), ``Health``, ``Status``. RuntimeFailure if the runtime cannot list them.
        """

    def quick_ps(self):
        """The project's containers as ``ps`` gives them (``Service``, ``ID``, ``Image``, ``State``), read without
        loading the project (no file parsed), or None when this runtime cannot tell them that way.

        Only for the no-op check: a release that finds every target running its pinned image there changes
        nothing; any doubt (None, a service with no or several containers) takes ``ps``.
        """
        return None

    @abc.abstractmethod
    def inspect(self, kind, ids):
        """``({id: object}, problem)`` for containers (``kind`` ``container``) or images (``image``).

        Objects are Docker ``inspect`` style (``Id``, ``Image``, ``Config``, ``State``, ``RepoDigests``);
        ``problem`` is None, or a sentence when some could not be read (the others are still returned).
        """

    @abc.abstractmethod
    def evidence(self, services):
        """What a person needs to see why ``services`` failed (their states, health log, last log lines), as text."""
