"""compose_release's payload is built once, then taken from the kept copy by the next ansible-playbook runs."""

from __future__ import annotations

from conftest import ansible_env, playbook

FQN = "ansible_collections.aegee.deploy.plugins.modules.compose_release"


def test_second_run_sends_the_kept_payload(testbed, tmp_path):
    local = tmp_path / "local"  # Ansible's local_tmp: the kept copies go next to its per-run directories
    local.mkdir(mode=0o700)
    args = ("-l", "staging", "-e", "service=core", "--check")

    first = playbook("deploy.yml", *args, env=ansible_env(ANSIBLE_LOCAL_TEMP=str(local), ANSIBLE_DEBUG="1"))
    lines = first.stdout.splitlines()
    assert any("ANSIBALLZ: Lock acquired" in ln and FQN in ln for ln in lines)  # built by Ansible
    assert not any("ANSIBALLZ: using cached module" in ln and FQN in ln for ln in lines)
    (key,) = list((local / "aegee-ansiballz").iterdir())
    kept = [p.name for p in key.iterdir()]
    assert kept and all(name.startswith(FQN + "-") for name in kept)
    assert (local / "aegee-ansiballz").stat().st_mode & 0o077 == 0

    second = playbook("deploy.yml", *args, env=ansible_env(ANSIBLE_LOCAL_TEMP=str(local), ANSIBLE_DEBUG="1"))
    built = [ln for ln in second.stdout.splitlines() if "ANSIBALLZ: Lock acquired" in ln and FQN in ln]
    assert built == []
    assert any("ANSIBALLZ: using cached module" in ln and FQN in ln for ln in second.stdout.splitlines())
    assert "failed=0" in second.stdout and "Run compose_release" in second.stdout
