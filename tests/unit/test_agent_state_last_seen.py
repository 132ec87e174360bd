"""The agent's database from before ``last_seen`` opens, gains the column, and keeps its jobs."""
import sqlite3

from gpurent.agent.state import AgentState


def test_an_agent_database_from_before_last_seen_gains_the_column(tmp_path):
    path = tmp_path / "agent.db"
    old = sqlite3.connect(path)
    old.executescript("""CREATE TABLE jobs (job_id TEXT PRIMARY KEY, resource_id TEXT NOT NULL, renter TEXT NOT NULL,
        image_cid TEXT NOT NULL, duration_s INTEGER NOT NULL, priority REAL NOT NULL, created_block INTEGER NOT NULL,
        phase TEXT NOT NULL, slot TEXT, image_id TEXT, container_id TEXT, bytes_done INTEGER NOT NULL DEFAULT 0,
        bytes_total INTEGER, exit_code INTEGER, capped INTEGER NOT NULL DEFAULT 0, error TEXT, chain_start INTEGER,
        updated_at REAL NOT NULL);
        INSERT INTO jobs (job_id, resource_id, renter, image_cid, duration_s, priority, created_block, phase,
        updated_at) VALUES ('0xab', '0x01', '0xre', 'bafy', 60, 1.0, 7, 'running', 0);""")
    old.commit()
    old.close()
    state = AgentState(path)
    assert state.job("0xab").last_seen is None
    state.seen("0xab", 1234)
    assert state.job("0xab").last_seen == 1234 and state.job("0xab").phase == "running"
    state.close()
    assert AgentState(path).job("0xab").last_seen == 1234  # opening it again adds nothing twice
