"""/webhooks/<instance>: verified pushes are committed to the inbox before the answer,
retries are one row, rejected pushes store nothing, and processing is enqueued."""

from sqlalchemy import func, select

from hub.pipeline.inline import run_inline
from hub.queue import get_queue
from hub.store.models import Contact, InboxRow
from hub.web import create_app


def post(client, push, instance="crm_a"):
    return client.post(f"/webhooks/{instance}", data=push.body, headers=push.headers)


def test_a_signed_push_is_stored_once_and_processed(make_hub, redis_conn):
    hub = make_hub()
    client = create_app(hub.runtime).test_client()
    config = hub.runtime.config.connectors["crm_a"].config
    push = hub.a.signed_push(config)
    first = post(client, push)
    assert first.status_code == 200 and first.json == {"ok": True}
    retried = post(client, push)  # the sender retries the same event
    assert retried.status_code == 200
    with hub.runtime.db.session() as s:
        rows = list(s.scalars(select(InboxRow)))
    assert len(rows) == 1 and rows[0].status == "pending"
    assert get_queue(redis_conn).count == 1  # processing was enqueued after the commit
    run_inline(hub.runtime, inbox_ids=[rows[0].id])
    with hub.runtime.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Contact)) == 1


def test_rejected_pushes_store_nothing(make_hub):
    hub = make_hub()
    client = create_app(hub.runtime).test_client()
    config = hub.runtime.config.connectors["crm_a"].config
    push = hub.a.signed_push({**config, "webhook_secret": "not-the-secret"})
    resp = post(client, push)
    assert resp.status_code == 401 and "Signature" in resp.get_data(as_text=True)
    assert post(client, push, instance="nope").status_code == 404
    with hub.runtime.db.session() as s:
        assert s.scalar(select(func.count()).select_from(InboxRow)) == 0


def test_push_is_answered_even_when_redis_is_down(make_hub):
    """The inbox commit is what matters; the reconciler enqueues later."""
    hub = make_hub()
    hub.runtime.__dict__["redis"] = __import__("redis").Redis.from_url("redis://127.0.0.1:1/0")
    client = create_app(hub.runtime).test_client()
    push = hub.a.signed_push(hub.runtime.config.connectors["crm_a"].config)
    assert post(client, push).status_code == 200
    with hub.runtime.db.session() as s:
        assert s.scalar(select(func.count()).select_from(InboxRow)) == 1
