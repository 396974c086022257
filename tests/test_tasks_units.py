"""The small parts of `presetsync tasks`: progress display, meta summaries, date windows,
polling backoff with a manual clock, and the journal's paging and lock."""

from __future__ import annotations

import io
import json
from datetime import date, datetime, timezone

import pytest
from test_tasks_cli import create_presets, write_manifest

from presetsync.api.operations import GET_TASK_META_INFO
from presetsync.errors import RefusedError
from presetsync.tasks.journal import BATCH, Journal
from presetsync.tasks.listing import covering_days, windows
from presetsync.tasks.manifest import TaskSpec, load_manifest
from presetsync.tasks.meta import meta_items, summarise
from presetsync.tasks.progress import Progress
from presetsync.tasks.status import Backoff, wait
from presetsync.tasks.submit import Submitter

# The GetTaskMetaInfo example of the SDK's usage document (offline-api-examples.md).
DOC_META = (
    '{"metadata":{},"streams":[{"codec_name":"h264","codec_long_name":"H.264 / AVC / MPEG-4 AVC / MPEG-4 part 10",'
    '"profile":"Baseline","codec_type":"video","codec_time_base":"1/360000","codec_tag_string":"[27][0][0][0]",'
    '"codec_tag":"0x001b","r_frame_rate":"24/1","avg_frame_rate":"0/0","time_base":"1/90000","start_pts":54540,'
    '"start_time":"0.606000","width":368,"height":640,"coded_width":368,"coded_height":640,'
    '"sample_aspect_ratio":"0:1","display_aspect_ratio":"0:1","pix_fmt":"yuv420p","level":31,'
    '"chroma_location":"left","refs":1,"is_avc":"false","nal_length_size":"0","bits_per_raw_sample":"8"},'
    '{"index":1,"codec_name":"aac","codec_long_name":"AAC (Advanced Audio Coding)","profile":"LC",'
    '"codec_type":"audio","codec_time_base":"1/48000","codec_tag_string":"[15][0][0][0]","codec_tag":"0x000f",'
    '"r_frame_rate":"0/0","avg_frame_rate":"0/0","time_base":"1/90000","start_time":"0.000000",'
    '"bit_rate":"95625","sample_fmt":"fltp","sample_rate":"48000","channels":1,"channel_layout":"mono"}],'
    '"format":{"nb_streams":2,"nb_programs":1,"format_name":"hls,applehttp",'
    '"format_long_name":"Apple HTTP Live Streaming","duration":"1286.497998","size":"17711","bit_rate":"110",'
    '"probe_score":100}}'
)


def listed(answer):
    """The items of a GetTaskMetaInfo answer, as the client's get_task_meta_info returns them."""
    return GET_TASK_META_INFO.result.extract("GetTaskMetaInfo", answer)


def test_meta_of_the_documented_example_is_summarised():
    answer = {"metaInfo": [{"taskid": "c3697fdd9c4c1240c0e5f29b7a63cba820160929", "meta_info": DOC_META}]}
    [(taskid, meta)] = meta_items(listed(answer))
    assert taskid == "c3697fdd9c4c1240c0e5f29b7a63cba820160929"
    assert summarise(meta) == [
        "format: Apple HTTP Live Streaming (hls,applehttp), 0:21:26.5, 17.7 kB, 110 bit/s, 2 streams",
        "stream 0: video h264 (Baseline), 368x640, 24 fps, yuv420p",
        "stream 1: audio aac (LC), 48000 Hz, mono, 96 kbit/s",
    ]


def test_meta_list_spellings_of_the_java_sdk_and_later_api_are_accepted():
    for key, item_key in (("metaList", "metaInfo"), ("MetaList", "MetaInfo")):
        [(_, meta)] = meta_items(listed({key: [{"taskid": "t", item_key: DOC_META}]}))
        assert meta["format"]["nb_streams"] == 2
    assert summarise({}) == ["format: unknown format, 0 streams"]


def test_meta_that_is_not_json_is_a_service_error():
    from presetsync.errors import ServiceError

    with pytest.raises(ServiceError, match="is not JSON"):
        list(meta_items(listed({"metaInfo": [{"taskid": "t", "meta_info": "{oops"}]})))


def test_plain_progress_prints_about_twenty_lines_whatever_the_size():
    for total in (7, 40, 1000):
        out = io.StringIO()
        progress = Progress(total, stream=out, tty=False)
        progress.add("already", total // 4)
        for _ in range(total - total // 4 - 1):
            progress.add("submitted")
        progress.add("failed")
        progress.finish()
        lines = out.getvalue().splitlines()
        assert 1 <= len(lines) <= 21
        assert lines[-1] == (
            f"progress: {total}/{total} done ({total - total // 4 - 1} submitted, {total // 4} already submitted, "
            "1 failed)"
        )


def test_progress_on_a_terminal_is_a_bar_redrawn_in_place():
    pytest.importorskip("rich")  # the bar is drawn with rich (tests/test_terminal.py: through a real terminal)
    out = io.StringIO()
    now = [0.0]
    progress = Progress(4, stream=out, tty=True, clock=lambda: now[0])
    progress.add("submitted")  # drawn: the first draw
    progress.add("submitted")  # not drawn: too soon
    now[0] = 1.0
    progress.add("doubt")
    progress.note("settling 1 task(s)")
    progress.resolve(found=1, resent=0)
    progress.add("submitted")
    progress.finish()
    text = out.getvalue()
    assert text.count("1/4  1 submitted") == 1, "the second add came too soon to be drawn"
    assert "2/4  2 submitted, 1 in doubt  2/s" in text
    assert "\r\x1b[2Ksettling 1 task(s)\n" in text, "a note erases the bar, then the bar is drawn below it"
    assert text.endswith("4/4  4 submitted  4/s\n\x1b[?25h"), "the last state, the line ended, the cursor shown"
    assert "progress:" not in text


def test_disabled_progress_writes_nothing():
    out = io.StringIO()
    progress = Progress(3, stream=out, enabled=False)
    progress.add("submitted", 3)
    progress.note("x")
    progress.finish()
    assert out.getvalue() == ""


def test_date_windows_cover_a_range_in_30_day_pieces():
    assert list(windows(date(2026, 1, 1), date(2026, 3, 15))) == [
        (20260101, 20260130),
        (20260131, 20260301),
        (20260302, 20260315),
    ]
    assert list(windows(date(2026, 5, 5), date(2026, 5, 5))) == [(20260505, 20260505)]
    assert list(windows(date(2026, 5, 6), date(2026, 5, 5))) == []


def test_creation_days_are_widened_for_any_time_zone():
    late = datetime(2026, 11, 1, 23, 30, tzinfo=timezone.utc).timestamp()
    assert covering_days(late, late) == (date(2026, 10, 31), date(2026, 11, 2))


def test_wait_polls_with_capped_exponential_backoff(service_factory, manual_clock, make_client, tmp_path):
    service = service_factory(clock=manual_clock, task_durations=(10, 20))
    create_presets(service)
    client = make_client(service, clock=manual_clock)
    write_manifest(tmp_path / "m.yaml", 2)
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        manual_clock.advance(seconds)

    lines: list[str] = []
    with Journal(tmp_path / "j.sqlite") as journal:
        journal.add_scope(load_manifest(tmp_path / "m.yaml").tasks(), persist=True)
        assert Submitter(client, journal).run().ok
        result = wait(
            client,
            journal,
            timeout=None,
            backoff=Backoff(first=1, factor=2, cap=8),
            report=lines.append,
            clock=lambda: manual_clock().timestamp(),
            sleep=sleep,
        )
    assert slept == [1, 2, 4, 8, 8, 8], "done 30 s after creation: 31 s of sleep"
    assert result.all_succeeded and result.polls == 7 and not result.timed_out
    assert lines[3] == "waiting: 4 tasks: 4 init" and lines[4] == "waiting: 4 tasks: 4 exec"  # at 7 s, 15 s
    assert lines[-1] == "waiting: 4 tasks: 4 succ"


def test_wait_gives_up_at_its_timeout(service_factory, manual_clock, make_client, tmp_path):
    service = service_factory(clock=manual_clock, task_durations=(10, 20))
    create_presets(service)
    client = make_client(service, clock=manual_clock)
    write_manifest(tmp_path / "m.yaml", 1)
    slept: list[float] = []
    with Journal(tmp_path / "j.sqlite") as journal:
        journal.add_scope(load_manifest(tmp_path / "m.yaml").tasks(), persist=True)
        Submitter(client, journal).run()
        result = wait(
            client,
            journal,
            timeout=5,
            clock=lambda: manual_clock().timestamp(),
            sleep=lambda s: (slept.append(s), manual_clock.advance(s)),
        )
    assert result.timed_out and result.running == 2
    assert slept == [1, 1.5, 2.25, 0.25], "the last sleep stops at the deadline"


def test_journal_pages_through_more_than_a_batch_in_order(tmp_path):
    specs = [
        TaskSpec(f"{i:064x}", {"preset": "p", "dstBucket": "b", "dstObjectKey": f"k{i}"}, f"m:{i}")
        for i in range(BATCH + 7)
    ]
    with Journal(tmp_path / "j.sqlite") as journal:
        assert journal.add_scope(iter(specs), persist=True) == BATCH + 7
        assert [e.id for e in journal.scope_entries()] == [s.id for s in specs]
        assert journal.scope_states() == {"planned": BATCH + 7}
        assert sum(1 for _ in journal.entries(["planned"])) == BATCH + 7
        journal.claim(specs[3].id, 1.0)
        journal.mark_submitted(specs[3].id, "t" * 40, 2.0)
        [submitted] = journal.scope_entries(["submitted"])
        assert submitted.taskid == "t" * 40 and json.loads(submitted.body_json)["dstObjectKey"] == "k3"


def test_a_dry_run_journal_is_never_written(tmp_path):
    state = tmp_path / "state"
    with Journal.open(state, "target", readonly=True) as journal:
        journal.add_scope([TaskSpec("a" * 64, {"preset": "p"}, "m:1")], persist=True)
        assert journal.scope_states() == {"new": 1}
    assert not state.exists()
    with Journal.open(state, "target") as journal:
        journal.add_scope([TaskSpec("a" * 64, {"preset": "p"}, "m:1")], persist=True)
    with Journal.open(state, "target", readonly=True) as journal:
        journal.add_scope([TaskSpec("a" * 64, {"preset": "p"}, "m:1")], persist=True)
        assert journal.scope_states() == {"planned": 1}
        with pytest.raises(Exception, match="readonly"):
            journal.claim("a" * 64, 1.0)


def test_one_process_at_a_time_holds_a_journal(tmp_path):
    with Journal(tmp_path / "j.sqlite") as first, Journal(tmp_path / "j.sqlite") as second:
        first.lock()
        with pytest.raises(RefusedError, match=r"in use by process \d+"):
            second.lock()
        first.unlock()
        second.lock()


def test_batch_claims_and_answers_write_what_one_task_at_a_time_writes(tmp_path):
    specs = [TaskSpec(f"{i:064x}", {"preset": "p", "dstBucket": "b", "dstObjectKey": f"k{i}"}, "m:1") for i in range(6)]
    ids = [s.id for s in specs]
    answers = [(task_id, f"t{n}", 3.0 + n) for n, task_id in enumerate(ids[:4])]
    with Journal(tmp_path / "one.sqlite") as one, Journal(tmp_path / "many.sqlite") as many:
        for journal in (one, many):
            journal.add_scope(iter(specs), persist=True, now=1.0)
            journal.claim(ids[5], 1.5)  # claimed already: not claimed again
        assert [one.claim(task_id, 2.0) for task_id in ids] == [True] * 5 + [False]
        assert many.claim_many(reversed(ids), 2.0) == set(ids[:5])
        assert many.claim_many(ids, 2.5) == set(), "sending tasks are not claimed twice"
        for task_id, taskid, at in answers:
            one.mark_submitted(task_id, taskid, at)
        many.record_submitted_many(answers)

        # every column but the owner (each journal is its own submitter), and every history line
        rows = [j.db.rows("SELECT *, owner IS NULL FROM tasks ORDER BY id") for j in (one, many)]
        assert [row[:-2] + row[-1:] for row in rows[0]] == [row[:-2] + row[-1:] for row in rows[1]]
        assert [row[-1] for row in rows[1]] == [1, 1, 1, 1, 0, 0]
        assert [one.history(i) for i in ids] == [many.history(i) for i in ids]
        assert many.history(ids[0]) == [
            (1.0, "planned", None, None),
            (2.0, "sending", None, None),
            (3.0, "submitted", "t0", None),
        ]
        assert many.states_of(ids) == dict(zip(ids, ["submitted"] * 4 + ["sending"] * 2))
