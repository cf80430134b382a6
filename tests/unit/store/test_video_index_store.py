"""Migration 0005_twelvelabs and the video-index queries, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa

from medialens.store import jobs
from medialens.store import video_index as vs
from medialens.store.db import Database
from medialens.store.migrate import current_revisions, downgrade, upgrade
from medialens.store.tables import JobState

TABLES = {"api_keys", "video_indexes", "indexed_videos", "classify_pages"}


def test_migration_up_down_up(blank_db: Database) -> None:
    upgrade(blank_db.engine, "0002")
    assert not TABLES & set(sa.inspect(blank_db.engine).get_table_names())
    upgrade(blank_db.engine, "0005_twelvelabs")
    assert "0005_twelvelabs" in current_revisions(blank_db.engine)
    assert set(sa.inspect(blank_db.engine).get_table_names()) >= TABLES
    key, _ = vs.create_api_key(blank_db)
    assert vs.api_key_owner(blank_db, key)
    downgrade(blank_db.engine, "0002")
    assert not TABLES & set(sa.inspect(blank_db.engine).get_table_names())
    upgrade(blank_db.engine)
    assert set(sa.inspect(blank_db.engine).get_table_names()) >= TABLES


def test_keys_indexes_videos_and_counts(db: Database) -> None:
    key, row = vs.create_api_key(db)
    owner = vs.api_key_owner(db, key)
    assert owner == row.app_id and vs.api_key_owner(db, key + "x") is None
    index = vs.create_index(db, owner, "one", [{"engine_name": "m", "engine_options": ["visual"]}], None)
    assert vs.index_name_taken(db, owner, "one") and not vs.index_name_taken(db, owner, "one", but=index.id)
    _, (job_id,) = jobs.create_jobs(db, owner, [jobs.NewJob("video_index", {})])
    video = vs.IndexedVideo(
        id=vs.new_id(),
        video_id=vs.new_id(),
        index_id=index.id,
        app_id=owner,
        filename="a.mp4",
        source_url="",
        title="",
        info={"duration": 2.5},
        user_metadata={},
    )
    vs.add_video(db, video)
    vs.set_video_job(db, video.id, job_id)
    assert vs.count_by_state(db, owner, index.id) == {JobState.INITIALIZING: 1}
    assert vs.index_stats(db, [index.id])[index.id].video_count == 0
    jobs.claim_job(db, job_id, "w", 30)
    jobs.finish_job(db, job_id, "w", state=JobState.COMPLETED, message="ok", result={"duration": 2.5})
    assert vs.index_stats(db, [index.id])[index.id] == vs.IndexStats(1, 2.5)
    assert [v.video_id for v, _j in vs.list_video_rows(db, owner, index.id)] == [video.video_id]
    assert vs.get_video_row(db, "someone-else", video.video_id) is None
    assert vs.delete_api_key(db, row.prefix)
    assert vs.api_key_owner(db, key) is None and vs.get_index(db, owner, index.id) is None  # cascaded
