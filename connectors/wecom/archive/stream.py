"""The ``chat_messages`` stream: seq-cursor reads of the chat archive.

For each page of ``GetChatData(seq, limit)``: RSA-decrypt each item's
``encrypt_random_key`` with the private key for its ``publickey_ver`` (:mod:`.keys`), open
the body with the backend's ``DecryptData``, turn it into a record (:mod:`.messages`).

An item that cannot be decrypted (no key for its version, a wrong key, a damaged body)
stops the read: the batch holds only the messages *before* the first such item and the
cursor (``{"seq": n}``) stays just before it, so nothing is skipped; then the read fails with
a :class:`~hub.connector.PermanentError` listing every undecryptable item of the page (seq,
msgid, publickey_ver, reason) — the pull run shows it and the next pull retries from there
once the key is configured. The list is also kept in durable state under
``archive:undecryptable``. Keys are never logged.

``msg_audit_approved`` callbacks (a customer agreed to be archived) need no data of their
own: they are acknowledged and the next pull reads what the archive then holds.
"""

from __future__ import annotations

from typing import Any, Iterator

from hub.connector import ConnectorError, PermanentError, ReadBatch, Record, Stream

from connectors.wecom.archive.backends import backend_for
from connectors.wecom.archive.keys import KeyError_, KeyRing, UndecryptableError
from connectors.wecom.archive.messages import message_record
from connectors.wecom.members import MemberDirectory


class ChatMessagesStream(Stream):
    name = "chat_messages"
    primary_key = "msgid"
    description = "会话内容存档: archived chats with customers (finance SDK, RSA keys by publickey_ver), seq cursor"

    def read(self, cursor: Any) -> Iterator[ReadBatch]:
        connector = self.connector
        config = connector.config
        try:
            ring = KeyRing(config.get("archive_private_keys"))
        except KeyError_ as exc:
            raise PermanentError(str(exc)) from None
        seq = int((cursor or {}).get("seq") or 0)
        limit = int(config.get("archive_page_size") or 1000)
        backend = backend_for(connector)  # type: ignore[arg-type]
        directory = MemberDirectory(connector)  # type: ignore[arg-type]
        names: dict[str, str | None] = {}

        def group_name(roomid: str) -> str | None:
            if roomid not in names:
                try:
                    chat = connector.client.post("externalcontact/groupchat/get", {"chat_id": roomid}).get("group_chat") or {}  # type: ignore[attr-defined]
                    names[roomid] = chat.get("name") or None
                except ConnectorError:
                    names[roomid] = None  # an internal group or no permission: no name
            return names[roomid]

        try:
            yielded = False
            while True:
                items = backend.get_chat_data(seq, limit)
                records: list[Record] = []
                bad: list[dict[str, Any]] = []
                good_seq = seq
                for item in items:
                    item_seq = int(item.get("seq") or 0)
                    version = int(item.get("publickey_ver") or 0)
                    try:
                        random_key = ring.random_key(version, item.get("encrypt_random_key") or "")
                        try:
                            message = backend.decrypt_data(random_key, item.get("encrypt_chat_msg") or "")
                        except UndecryptableError as exc:
                            # RSA PKCS#1 v1.5 decryption with a wrong key does not always fail
                            # (implicit rejection returns random bytes): the body tells.
                            raise UndecryptableError(f"the body does not open with the key from publickey_ver {version}'s "
                                                     f"private key — wrong key for that version, or a damaged item ({exc.reason})") from None
                    except UndecryptableError as exc:
                        bad.append({"seq": item_seq, "msgid": item.get("msgid"), "publickey_ver": item.get("publickey_ver"), "reason": exc.reason})
                        continue
                    if bad:
                        continue  # after an undecryptable item: re-read next time, never skip it
                    good_seq = max(good_seq, item_seq)
                    record = message_record(message, item_seq, directory, group_name)
                    if record is not None:
                        records.append(record)
                if records or good_seq != seq or not yielded:
                    yield ReadBatch(records=records, cursor={"seq": good_seq})
                    yielded = True
                if bad:
                    connector.state.set("archive:undecryptable", bad[:100])
                    listed = "; ".join(f"seq {b['seq']} msgid {b['msgid']} (publickey_ver {b['publickey_ver']}): {b['reason']}" for b in bad[:10])
                    more = f" and {len(bad) - 10} more" if len(bad) > 10 else ""
                    raise PermanentError(f"chat archive: {len(bad)} message(s) cannot be decrypted; the cursor stays at seq {good_seq}: {listed}{more}")
                if connector.state.get("archive:undecryptable"):
                    connector.state.set("archive:undecryptable", None)
                if not items or len(items) < limit:
                    return
                seq = good_seq
        finally:
            close = getattr(backend, "close", None)
            if close:
                close()
