"""An optional connector capability: hand a departed member's customers to other members.

The departure hand-over (``on: {member: left}`` with ``transfer_customers:``, see
docs/automations.md) is core; what a member, a customer relation, a manager or a transfer
*is* belongs to the connector. A connector that can hand customers over sets
``Connector.handover`` to a subclass of :class:`HandOver`; the hub builds it with a live
connector object and asks it, always outside any database transaction:

* which of the hub's links are relations of a member (:meth:`relation`, for the links of
  :attr:`relation_streams` whose native id contains the member id);
* the member's managers (:meth:`managers`) and a department's members
  (:meth:`department_members`), to choose who takes over;
* the payload of one transfer of at most :attr:`batch_size` customers to :attr:`sink`
  (:meth:`payload`) — written through the outbox like any write;
* per customer, how a delivered transfer stands now (:meth:`statuses`).

The departure itself is signalled by any inbound mapping: an event whose ``data`` has
``departed_member`` (and optionally ``member_instance``, default the record's instance) —
see :mod:`hub.automations.departure`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from hub.connector.base import Connector

#: Per-customer states of a transfer, as :meth:`HandOver.statuses` reports them.
WAITING, DONE, REFUSED, LIMIT, FAILED = "waiting", "done", "refused", "limit", "failed"
FINAL = frozenset({DONE, REFUSED, LIMIT, FAILED})


class HandOver:
    """Override what the remote offers; the defaults find nobody and transfer nothing."""

    #: The sink that performs a transfer (its payload is :meth:`payload`'s).
    sink: ClassVar[str] = "transfers"
    #: Streams whose records are (customer, member) relations.
    relation_streams: ClassVar[tuple[str, ...]] = ()
    #: Most customers one transfer may carry.
    batch_size: ClassVar[int] = 100

    def __init__(self, connector: "Connector"):
        self.connector = connector

    def relation(self, stream: str, native_id: str) -> tuple[str, str] | None:
        """``(customer id, member id)`` of a relation record, or None if it is none."""
        return None

    def managers(self, member: str) -> list[str]:
        """The member's managers, most direct first (a departed member's, as last known)."""
        return []

    def department_members(self, department: str) -> list[str]:
        """The members of a department who may take customers over, in a stable order."""
        return []

    def payload(self, member: str, takeover: str, customers: list[str]) -> dict[str, Any]:
        """The sink payload handing ``customers`` (≤ :attr:`batch_size`) from ``member`` to ``takeover``."""
        raise NotImplementedError

    def statuses(self, payload: dict[str, Any], idempotency_key: str) -> dict[str, tuple[str, str]]:
        """For a delivered transfer: ``customer → (state, detail)``, state one of
        ``waiting``, ``done``, ``refused``, ``limit``, ``failed``. A customer left out is
        still waiting. Reads only: never transfers again."""
        raise NotImplementedError

    def describe(self, member: str) -> str:
        """How the timeline names a member (a display name when the connector knows one)."""
        return member
