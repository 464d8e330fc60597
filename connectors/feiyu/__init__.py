"""Built-in connector plugin: Ocean Engine / Feiyu (巨量引擎 / 飞鱼) ad leads.

Leads arrive three ways — the legacy Feiyu CRM pull API, the Marketing API pull (OAuth with
rotating refresh tokens) and Feiyu's lead-push rules (a webhook) — and lead status flows
back through the clue callback. See docs/connectors/feiyu.md.
"""
