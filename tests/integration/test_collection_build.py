"""The collection builds, installs with ansible-galaxy, and its playbooks run as aegee.deploy.<name>."""

from __future__ import annotations

import os
import tarfile

from conftest import REPO_ROOT, ansible_env, run


def test_build_install_and_run_installed_playbook(testbed, tmp_path):
    out = tmp_path / "build"
    run(["ansible-galaxy", "collection", "build", "--force", "--output-path", str(out)])
    (tarball,) = list(out.iterdir())
    assert tarball.name == "aegee-deploy-0.1.0.tar.gz"
    with tarfile.open(tarball) as tar:
        names = tar.getnames()
    assert "plugins/modules/compose_release.py" in names and "playbooks/deploy.yml" in names
    assert "roles/deploy/meta/argument_specs.yml" in names
    # tests, the testbed and CI stay out of the artifact
    assert not any(n.startswith(("tests/", "testbed/", ".ci/", "molecule/", "inventories/testbed")) for n in names)

    installed = tmp_path / "collections"
    # only the installed copy (and the venv's community.docker) can resolve aegee.deploy
    env = ansible_env(ANSIBLE_COLLECTIONS_PATH=str(installed))
    run(["ansible-galaxy", "collection", "install", "--offline", "--force", "-p", str(installed), str(tarball)],
        env=env)
    assert (installed / "ansible_collections" / "aegee" / "deploy" / "MANIFEST.json").exists()
    proc = run(
        ["ansible-playbook", "-i", os.path.join(REPO_ROOT, "inventories", "testbed", "hosts.yml"),
         "aegee.deploy.deploy", "-l", "staging", "-e", "service=core", "-e", "version=1.5.0", "--check"],
        env=env,
    )
    assert "Run compose_release (deploy)" in proc.stdout
    assert "failed=0" in proc.stdout
    doc = run(["ansible-doc", "-t", "module", "aegee.deploy.compose_release"], env=env).stdout
    assert str(installed) in doc
