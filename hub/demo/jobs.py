"""Tiny jobs the demo uses to prove a worker process is consuming the queue."""

import os


def ping(tag: str) -> str:
    return f"pong from worker pid {os.getpid()} ({tag})"
