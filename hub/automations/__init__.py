"""Automations: the hub acts on what it knows (rules, SOP journeys, departures). See docs/automations.md.

* :mod:`~hub.automations.spec` — what an automation is; :mod:`~hub.automations.loader` —
  YAML → spec with ``file:line`` errors;
* :mod:`~hub.automations.rules` — triggers evaluated while processing, after apply;
* :mod:`~hub.automations.actions` — actions as ordinary outbox rows, keyed once;
* :mod:`~hub.automations.journeys` — enrollments advanced by the worker's ticker;
* :mod:`~hub.automations.schedule` — schedule (cron) rules fired by the ticker, once per instant;
* :mod:`~hub.automations.setattr` — the ``set:`` action: hub attributes through the field policy;
* :mod:`~hub.automations.departure` — the departure hand-over: a member who left, their
  customers transferred by the ticker's departures job;
* :mod:`~hub.automations.control` — preview, approve, pause, resume (CLI).
"""
