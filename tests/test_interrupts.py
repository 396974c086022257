"""Ctrl-C (issue 13.5): a command stops sending, records what was in flight, and says what is
done, in doubt and not started, and how to resume; running it again resumes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import yaml
from test_tasks_cli import create_presets, outputs, write_manifest

from presetsync.local.faults import Faults


def test_an_interrupted_submit_says_where_it_stands_and_resumes(local_service, tmp_path):
    create_presets(local_service)
    local_service.set_faults(Faults(latency_ms=5))
    (tmp_path / "presetsync.yaml").write_text(f"endpoint: {local_service.url}\ntasks: {{settle_grace: 0}}\n")
    write_manifest(tmp_path / "m.yaml", 300)  # 600 tasks
    creds = local_service.credentials
    env = {**os.environ, "KS_ACCESS_KEY_ID": creds.access_key_id, "KS_SECRET_ACCESS_KEY": creds.secret_access_key}
    command = [sys.executable, "-m", "presetsync", "tasks", "submit", "m.yaml", "--parallelism", "2"]
    proc = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in proc.stderr:  # plain progress lines: about one per twentieth of the tasks
        if line.startswith("progress:"):
            proc.send_signal(signal.SIGINT)
            break
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, out + err
    last = out.splitlines()[-1]
    assert last.startswith("Interrupted: ") and "Run the same command again to resume" in last, out
    submitted = int(last.split()[1])
    assert 0 < submitted < 600
    assert f"{submitted} submitted, 0 in doubt, 0 failed, {600 - submitted} not started." in last
    assert "Traceback" not in err

    local_service.set_faults(Faults())
    rerun = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert set(outputs(local_service.client()).values()) == {1} and len(outputs(local_service.client())) == 600


def test_an_interrupted_apply_says_where_it_stands_and_the_same_apply_finishes(local_service, tmp_path):
    local_service.set_faults(Faults(latency_ms=10))
    (tmp_path / "presetsync.yaml").write_text(f"endpoint: {local_service.url}\npresets: [p.yaml]\n")
    presets = [{"preset": f"web_{n:03d}", "presettype": "avop", "param": {"f": "mp4"}} for n in range(150)]
    (tmp_path / "p.yaml").write_text(yaml.safe_dump({"presets": presets}))
    creds = local_service.credentials
    env = {**os.environ, "KS_ACCESS_KEY_ID": creds.access_key_id, "KS_SECRET_ACCESS_KEY": creds.secret_access_key}
    command = [sys.executable, "-m", "presetsync", "apply", "--auto-approve", "--parallelism", "2"]
    proc = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in proc.stdout:
        if line.startswith("  created "):
            proc.send_signal(signal.SIGINT)
            break
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, out + err
    last = out.splitlines()[-1]
    assert last.startswith("Interrupted: ") and "Run the same apply again to finish" in last, out
    done = int(last.split()[1])
    assert 0 < done < 150 and f"{done} done, 0 failed, {150 - done} not started." in last
    assert len(local_service.client().get_preset_list()) == done, "what was reported done is done"
    assert "Traceback" not in err

    local_service.set_faults(Faults())
    rerun = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert f"Apply: {150 - done} done" in rerun.stdout
