"""The private-server helpers themselves: start, kill -9, freeze/thaw and restart on the same port."""

from __future__ import annotations

import socket

import psycopg
import pytest

from tests.support.servers import NatsServer, PostgresCluster, RedisServer


def _redis_ping(port: int, password: str | None = None, timeout: float = 2.0) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        if password:
            sock.sendall(f"AUTH {password}\r\n".encode())
            assert sock.recv(64).startswith(b"+OK")
        sock.sendall(b"PING\r\n")
        return sock.recv(64)


def test_redis_kill_freeze_restart() -> None:
    with RedisServer.running() as redis:
        assert redis.port != 6379
        assert _redis_ping(redis.port) == b"+PONG\r\n"
        redis.freeze()
        with pytest.raises(TimeoutError):
            _redis_ping(redis.port, timeout=0.3)
        redis.thaw()
        assert _redis_ping(redis.port) == b"+PONG\r\n"
        redis.kill()
        assert not redis.alive
        with pytest.raises(ConnectionRefusedError):
            _redis_ping(redis.port)
        redis.start()
        assert _redis_ping(redis.port) == b"+PONG\r\n"


def test_redis_with_password() -> None:
    server = RedisServer(password="s3cret")
    try:
        server.start()
        assert server.url.startswith("redis://:s3cret@")
        assert _redis_ping(server.port, "s3cret") == b"+PONG\r\n"
    finally:
        server.cleanup()


def test_nats_restart_keeps_port() -> None:
    with NatsServer.running() as nats:
        port = nats.port
        nats.kill()
        assert not nats.alive
        nats.start()
        assert nats.port == port and nats.is_ready()


def test_postgres_cluster_restart_keeps_data() -> None:
    with PostgresCluster.running() as pg:
        assert pg.port != 5432
        with psycopg.connect(pg.url, autocommit=True) as conn:
            conn.execute("CREATE TABLE t (x int)")
            conn.execute("INSERT INTO t VALUES (1)")
        pg.restart()
        with psycopg.connect(pg.url) as conn:
            assert conn.execute("SELECT x FROM t").fetchall() == [(1,)]
        pg.kill()
        pg.start()  # crash recovery replays the WAL
        with psycopg.connect(pg.url) as conn:
            assert conn.execute("SELECT x FROM t").fetchall() == [(1,)]
