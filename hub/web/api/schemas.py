"""Marshmallow schemas of the ``/api/v1`` requests and answers (they are the OpenAPI document)."""

from __future__ import annotations

import re

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from hub.web.auth import ROLES
from hub.web.queries import MAX_ID

ID_RANGE = validate.Range(1, MAX_ID)


#: No NUL anywhere: what :class:`Text` enforces, as a pattern the OpenAPI document carries.
NO_NUL = "^[^\\x00]*$"


class Text(fields.String):
    """A string the databases can store: no NUL characters, no lone surrogates.

    The document says so too (``pattern``), so a NUL is a schema violation answered 422,
    not a surprise for a client that followed the document."""

    def __init__(self, *args, **kwargs):
        validators = kwargs.get("validate") or []
        validators = validators if isinstance(validators, (list, tuple)) else [validators]
        metadata = dict(kwargs.pop("metadata", None) or {})
        if not any(isinstance(v, validate.Regexp) for v in validators):
            metadata.setdefault("pattern", NO_NUL)
        super().__init__(*args, metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if "\x00" in text:
            raise ValidationError("must not contain NUL characters")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise ValidationError("must be valid Unicode") from None
        return text


class QueryInt(fields.Integer):
    """An integer query parameter: ASCII digits only. ``int()`` would also take ``"\t8"``,
    ``"1_0"`` and ``"٨"``, which the OpenAPI document (``type: integer``) does not allow."""

    _FORM = re.compile(r"-?[0-9]{1,19}", re.ASCII)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and not self._FORM.fullmatch(value):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


#: A history cursor: ``next_cursor`` as the API hands it out, or plain microseconds since
#: 1970 (``before=0`` is valid: nothing is older). Every string of this form is readable,
#: so the schema and the app agree on what is accepted.
CURSOR = r"^[0-9]{1,16}(-[0-9]{1,18})?$"
#: ``KIND:VALUE`` (no NUL).
IDENTITY = r"^[^:\x00]+:[^\x00]+$"


class Strict(Schema):
    class Meta:
        ordered = True


# -- requests ---------------------------------------------------------------------------------
class SearchArgs(Strict):
    q = Text(required=True, validate=validate.Length(1, 200),
             metadata={"description": "An identity (phone, e-mail, WeCom/CRM id, or KIND:VALUE), a whole phone number (or, for "
                                             "operators and admins, 3+ digits of one), or part of a name."})
    limit = QueryInt(load_default=20, validate=validate.Range(1, 100))


class HistoryArgs(Strict):
    kind = fields.List(Text(validate=validate.Length(1, 64)), load_default=list, metadata={"description": "Only these event kinds."})
    connector = fields.List(Text(validate=validate.Length(1, 64)), load_default=list,
                            metadata={"description": "Only events from these connector instances."})
    channel = fields.List(Text(validate=validate.Length(1, 64)), load_default=list,
                          metadata={"description": "Only events from connectors of these types (wecom, feiyu, clink, udesk, …)."})
    limit = QueryInt(load_default=50, validate=validate.Range(1, 200))
    before = Text(validate=validate.Regexp(CURSOR), metadata={
        "description": "`next_cursor` of the previous page (or microseconds since 1970: events before that moment)."})


class UnmergeArgs(Strict):
    edge_id = fields.Integer(strict=True, validate=ID_RANGE, metadata={"description": "The merge edge to undo (see the contact's merge_edges)."})
    identity = Text(validate=[validate.Length(3, 300), validate.Regexp(IDENTITY)],
                    metadata={"description": "Undo every merge through this KIND:VALUE."})

    #: Merged into the OpenAPI component (see :func:`hub.web.api.init_api`): the document says
    #: what :meth:`_exactly_one` enforces.
    openapi_extra = {"oneOf": [{"required": ["edge_id"]}, {"required": ["identity"]}],
                     "description": "Give exactly one of `edge_id` or `identity`."}

    @validates_schema
    def _exactly_one(self, data, **kwargs):
        if ("edge_id" in data) == ("identity" in data):
            raise ValidationError("give exactly one of edge_id or identity")


class ConflictListArgs(Strict):
    status = fields.String(load_default="open", validate=validate.OneOf(["open", "merged", "kept_apart", "all"]))
    limit = QueryInt(load_default=100, validate=validate.Range(1, 500))


class RunArgs(Strict):
    connector = Text(validate=validate.Length(1, 64))
    status = fields.String(validate=validate.OneOf(["running", "succeeded", "failed"]))
    limit = QueryInt(load_default=50, validate=validate.Range(1, 500))
    before = QueryInt(validate=ID_RANGE, metadata={"description": "Only runs with a smaller id (the last id of the previous page)."})


class DeadLetterArgs(Strict):
    limit = QueryInt(load_default=50, validate=validate.Range(1, 500))


REF = re.compile(r"^(outbox|inbox):[1-9][0-9]{0,17}$")


class ReplayArgs(Strict):
    refs = fields.List(fields.String(validate=validate.Regexp(REF, error="use outbox:ID or inbox:ID")), required=True,
                       validate=validate.Length(1, 500), metadata={"description": "Dead letters to replay, e.g. `outbox:12`, `inbox:7`."})


class AuditArgs(Strict):
    action = Text(validate=validate.Length(1, 64), metadata={"description": "e.g. dlq.replay, contact.reveal, conflict.merge"})
    actor = Text(validate=validate.Length(1, 100), metadata={"description": "Part of the actor's name."})
    target = Text(validate=validate.Length(1, 255), metadata={"description": "e.g. contact:12, inbox:7"})
    limit = QueryInt(load_default=50, validate=validate.Range(1, 500))
    before = QueryInt(validate=ID_RANGE, metadata={"description": "Only entries with a smaller id (the last id of the previous page)."})


class TokenCreateArgs(Strict):
    name = Text(required=True, validate=validate.Length(1, 100))
    role = fields.String(required=True, validate=validate.OneOf(ROLES))


# -- answers ----------------------------------------------------------------------------------
class IdentityOut(Strict):
    kind = fields.String(required=True)
    value = fields.String(required=True, metadata={"description": "Masked (138****8000) unless revealed."})
    masked = fields.Boolean()
    connector = fields.String()
    channel = fields.String()
    created_at = fields.DateTime(allow_none=True)


class HitIdentity(Strict):
    kind = fields.String(required=True)
    value = fields.String(required=True)


class ContactHitOut(Strict):
    id = fields.Integer(required=True)
    display_name = fields.String(allow_none=True)
    matched_by = fields.String(required=True, validate=validate.OneOf(["identity", "phone_fragment", "name"]))
    identities = fields.List(fields.Nested(HitIdentity))
    connectors = fields.List(fields.String())
    channels = fields.List(fields.String())
    last_event_at = fields.DateTime(allow_none=True)
    event_count = fields.Integer()


class SearchOut(Strict):
    query = fields.String(required=True)
    results = fields.List(fields.Nested(ContactHitOut), required=True)
    whole_number_required = fields.Boolean(
        metadata={"description": "True when the query was part of a phone number and this role may only search by whole "
                                 "numbers (no results were looked up by fragment)."})


class ThrottledOut(Strict):
    code = fields.Integer(required=True)
    status = fields.String(required=True)
    message = fields.String(required=True)


class AttributeOut(Strict):
    name = fields.String(required=True)
    value = fields.Raw(allow_none=True)
    connector = fields.String(metadata={"description": "The connector instance that set the current value."})
    channel = fields.String()
    source_ts = fields.DateTime(allow_none=True, metadata={"description": "When the source system says the value changed."})
    updated_at = fields.DateTime(allow_none=True)


class LinkOut(Strict):
    connector = fields.String()
    channel = fields.String()
    stream = fields.String()
    native_id = fields.String()
    state = fields.String()
    last_read_at = fields.DateTime(allow_none=True)
    last_written_at = fields.DateTime(allow_none=True)


class EdgeOut(Strict):
    id = fields.Integer()
    survivor_id = fields.Integer()
    merged_id = fields.Integer()
    kind = fields.String()
    value = fields.String()
    connector = fields.String()
    created_at = fields.DateTime(allow_none=True)


class ConflictOut(Strict):
    id = fields.Integer(required=True)
    contact_a = fields.Integer()
    contact_b = fields.Integer()
    kind = fields.String()
    value = fields.String()
    reason = fields.String()
    status = fields.String()
    created_at = fields.DateTime(allow_none=True)
    resolved_at = fields.DateTime(allow_none=True)
    resolved_by = fields.String(allow_none=True)


class JourneyProgressOut(Strict):
    journey = fields.String(required=True)
    contact_id = fields.Integer(metadata={"description": "The contact enrolled (this one, or an id merged into it)."})
    status = fields.String(required=True, validate=validate.OneOf(["active", "exited", "completed"]))
    round = fields.Integer(metadata={"description": "How many times the contact entered this journey."})
    step = fields.Integer(metadata={"description": "The step it is at, from 1: the next one while active, the one it stopped "
                                                   "before when exited, the last one when completed."})
    steps = fields.Integer(allow_none=True, metadata={"description": "Steps in the journey (null: no longer configured)."})
    steps_done = fields.Integer()
    next_due_at = fields.DateTime(allow_none=True, metadata={"description": "When the next step is due (`after:` from enrollment)."})
    next_at = fields.DateTime(allow_none=True, metadata={"description": "When it may run: the due time moved into the step's send "
                                                                        "window (the daily cap may move it a day further)."})
    next_due_local = fields.String(allow_none=True, metadata={"description": "`next_at` as `MM-DD HH:MM` in `timezone`, as the UI shows it."})
    timezone = fields.String(metadata={"description": "automation_settings.timezone (default Asia/Shanghai)."})
    enrolled_at = fields.DateTime(allow_none=True)
    ended_at = fields.DateTime(allow_none=True)
    exit_reason = fields.String(allow_none=True)
    automation_status = fields.String(allow_none=True, metadata={"description": "preview, live or paused."})


class ContactOut(Strict):
    id = fields.Integer(required=True)
    display_name = fields.String(allow_none=True)
    requested_id = fields.Integer(allow_none=True, metadata={"description": "The id asked for, when it was merged into this one."})
    merged_ids = fields.List(fields.Integer())
    created_at = fields.DateTime(allow_none=True)
    updated_at = fields.DateTime(allow_none=True)
    masked = fields.Boolean(required=True)
    attributes = fields.List(fields.Nested(AttributeOut))
    identities = fields.List(fields.Nested(IdentityOut))
    tags = fields.List(fields.String())
    links = fields.List(fields.Nested(LinkOut))
    merge_edges = fields.List(fields.Nested(EdgeOut))
    open_conflicts = fields.List(fields.Nested(ConflictOut))
    journeys = fields.List(fields.Nested(JourneyProgressOut),
                           metadata={"description": "Its SOP journeys (automations): the step it is at, the next one's time."})
    handovers = fields.List(fields.Nested("ContactHandoverOut"),
                            metadata={"description": "Departure hand-overs of this customer (latest first): the member who "
                                                     "left, who takes over, the transfer's state."})


TRANSFER_STATES = ["queued", "waiting", "done", "refused", "limit", "failed", "preview"]


class ContactHandoverOut(Strict):
    automation = fields.String(required=True)
    contact_id = fields.Integer(metadata={"description": "The customer (this one, or an id merged into it)."})
    status = fields.String(required=True, metadata={"description": "The transfer's state: " + ", ".join(TRANSFER_STATES) + " "
                                                    "(limit: the takeover has too many customers)."})
    member = fields.String(allow_none=True, metadata={"description": "The member who left (user id)."})
    member_name = fields.String(allow_none=True)
    takeover = fields.String(allow_none=True, metadata={"description": "Who takes over (user id); null: nobody found."})
    takeover_name = fields.String(allow_none=True)
    batch = fields.Integer(allow_none=True, metadata={"description": "The transfer batch (of ≤ 100 customers) it went in."})
    target = fields.String(metadata={"description": "instance.sink the transfer is written to."})
    reason = fields.String(allow_none=True, metadata={"description": "Why it failed."})
    chosen = fields.String(allow_none=True, metadata={"description": "How the takeover was chosen (manager, fallback …)."})
    at = fields.DateTime(allow_none=True)


class EventOut(Strict):
    id = fields.Integer(required=True)
    contact_id = fields.Integer()
    connector = fields.String()
    channel = fields.String(metadata={"description": "The connector's type: wecom, feiyu, clink, udesk, sql, …"})
    native_id = fields.String()
    kind = fields.String()
    occurred_at = fields.DateTime()
    summary = fields.String()
    data = fields.Dict()


class HistoryOut(Strict):
    events = fields.List(fields.Nested(EventOut), required=True)
    next_cursor = fields.String(allow_none=True, metadata={"description": "Pass as `before` for the next (older) page."})


class UnmergeOut(Strict):
    root = fields.Integer()
    edges_undone = fields.List(fields.Integer())
    groups = fields.List(fields.List(fields.Integer()))
    survivors = fields.List(fields.Integer())


class RunOut(Strict):
    id = fields.Integer(required=True)
    connector = fields.String()
    stream = fields.String(allow_none=True)
    kind = fields.String()
    status = fields.String()
    started_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)
    counts = fields.Dict(allow_none=True)
    error = fields.String(allow_none=True)


class StreamOut(Strict):
    name = fields.String()
    cursor = fields.Raw(allow_none=True)
    cursor_updated_at = fields.DateTime(allow_none=True)


class ErrorItemOut(Strict):
    source = fields.String()
    ref = fields.String()
    at = fields.DateTime(allow_none=True)
    message = fields.String()


class PauseOut(Strict):
    until = fields.DateTime(required=True)
    reason = fields.String()
    since = fields.String()


class NoticeOut(Strict):
    message = fields.String(required=True)
    since = fields.DateTime(allow_none=True)


class ConnectorOut(Strict):
    name = fields.String(required=True)
    type = fields.String()
    title = fields.String()
    enabled = fields.Boolean()
    health = fields.String(validate=validate.OneOf(["ok", "degraded", "failing", "idle", "disabled"]))
    streams = fields.List(fields.Nested(StreamOut))
    sinks = fields.List(fields.String())
    last_run = fields.Nested(RunOut, allow_none=True)
    last_success_at = fields.DateTime(allow_none=True)
    lag_seconds = fields.Float(allow_none=True, metadata={"description": "Seconds since the last successful run finished."})
    error_rate = fields.Float(allow_none=True, metadata={"description": "Failed share of the last 20 finished runs."})
    runs_considered = fields.Integer()
    inbox_pending = fields.Integer()
    inbox_rejected = fields.Integer()
    outbox_pending = fields.Integer()
    outbox_dead = fields.Integer()
    recent_runs = fields.List(fields.Nested(RunOut))
    recent_errors = fields.List(fields.Nested(ErrorItemOut))
    paused = fields.Nested(PauseOut, allow_none=True,
                           metadata={"description": "Writes held while the remote system blocks the instance."})
    notice = fields.Nested(NoticeOut, allow_none=True, metadata={"description": "A warning the connector left for operators."})


class DeadLetterOut(Strict):
    ref = fields.String(required=True)
    kind = fields.String()
    id = fields.Integer()
    target = fields.String()
    attempts = fields.Integer()
    error = fields.String()
    at = fields.DateTime(allow_none=True)


class ReplayOut(Strict):
    outbox = fields.Integer()
    inbox = fields.Integer()


class DiscardArgs(Strict):
    refs = fields.List(fields.String(validate=validate.Regexp(REF, error="use outbox:ID or inbox:ID")), required=True,
                       validate=validate.Length(1, 500), metadata={"description": "Dead letters to give up on, e.g. `outbox:12`."})


class SyncOut(Strict):
    streams = fields.List(fields.String(), required=True, metadata={"description": "The streams whose pull was queued."})
    workers = fields.Integer(required=True, metadata={"description": "Workers running; 0 means the pulls wait for one."})


class AuditOut(Strict):
    id = fields.Integer(required=True)
    at = fields.DateTime()
    actor = fields.String()
    action = fields.String()
    target = fields.String(allow_none=True)
    detail = fields.Raw(allow_none=True)


class TokenOut(Strict):
    id = fields.Integer(required=True)
    name = fields.String()
    role = fields.String()
    created_at = fields.DateTime(allow_none=True)
    last_used_at = fields.DateTime(allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)


class TokenCreatedOut(TokenOut):
    token = fields.String(required=True, metadata={"description": "Shown once; only its SHA-256 is stored."})


class MeOut(Strict):
    token_id = fields.Integer()
    name = fields.String()
    role = fields.String()


# -- automations ------------------------------------------------------------------------------
class AutomationFiguresOut(Strict):
    sent = fields.Integer(metadata={"description": "Writes delivered (or linked to an existing record)."})
    pending = fields.Integer(metadata={"description": "Queued writes not delivered yet."})
    held = fields.Integer(metadata={"description": "Writes held because their sink is in preview."})
    failed = fields.Integer(metadata={"description": "Actions that could not be rendered, plus dead-lettered writes."})
    discarded = fields.Integer()
    capped = fields.Integer(metadata={"description": "Messages over the per-customer daily cap, not sent."})
    preview = fields.Integer(metadata={"description": "Actions recorded while the automation was in preview."})
    done = fields.Integer(metadata={"description": "Hub tags and attributes set, journey enrollments and exits."})
    unchanged = fields.Integer(metadata={"description": "`set` actions that changed nothing (the value was already so, or the "
                                                        "field policy kept another system's)."})


class EnrollmentCountsOut(Strict):
    active = fields.Integer()
    exited = fields.Integer()
    completed = fields.Integer()


class AutomationOut(Strict):
    name = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(["rule", "journey"]))
    status = fields.String(required=True, validate=validate.OneOf(["preview", "live", "paused"]))
    approved_at = fields.DateTime(allow_none=True)
    approved_by = fields.String(allow_none=True)
    status_changed_at = fields.DateTime(allow_none=True)
    trigger = fields.String(metadata={"description": "The rule's `on:` or the journey's `enroll:`, in words."})
    description = fields.String()
    source = fields.String(metadata={"description": "file:line of its definition."})
    steps = fields.Integer(allow_none=True)
    ledger = fields.Dict(keys=fields.String(), values=fields.Integer(),
                         metadata={"description": "automation_actions per status: queued, done, unchanged, preview, capped, "
                                                  "failed, and a hand-over's transfer states (waiting, refused, limit)."})
    delivery = fields.Dict(keys=fields.String(), values=fields.Integer(),
                           metadata={"description": "The outbox rows of its writes per delivery state."})
    actions = fields.Nested(AutomationFiguresOut)
    enrollments = fields.Nested(EnrollmentCountsOut, allow_none=True)
    schedule = fields.Nested("ScheduleOut", allow_none=True, metadata={"description": "A schedule (cron) rule's firings; null otherwise."})
    handover = fields.Nested("HandoverOut", allow_none=True,
                             metadata={"description": "A departure rule's hand-overs (the list: totals only); null otherwise."})


class ScheduleLastOut(Strict):
    instant = fields.DateTime(required=True, metadata={"description": "The last instant fired (or skipped)."})
    instant_local = fields.String(metadata={"description": "`instant` as `YYYY-MM-DD HH:MM` in `timezone`."})
    status = fields.String(required=True, validate=validate.OneOf(["firing", "done", "skipped", "stopped"]),
                           metadata={"description": "firing (under way), done, skipped (first seen, changed, or paused at that "
                                                    "instant), stopped (paused while firing)."})
    contacts = fields.Integer(metadata={"description": "Contacts that matched `where:` at that instant."})
    acted = fields.Integer(metadata={"description": "Of those, contacts an action was taken on (queued or done)."})
    missed = fields.Integer(metadata={"description": "Earlier instants skipped by catch-up after downtime (fired once, not once each)."})
    actions = fields.Dict(keys=fields.String(), values=fields.Integer(),
                          metadata={"description": "The firing's actions per ledger status (queued, done, unchanged, failed …)."})
    started_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)


class ScheduleOut(Strict):
    expression = fields.String(required=True, metadata={"description": "The cron expression as written."})
    where = fields.List(fields.String(), metadata={"description": "The population, in words (all must hold)."})
    timezone = fields.String(metadata={"description": "automation_settings.timezone, the zone the expression is read in."})
    next_at = fields.DateTime(metadata={"description": "The next firing."})
    next_local = fields.String(metadata={"description": "`next_at` as `YYYY-MM-DD HH:MM` in `timezone`."})
    last = fields.Nested(ScheduleLastOut, allow_none=True, metadata={"description": "null until an instant has passed since it was first seen."})


class HandoverTakeoverOut(Strict):
    takeover = fields.String(allow_none=True, metadata={"description": "null: nobody to take over (no manager and no fallback)."})
    takeover_name = fields.String(allow_none=True)
    customers = fields.Dict(keys=fields.String(), values=fields.Integer(), metadata={"description": "Per transfer state."})
    total = fields.Integer()


class HandoverMemberOut(Strict):
    departure_id = fields.Integer(required=True)
    connector = fields.String(metadata={"description": "The instance whose member left."})
    member = fields.String(required=True)
    member_name = fields.String(allow_none=True)
    status = fields.String(metadata={"description": "open (transfers under way), done, previewed."})
    signals = fields.Integer(metadata={"description": "How often the departure was signalled (callback, unassigned list, HR)."})
    source = fields.String(allow_none=True, metadata={"description": "Where the latest signal came from."})
    signalled_at = fields.DateTime(allow_none=True)
    updated_at = fields.DateTime(allow_none=True)
    next_check_at = fields.DateTime(allow_none=True, metadata={"description": "When the job follows the transfers again; null when done."})
    batches = fields.Integer(metadata={"description": "Transfer batches (≤ 100 customers each) written."})
    batch_delivery = fields.Dict(keys=fields.String(), values=fields.Integer(), metadata={"description": "The batches per outbox state."})
    customers = fields.Dict(keys=fields.String(), values=fields.Integer(),
                            metadata={"description": "Customers per transfer state: " + ", ".join(TRANSFER_STATES) + "."})
    total = fields.Integer()
    takeovers = fields.List(fields.Nested(HandoverTakeoverOut))
    detail = fields.String(allow_none=True, metadata={"description": "The job's last note: how the takeover was chosen, or the error it met."})


class HandoverOut(Strict):
    departures = fields.Dict(keys=fields.String(), values=fields.Integer(), metadata={"description": "Departed members per status."})
    customers = fields.Dict(keys=fields.String(), values=fields.Integer(), metadata={"description": "Customers per transfer state, in all."})
    members = fields.List(fields.Nested(HandoverMemberOut), metadata={"description": "The latest departed members (detail only)."})


class ActionDefOut(Strict):
    kind = fields.String(validate=validate.OneOf(["sink", "tag", "enroll", "exit", "transfer", "set"]))
    target = fields.String()
    template = fields.String(allow_none=True)
    payload = fields.Dict(allow_none=True)
    uses_mapping = fields.Boolean()
    describe = fields.String(allow_none=True, metadata={"description": "In words, where the target alone says too little "
                                                                       "(transfer_customers: to whom; set: attribute = value)."})
    attribute = fields.String(allow_none=True, metadata={"description": "A `set` action's attribute."})
    value = fields.Raw(allow_none=True, metadata={"description": "A `set` action's value (may hold placeholders)."})


class StepDefOut(Strict):
    number = fields.Integer()
    after_seconds = fields.Float()
    after = fields.String(metadata={"description": "e.g. 2d, after enrollment."})
    at = fields.String(allow_none=True, metadata={"description": "The send window, e.g. 10:00-20:00."})
    actions = fields.List(fields.Nested(ActionDefOut))
    waiting = fields.Integer(metadata={"description": "Active enrollments waiting for this step."})
    due = fields.Integer(metadata={"description": "Of those, how many are due now."})


class AutomationDefOut(Strict):
    source = fields.String()
    description = fields.String()
    on = fields.String(metadata={"description": "A rule's trigger."})
    actions = fields.List(fields.Nested(ActionDefOut), metadata={"description": "A rule's actions."})
    enroll = fields.String(metadata={"description": "A journey's enroll trigger."})
    exit = fields.List(fields.String())
    steps = fields.List(fields.Nested(StepDefOut))


class AutomationContactOut(Strict):
    contact_id = fields.Integer(required=True)
    display_name = fields.String(allow_none=True)
    phone = fields.String(allow_none=True, metadata={"description": "Masked (138****8000)."})
    status = fields.String(metadata={"description": "A journey's enrollment status, or a rule's last action's status."})
    at = fields.DateTime(allow_none=True)
    target = fields.String(metadata={"description": "A rule's last action."})
    kind = fields.String(metadata={"description": "A rule's last action's kind (sink, tag, set, transfer …)."})
    round = fields.Integer()
    step = fields.Integer()
    steps = fields.Integer()
    steps_done = fields.Integer()
    next_due_at = fields.DateTime(allow_none=True)
    next_at = fields.DateTime(allow_none=True)
    next_due_local = fields.String(allow_none=True)
    enrolled_at = fields.DateTime(allow_none=True)
    exit_reason = fields.String(allow_none=True)


class AutomationActionOut(Strict):
    id = fields.Integer(required=True)
    contact_id = fields.Integer()
    display_name = fields.String(allow_none=True)
    phone = fields.String(allow_none=True, metadata={"description": "Masked (138****8000)."})
    kind = fields.String()
    target = fields.String()
    status = fields.String()
    delivery = fields.String(allow_none=True, metadata={"description": "The outbox row's state, for a write."})
    payload = fields.Raw(allow_none=True)
    detail = fields.String(allow_none=True)
    created_at = fields.DateTime(allow_none=True)
    member_name = fields.String(allow_none=True, metadata={"description": "A hand-over's departed member, by name."})
    takeover_name = fields.String(allow_none=True, metadata={"description": "A hand-over's takeover, by name."})


class AutomationDetailOut(AutomationOut):
    definition = fields.Nested(AutomationDefOut)
    timezone = fields.String()
    contacts = fields.List(fields.Nested(AutomationContactOut), metadata={"description": "A sample: the latest contacts (masked)."})
    recent_actions = fields.List(fields.Nested(AutomationActionOut))
