"""The local service with a media root: tasks really transcoded with PyAV.

Each presettype goes through ``presetsync serve --media-root`` (a subprocess, over HTTP, with
real signatures): the sample generated here goes in, the output object comes out and is
probed and compared with what the preset asks for. The worker pool itself (a running task
leaves the API free; the pool is bounded), failures with their reasons, restarts and meta
info are tested in process, with ``LocalService(media_root=...)``.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from fractions import Fraction
from pathlib import Path

import pytest

av = pytest.importorskip("av", reason="PyAV is not installed: pip install 'presetsync[media]' to run the media tests")

from presetsync.api.client import OfflineClient  # noqa: E402
from presetsync.api.credentials import Credentials  # noqa: E402
from presetsync.errors import ApiError, ConfigError  # noqa: E402
from presetsync.local.server import LocalService  # noqa: E402
from presetsync.local.store import NOT_YET  # noqa: E402
from presetsync.media.probe import first_stream, hls_segments, probe, stream_fps  # noqa: E402
from presetsync.media.sample import write_sample  # noqa: E402

SAMPLE = {"seconds": 2, "width": 160, "height": 120, "fps": 10}
RED = bytes((255, 0, 0))


def write_logo(path: Path, size: int = 16) -> Path:
    """A red square as a PNG file."""
    frame = av.VideoFrame(size, size, "rgb24")
    plane = frame.planes[0]
    plane.update((RED * size + bytes(plane.line_size - size * 3)) * size)
    context = av.CodecContext.create("png", "w")
    context.width, context.height, context.pix_fmt, context.time_base = size, size, "rgb24", Fraction(1, 25)
    path.write_bytes(b"".join(bytes(p) for p in [*context.encode(frame), *context.encode(None)]))
    return path


@pytest.fixture(scope="module")
def media_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("media")
    (root / "in").mkdir()
    write_sample(root / "in" / "clip.mp4", **SAMPLE)
    write_logo(root / "in" / "logo.png")
    return root


@pytest.fixture(scope="module")
def served(launch_serve, media_root, tmp_path_factory):
    """A client of ``presetsync serve --media-root`` running in another process."""
    process = launch_serve(
        *("--port", "0", "--print-secret", "--task-seconds", "0", "--media-root", str(media_root)),
        cwd=tmp_path_factory.mktemp("serve"),
    )
    assert process.wait_for_line("media root: ")
    key = process.wait_for_line("access key id: ").split(": ")[1]
    secret = process.wait_for_line("secret access key: ").split(": ")[1]
    with OfflineClient(endpoint=process.url, credentials=Credentials(key, secret)) as client:
        yield client
    assert process.stop() == 0


def task_body(preset: str, key: str, source: str = "/in/clip.mp4", **extra) -> dict:
    return {
        "preset": preset,
        "srcInfo": [{"path": source, "type": "video", "index": 0}],
        "dstBucket": "out",
        "dstObjectKey": key,
        **extra,
    }


def wait_task(client: OfflineClient, taskid: str) -> dict:
    """The task's info once the other process finished it (polled; nothing is timed)."""
    deadline = time.monotonic() + 120
    while True:
        info = client.get_task_by_task_id(taskid=taskid)
        if info["taskStatus"] in ("succ", "fail") or time.monotonic() > deadline:
            return info
        time.sleep(0.02)


def run_task(client: OfflineClient, preset: dict, key: str, **extra) -> dict:
    """Create *preset* and a task with it; its info once finished."""
    client.preset(preset)
    return wait_task(client, client.create_task(task_body(preset["preset"], key, **extra)))


def assert_succeeded(info: dict) -> None:
    assert (info["taskStatus"], info["errorCode"], info["errorMsg"]) == ("succ", "0", "")


# --- each presettype through `presetsync serve --media-root` ---------------------------------


def test_avop_writes_the_container_codecs_size_rate_and_audio_the_preset_asks_for(served, media_root):
    preset = {
        "preset": "m_avop",
        "presettype": "avop",
        "param": {
            "f": "mp4",
            "VIDEO": {"vcodec": "h264", "vb": "100k", "vr": 5, "width": 96, "height": 72},
            "AUDIO": {"acodec": "aac", "ab": "32k", "ar": "22050"},
        },
    }
    assert_succeeded(run_task(served, preset, "avop/clip.mp4"))

    meta = probe(media_root / "out" / "avop" / "clip.mp4")
    video, audio = first_stream(meta, "video"), first_stream(meta, "audio")
    assert meta["format"]["format_name"] == "mov,mp4,m4a,3gp,3g2,mj2"
    assert (video["codec_name"], video["width"], video["height"], stream_fps(video)) == ("h264", 96, 72, 5.0)
    assert (audio["codec_name"], audio["sample_rate"]) == ("aac", "22050")
    assert 75_000 <= int(video["bit_rate"]) <= 125_000, "the declared 100 kbit/s, within 25%"


def test_avop_writes_flv_with_h265_and_mp3_and_follows_the_source_ratio(served, media_root):
    preset = {
        "preset": "m_avop_flv",
        "presettype": "avop",
        "param": {"f": "flv", "VIDEO": {"vcodec": "h265", "width": 64}, "AUDIO": {"acodec": "mp3", "ar": 22050}},
    }
    assert_succeeded(run_task(served, preset, "flv/clip.flv"))

    meta = probe(media_root / "out" / "flv" / "clip.flv")
    video, audio = first_stream(meta, "video"), first_stream(meta, "audio")
    assert meta["format"]["format_name"] == "flv"
    assert (video["codec_name"], video["width"], video["height"]) == ("hevc", 64, 48), "4:3 like the source"
    assert (audio["codec_name"], audio["sample_rate"]) == ("mp3", "22050")


def test_avm3u8_writes_a_playlist_and_segments_of_hls_time(served, media_root):
    preset = {
        "preset": "m_hls",
        "presettype": "avm3u8",
        "param": {"hls_time": 1, "VIDEO": {"width": 80, "height": 60}, "AUDIO": {"ab": "32k"}},
    }
    assert_succeeded(run_task(served, preset, "hls/clip.m3u8"))

    playlist = media_root / "out" / "hls" / "clip.m3u8"
    segments = hls_segments(playlist)
    assert [name for name, _ in segments] == ["clip-000.ts", "clip-001.ts"]
    assert [duration for _, duration in segments] == [1.0, 1.0]
    meta = probe(playlist.parent / "clip-000.ts")
    assert meta["format"]["format_name"] == "mpegts"
    assert [(s["codec_name"], s.get("width")) for s in meta["streams"]] == [("h264", 80), ("aac", None)]


def test_avsnapshot_writes_one_image_of_the_asked_size_at_ss(served, media_root):
    preset = {"preset": "m_snap", "presettype": "avsnapshot", "param": {"width": 80, "height": 60}}
    assert_succeeded(run_task(served, preset, "snap/poster.jpg", extParam=json.dumps({"ss": "00:00:01"})))

    meta = probe(media_root / "out" / "snap" / "poster.jpg")
    image = first_stream(meta, "video")
    assert (image["codec_name"], image["width"], image["height"]) == ("mjpeg", 80, 60)


def test_avsample_writes_an_image_per_interval_into_dst_dir(served, media_root):
    preset = {"preset": "m_sample", "presettype": "avsample", "param": {"interval": 1, "shortSide": 60}}
    assert_succeeded(run_task(served, preset, "shots.jpg", dstDir="thumbs"))

    images = sorted((media_root / "out" / "thumbs").iterdir())
    assert [p.name for p in images] == ["shots-00001.jpg", "shots-00002.jpg"], "2 s, one image a second"
    for path in images:
        image = first_stream(probe(path), "video")
        assert (image["codec_name"], image["width"], image["height"]) == ("mjpeg", 80, 60)


def test_avinfo_meta_info_is_the_probe_of_the_source(served, media_root):
    preset = {"preset": "m_info", "presettype": "avinfo", "param": {}}
    info = run_task(served, preset, "info/unused.json")
    assert_succeeded(info)

    item = served.get_task_meta_info(taskid=info["taskid"])[0]
    meta = json.loads(item["meta_info"])
    source = probe(media_root / "in" / "clip.mp4")
    assert meta["format"]["format_name"] == "mov,mp4,m4a,3gp,3g2,mj2"
    assert meta["streams"] == source["streams"]
    assert [(s["codec_name"], s.get("width"), s.get("sample_rate")) for s in meta["streams"]] == [
        ("h264", 160, None),
        ("aac", None, "44100"),
    ]
    assert not (media_root / "out" / "info").exists(), "avinfo writes no object"


def test_avop_chained_with_avlogo_draws_the_logo(served, media_root):
    served.preset(
        {
            "preset": "m_logo",
            "presettype": "avlogo",
            "param": {"IMAGE": [{"logoUrl": "/in/logo.png", "offsetX": 8, "offsetY": 8}]},
        }
    )
    preset = {"preset": "m_logo_base", "presettype": "avop", "param": {"f": "mp4", "AUDIO": {"an": 1}}}
    served.preset(preset)
    taskid = served.create_task(task_body("m_logo_base|m_logo", "logo/clip.mp4"))
    assert_succeeded(wait_task(served, taskid))

    with av.open(str(media_root / "out" / "logo" / "clip.mp4")) as container:
        frame = next(container.decode(video=0)).to_rgb()
    row = bytes(frame.planes[0])[12 * frame.planes[0].line_size :]

    def pixel(x: int) -> tuple[int, ...]:
        return tuple(row[x * 3 : x * 3 + 3])

    red, green, blue = pixel(12)
    assert red > 200 and green < 60 and blue < 60, f"the logo is drawn at (8, 8): {pixel(12)}"
    red, green, blue = pixel(60)
    assert red < 60 and green > 150, f"outside the logo, the source's green bar: {pixel(60)}"


# --- the worker pool, in process ---------------------------------------------------------------


@pytest.fixture
def media_service(service_factory, media_root) -> LocalService:
    return service_factory(media_root=media_root, media_workers=1)


def finished(service: LocalService, client: OfflineClient, taskid: str) -> dict:
    assert service.media is not None and service.media.wait_idle(timeout=120)
    return client.get_task_by_task_id(taskid=taskid)


def open_writer(fifo: Path, timeout: float = 60):
    """The FIFO opened for writing, which succeeds once a reader (the worker) opened it."""
    opened: list = []
    thread = threading.Thread(target=lambda: opened.append(open(fifo, "wb")), daemon=True)  # noqa: SIM115
    thread.start()
    thread.join(timeout)
    if not opened:
        os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))  # releases the thread
        pytest.fail("no worker opened the source")
    return opened[0]


def test_a_running_task_leaves_the_api_free_and_the_pool_is_bounded(media_service, make_client, media_root, tmp_path):
    client = make_client(media_service)
    client.preset({"preset": "p_fifo", "presettype": "avop", "param": {"f": "mp4", "VIDEO": {"width": 80}}})
    fifo = media_root / "in" / f"live-{tmp_path.name}.ts"
    os.mkfifo(fifo)
    data = write_sample(tmp_path / "clip.ts", seconds=1, width=160, height=120, fps=10).read_bytes()
    running = client.create_task(task_body("p_fifo", "fifo/live.mp4", source=f"/in/{fifo.name}"))
    waiting = client.create_task(task_body("p_fifo", "fifo/clip.mp4"))

    with open_writer(fifo) as pipe:  # the worker is now inside the task, reading the source
        status = {t: client.get_task_by_task_id(taskid=t)["taskStatus"] for t in (running, waiting)}
        assert status == {running: "exec", waiting: "init"}, "one worker: the second task waits"
        assert media_service.media.progress(running) == 0.0
        assert client.call("GetPresetDetail", {"preset": "p_fifo"})["errNum"] == 0
        pipe.write(data)

    assert finished(media_service, client, running)["taskStatus"] == "succ"
    assert client.get_task_by_task_id(taskid=waiting)["taskStatus"] == "succ"
    assert first_stream(probe(media_root / "out" / "fifo" / "live.mp4"), "video")["width"] == 80
    assert media_service.media.progress(running) is None


@pytest.mark.parametrize(
    ("param", "source", "code", "reason"),
    [
        ({"f": "mp4"}, "/in/absent.mp4", "3002", "the source /in/absent.mp4 is not in the media root"),
        ({"f": "mp3"}, "/in/clip.mp4", "3003", "container mp3 cannot hold h264 video"),
        ({"f": "gif"}, "/in/clip.mp4", "3003", "param.f 'gif': the local renderer writes"),
        ({"f": "mp4"}, "/in/../../etc/passwd", "3003", "is not an object path /bucket/key"),
        ({"AUDIO": {"acodec": "mp3", "ar": 96000}}, "/in/clip.mp4", "3003", "param.AUDIO.ar 96000: the mp3 encoder"),
    ],
    ids=["missing source", "container cannot hold the codec", "unknown container", "outside the root", "bad rate"],
)
def test_a_task_that_cannot_be_done_fails_with_the_real_reason(
    media_service, make_client, media_root, param, source, code, reason
):
    client = make_client(media_service)
    client.preset({"preset": "p_bad", "presettype": "avop", "param": param})
    taskid = client.create_task(task_body("p_bad", "bad/out.mp4", source=source))

    info = finished(media_service, client, taskid)

    assert (info["taskStatus"], info["errorCode"]) == ("fail", code)
    assert reason in info["errorMsg"]
    assert not (media_root / "out" / "bad").exists() or not any((media_root / "out" / "bad").iterdir())


def test_only_avinfo_tasks_have_meta_info(media_service, make_client):
    client = make_client(media_service)
    client.preset({"preset": "p_plain", "presettype": "avop", "param": {"f": "mp4", "VIDEO": {"width": 32}}})
    taskid = client.create_task(task_body("p_plain", "plain/out.mp4"))
    assert finished(media_service, client, taskid)["taskStatus"] == "succ"

    with pytest.raises(ApiError) as error:
        client.get_task_meta_info(taskid=taskid)
    assert error.value.err_num == 1005
    assert "not an avinfo task" in error.value.err_msg


def test_a_task_cut_short_by_a_stop_runs_again_at_the_next_start(service_factory, make_client, media_root):
    first = service_factory("again.sqlite", media_root=media_root)
    client = make_client(first)
    client.preset({"preset": "p_again", "presettype": "avop", "param": {"f": "mp4", "VIDEO": {"width": 48}}})
    taskid = client.create_task(task_body("p_again", "again/out.mp4"))
    assert finished(first, client, taskid)["taskStatus"] == "succ"
    first.stop()
    output = media_root / "out" / "again" / "out.mp4"
    output.unlink()
    with sqlite3.connect(first.db_path) as db:  # as if the service had died while doing it
        db.execute("UPDATE tasks SET exec_at = 1, done_at = ? WHERE taskid = ?", (NOT_YET, taskid))

    second = service_factory("again.sqlite", media_root=media_root)
    info = finished(second, make_client(second), taskid)

    assert info["taskStatus"] == "succ"
    assert first_stream(probe(output), "video")["width"] == 48


def test_the_media_root_must_be_a_directory(tmp_path):
    with pytest.raises(ConfigError, match="not a directory"):
        LocalService(tmp_path / "db.sqlite", media_root=tmp_path / "absent")
    with pytest.raises(ConfigError, match="at least 1"):
        LocalService(tmp_path / "db.sqlite", media_root=tmp_path, media_workers=0)
