"""``Runtime``'s cached attributes under threads that reach them first at the same time."""

import threading

from hub.runtime import lazy


def test_threads_racing_on_first_access_all_get_the_first_stored_value():
    # Both threads compute (the barrier holds each inside the function until the other is
    # there too); whichever stores first wins and the other must be handed that same object.
    # Handing out the loser broke CI: a dropped ``redis.Redis`` from ``from_url`` closes its
    # pool when collected, under the thread still using it ("I/O operation on closed file").
    barrier = threading.Barrier(2)
    built: list[object] = []

    class Holder:
        @lazy
        def client(self):
            value = object()
            built.append(value)
            barrier.wait(timeout=10)
            return value

    holder = Holder()
    got: list[object] = []
    threads = [threading.Thread(target=lambda: got.append(holder.client)) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(built) == 2  # the race happened
    assert got[0] is got[1] is holder.client
    assert holder.client in built


def test_a_computed_value_is_cached_on_the_instance():
    calls = []

    class Holder:
        @lazy
        def value(self):
            calls.append(1)
            return len(calls)

    holder = Holder()
    assert (holder.value, holder.value, Holder().value) == (1, 1, 2)
