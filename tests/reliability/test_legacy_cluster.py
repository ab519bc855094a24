"""Legacy pickled sessions on a Redis Cluster: found across masters, migrated, cleaned up."""

from __future__ import annotations

import uuid

import redis.cluster

from langgraph_redis_saver import RedisCheckpointSaver
from langgraph_redis_saver.legacy import find_legacy_sessions, migrate_pickle_sessions
from support.legacy_store import write_legacy_session
from support.servers import ClusterServers


def test_cluster_migrates_legacy_sessions_from_every_master(cluster: ClusterServers) -> None:
    prefix = f"cl-legacy-{uuid.uuid4().hex[:8]}:checkpoint"
    admin = redis.cluster.RedisCluster.from_url(cluster.url)
    sessions = [f"cli_{i}" for i in range(12)]  # spread over the three masters
    for session in sessions:
        write_legacy_session(admin, session, prefix=prefix, ttl=3600)
    with RedisCheckpointSaver.from_url(cluster.url, key_prefix=prefix) as saver:
        assert [s.session_id for s in find_legacy_sessions(admin, saver.keys)] == sorted(sessions)
        report = migrate_pickle_sessions(saver)
        assert report.counts["migrated"] == 12, report
        found = saver.get_tuple({"configurable": {"thread_id": "cli_3"}})
        assert found is not None and found.checkpoint["channel_values"]["turn_count"] == 2
        assert 0 < admin.ttl(saver.keys.namespace("cli_3", "").latest) <= 3600
        assert find_legacy_sessions(admin, saver.keys) == []
        assert not admin.exists(f"{prefix}:cli_3:checkpoint_id_0")
        saver.clear_all()
    admin.close()
