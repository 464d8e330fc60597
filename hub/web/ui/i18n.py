"""A tiny message catalogue: Simplified Chinese by default, English on ``?lang=en`` (kept in a
cookie). Support teams here work in Chinese; the English is for IT and vendors. No Babel:
the UI has a few hundred strings and no plural forms worth a toolchain."""

from __future__ import annotations

from flask import g, request

LANGS = ("zh-CN", "en")
DEFAULT = "zh-CN"
COOKIE = "hub_lang"

MESSAGES: dict[str, dict[str, str]] = {
    "zh-CN": {
        "brand": "汇流", "brand_sub": "客户全景与集成中心",
        "nav.search": "客户搜索", "nav.connectors": "连接器", "nav.deadletters": "死信队列", "nav.conflicts": "合并审核",
        "nav.audit": "审计日志", "nav.signout": "退出登录", "lang.switch": "English",
        "role.support": "客服", "role.operator": "运维", "role.admin": "管理员",
        "signin.title": "登录汇流", "signin.lead": "使用管理员发放的访问令牌登录。",
        "signin.token": "访问令牌", "signin.token_hint": "形如 hub_… 的令牌，由 hub tokens create 生成",
        "signin.submit": "登录", "signin.invalid": "令牌无效或已被吊销。", "signin.footer": "令牌只保存为哈希值；请勿分享给他人。",
        "search.title": "客户搜索", "search.placeholder": "手机号、手机号片段、姓名、企微 ID、邮箱…",
        "search.submit": "搜索", "search.hint": "支持：完整手机号、3 位以上号码片段（运营与管理员）、姓名、企业微信外部联系人 ID、邮箱、KIND:VALUE。",
        "search.whole_number": "您的角色只能按完整手机号搜索，不能按号码片段搜索。",
        "search.throttled": "搜索过于频繁，请 {n} 秒后再试。",
        "search.results": "找到 {n} 位客户", "search.none": "没有找到匹配“{q}”的客户。",
        "search.matched.identity": "标识精确匹配", "search.matched.phone_fragment": "号码片段", "search.matched.name": "姓名",
        "search.events": "{n} 条记录", "search.last": "最近互动", "search.open": "查看",
        "search.empty_title": "从一个号码开始", "search.empty_body": "输入客户的手机号或姓名，查看其在各系统中的完整历史。",
        "contact.unnamed": "未命名客户", "contact.id": "客户 #{id}", "contact.merged_from": "已合并：{ids}",
        "contact.identities": "身份标识", "contact.attributes": "客户属性", "contact.links": "来源记录",
        "contact.tags": "标签", "contact.groups": "客户群", "contact.group_owner": "群主", "contact.group_left": "已退群", "contact.merges": "合并记录", "contact.timeline": "统一时间线",
        "contact.source": "来源", "contact.updated": "更新于", "contact.reveal": "显示完整信息",
        "contact.revealed": "已显示完整信息（本次查看已记入审计日志）", "contact.masked_note": "手机号与邮箱已脱敏显示",
        "contact.unmerge": "拆分", "contact.unmerge_confirm": "确定撤销这次合并？两边的身份、记录与事件将各归原处。",
        "contact.no_events": "没有符合条件的记录。", "contact.more": "加载更早的记录", "contact.all": "全部",
        "contact.open_conflicts": "待审核的合并冲突", "contact.first_seen": "首次出现", "contact.event_count": "互动",
        "contact.detail": "详情", "contact.via": "经由 {connector}", "contact.native_id": "来源记录编号", "yes": "是", "no": "否",
        "connectors.title": "连接器", "connectors.lead": "各系统的同步健康度、最近运行、延迟与错误率。",
        "connectors.health": "健康", "connectors.last_run": "最近运行", "connectors.lag": "数据延迟",
        "connectors.error_rate": "错误率", "connectors.backlog": "待处理", "connectors.dead": "死信",
        "connectors.cursor": "游标", "connectors.streams": "数据流", "connectors.sinks": "写入",
        "connectors.paused": "写入已暂停，至 {until}（对方系统限流）", "connectors.notice_since": "自 {since}",
        "connectors.recent_errors": "最近错误", "connectors.recent_runs": "最近运行", "connectors.never": "从未运行",
        "connectors.none": "尚未配置任何连接器。", "connectors.of_runs": "近 {n} 次",
        "connector.sync": "立即同步", "connector.disable": "停用", "connector.enable": "启用",
        "connector.disable_confirm": "停用后汇流不再从该系统拉取、也不再写入（待写入的记录会保留，启用后继续）。确定停用？",
        "connector.synced": "已为 {name} 排队同步：{streams}。", "connector.no_workers": "当前没有运行中的 worker，同步会在 worker 启动后执行（hub worker）。",
        "connector.queue_down": "任务队列不可用（{error}），请检查 Redis。", "connector.sync_disabled": "{name} 已停用，请先启用再同步。",
        "connector.sync_nothing": "{name} 没有可拉取的数据流。", "connector.config_disabled": "{name} 在配置文件中已停用，只能修改配置后重新加载。",
        "connector.switched_off": "已停用 {name}：不再拉取和写入，待写入的记录会保留。", "connector.switched_on": "已启用 {name}，积压的写入已重新排队。",
        "connector.off_by": "由 {by} 于 {at} 停用", "connector.off_in_config": "配置文件中已停用",
        "connector.detail": "详情", "connector.runs": "运行记录", "connector.all_runs": "全部", "connector.older": "更早",
        "connector.no_runs": "还没有运行记录。", "connector.run": "运行 #{id}", "connector.kind": "类型", "connector.status": "状态",
        "connector.started": "开始", "connector.duration": "耗时", "connector.counts": "计数", "connector.error": "错误",
        "connector.stream": "数据流 / 写入", "connector.outcomes": "读入记录的处理结果", "connector.rejected_records": "被映射拒绝的记录",
        "connector.back": "返回 {name}", "connector.burst_note": "推送与投递按分钟汇总为一次运行。",
        "count.read": "读取", "count.new": "新增", "count.duplicates": "重复", "count.requests": "推送请求", "count.rejected": "被拒绝",
        "count.delivered": "已写入", "count.dead": "转入死信", "count.retrying": "稍后重试", "count.throttled": "限流等待",
        "inbox.processed": "已处理", "inbox.rejected": "已拒绝", "inbox.pending": "待处理", "inbox.echo": "回声（已忽略）",
        "health.ok": "正常", "health.degraded": "有异常", "health.failing": "失败", "health.idle": "未运行", "health.disabled": "已停用",
        "run.succeeded": "成功", "run.failed": "失败", "run.running": "运行中",
        "run.kind.pull": "拉取", "run.kind.webhook": "推送", "run.kind.remap": "重映射", "run.kind.deliver": "投递",
        "dlq.title": "死信队列", "dlq.lead": "重试耗尽或被映射拒绝的记录。修复原因后重放，每次重放都记入审计日志。",
        "dlq.empty": "没有死信。一切正常。", "dlq.kind.outbox": "写出", "dlq.kind.inbox": "读入",
        "dlq.target": "目标", "dlq.attempts": "尝试", "dlq.error": "错误", "dlq.at": "时间",
        "dlq.replay": "重放", "dlq.replay_selected": "重放所选", "dlq.replay_confirm": "确定重放所选的死信？",
        "dlq.replayed": "已重放：写出 {outbox} 条，读入 {inbox} 条。", "dlq.select_all": "全选",
        "dlq.customer": "客户", "dlq.from_record": "（取自原始记录，尚未建档）",
        "dlq.discard": "丢弃", "dlq.discard_selected": "丢弃所选", "dlq.discard_confirm": "丢弃后这些记录不再重试（仍保留备查，并记入审计日志）。确定丢弃？",
        "dlq.discarded": "已丢弃：写出 {outbox} 条，读入 {inbox} 条。", "dlq.as_was": "按原样重发",
        "dlq.as_was_hint": "默认按当前映射重新生成写出内容；勾选则重发失败时的原始内容。",
        "dlq.superseded": "{n} 条已有更新的写入待发，已自动丢弃。", "dlq.still_failing": "{ref} 仍无法生成：{reason}",
        "nav.writes": "待写入", "writes.title": "待写入",
        "writes.lead": "双向同步的写入目标在首次批准前处于预览模式：汇流先把要写入的内容留在这里，确认无误后再放行。",
        "writes.sink": "写入目标", "writes.mode": "模式", "writes.held": "待写入", "writes.mode.live": "直接写入",
        "writes.mode.preview": "预览（待批准）", "writes.mode.approved": "已批准", "writes.approved_by": "由 {by} 于 {at} 批准",
        "writes.creates_updates": "新建 {creates} · 更新 {updates}", "writes.approve_all": "全部放行并批准",
        "writes.approve_all_confirm": "放行 {target} 的 {n} 条写入，并批准以后的写入直接发出？", "writes.revoke": "恢复预览",
        "writes.approve_selected": "放行所选", "writes.discard_selected": "丢弃所选", "writes.approve_confirm": "放行所选写入？目标仍保持预览模式。",
        "writes.discard_confirm": "丢弃所选写入？它们不会被发出。", "writes.action": "动作", "writes.action.create": "新建", "writes.action.update": "更新",
        "writes.payload": "将写入的内容", "writes.origin": "来自 {origin}", "writes.empty": "没有待写入的记录。",
        "writes.more": "只显示最早的 500 条；更多请用 hub plan 查看。", "writes.approved_all": "已批准 {target}：放行 {n} 条，以后的写入直接发出。",
        "writes.released": "已放行 {target} 的 {n} 条写入。", "writes.discarded": "已丢弃 {target} 的 {n} 条写入。",
        "writes.none_selected": "请先勾选要处理的写入。", "writes.revoked": "{target} 已恢复预览：新的写入会先留在这里。",
        "writes.not_approved": "{target} 本来就未批准。",
        "conflicts.title": "合并审核", "conflicts.lead": "两个客户共享同一标识，但持有不同的强标识（如两个企微 ID）。系统不会自动合并，请人工判断。",
        "conflicts.empty": "没有待审核的冲突。", "conflicts.shared": "共享标识", "conflicts.reason": "原因",
        "conflicts.merge": "是同一人，合并", "conflicts.keep_apart": "不是同一人，保持分开", "conflicts.acknowledge": "已在目标系统清理重复记录", "conflicts.done.acknowledge": "复核项 #{id} 已确认。",
        "audit.do.conflict.acknowledge": "确认已清理{target}的重复记录",
        "conflicts.merge_confirm": "确定合并这两个客户？", "conflicts.done.merge": "冲突 #{id} 已合并。",
        "conflicts.done.keep_apart": "冲突 #{id} 已标记为保持分开。", "conflicts.status": "状态",
        "conflicts.resolved": "最近处理", "status.open": "待处理", "status.merged": "已合并", "status.kept_apart": "保持分开",
        "audit.title": "审计日志", "audit.lead": "重放、合并、拆分、查看完整信息与令牌变更。", "audit.actor": "操作人",
        "audit.action": "操作", "audit.target": "对象", "audit.at": "时间", "audit.empty": "暂无审计记录。", "audit.older": "更早",
        "audit.cli": "命令行（{user}）", "audit.cli_anon": "命令行", "audit.detail": "明细",
        "audit.t.contact": "客户 #{id}", "audit.t.inbox": "读入记录 #{id}", "audit.t.outbox": "写出记录 #{id}", "audit.t.token": "令牌 #{id}",
        "audit.t.conflict": "冲突 #{id}",
        "audit.do.contact.reveal": "查看了{target}的完整信息", "audit.do.contact.search": "搜索了客户（{query_kind}，{hits} 条结果）", "audit.do.contact.unmerge": "拆分了{target}",
        "audit.do.dlq.replay": "重放了死信：{target}", "audit.do.dlq.discard": "丢弃了死信：{target}",
        "audit.do.conflict.merge": "确认{target}是同一人并合并", "audit.do.conflict.keep_apart": "确认{target}不是同一人，保持分开",
        "audit.do.token.create": "创建了{target}「{name}」（{role}）", "audit.do.token.revoke": "吊销了{target}「{name}」",
        "audit.do.connector.sync": "手动同步连接器 {target}（{streams}）", "audit.do.connector.disable": "停用了连接器 {target}",
        "audit.do.connector.enable": "启用了连接器 {target}", "audit.do.outbox.approve": "批准写入 {target}，放行 {released} 条",
        "audit.do.outbox.revoke": "撤销了对 {target} 的写入批准", "audit.do.outbox.discard": "丢弃了 {target} 的 {discarded} 条待写入",
        "error.forbidden": "无权访问", "error.forbidden_body": "此页面需要“{role}”角色。", "error.back": "返回首页",
        "error.not_found": "页面不存在", "error.generic": "出错了", "error.csrf": "表单已过期，请刷新页面后重试。",
        "ago.s": "{n} 秒前", "ago.m": "{n} 分钟前", "ago.h": "{n} 小时前", "ago.d": "{n} 天前",
        "dur.s": "{n} 秒", "dur.m": "{n} 分钟", "dur.h": "{n} 小时", "dur.d": "{n} 天",
        "signedin_as": "当前用户",
    },
    "en": {
        "brand": "Huiliu", "brand_sub": "Customer hub",
        "nav.search": "Search", "nav.connectors": "Connectors", "nav.deadletters": "Dead letters", "nav.conflicts": "Merge review",
        "nav.audit": "Audit log", "nav.signout": "Sign out", "lang.switch": "中文",
        "role.support": "Support", "role.operator": "Operator", "role.admin": "Admin",
        "signin.title": "Sign in to Huiliu", "signin.lead": "Sign in with the access token your administrator gave you.",
        "signin.token": "Access token", "signin.token_hint": "A token like hub_…, made by hub tokens create",
        "signin.submit": "Sign in", "signin.invalid": "That token is invalid or revoked.",
        "signin.footer": "Tokens are stored only as hashes. Don't share yours.",
        "search.title": "Find a customer", "search.placeholder": "Phone, part of a number, name, WeCom id, e-mail…",
        "search.submit": "Search", "search.hint": "Full phone, 3+ digits of a number (operators and admins), a name, a WeCom external id, an e-mail, or KIND:VALUE.",
        "search.whole_number": "Your role can search phones by the whole number only, not by part of one.",
        "search.throttled": "Too many searches; try again in {n} s.",
        "search.results": "{n} customers found", "search.none": "No customer matches “{q}”.",
        "search.matched.identity": "Exact identity", "search.matched.phone_fragment": "Phone fragment", "search.matched.name": "Name",
        "search.events": "{n} events", "search.last": "Last contact", "search.open": "Open",
        "search.empty_title": "Start with a number", "search.empty_body": "Type a customer's phone or name to see their whole history across systems.",
        "contact.unnamed": "Unnamed customer", "contact.id": "Contact #{id}", "contact.merged_from": "Merged: {ids}",
        "contact.identities": "Identities", "contact.attributes": "Attributes", "contact.links": "Source records",
        "contact.tags": "Tags", "contact.groups": "Customer groups", "contact.group_owner": "Owner", "contact.group_left": "left", "contact.merges": "Merges", "contact.timeline": "Timeline",
        "contact.source": "Source", "contact.updated": "Updated", "contact.reveal": "Reveal",
        "contact.revealed": "Shown unmasked (this view is in the audit log)", "contact.masked_note": "Phones and e-mails are masked",
        "contact.unmerge": "Unmerge", "contact.unmerge_confirm": "Undo this merge? Identities, records and events go back to where they came from.",
        "contact.no_events": "No events match.", "contact.more": "Older events", "contact.all": "All",
        "contact.open_conflicts": "Open merge conflicts", "contact.first_seen": "First seen", "contact.event_count": "Events",
        "contact.detail": "Details", "contact.via": "via {connector}", "contact.native_id": "Source record id", "yes": "yes", "no": "no",
        "connectors.title": "Connectors", "connectors.lead": "Sync health, last run, lag and error rate of each system.",
        "connectors.health": "Health", "connectors.last_run": "Last run", "connectors.lag": "Lag",
        "connectors.error_rate": "Error rate", "connectors.backlog": "Backlog", "connectors.dead": "Dead letters",
        "connectors.cursor": "Cursor", "connectors.streams": "Streams", "connectors.sinks": "Sinks",
        "connectors.paused": "Writes paused until {until} (blocked by the remote system)", "connectors.notice_since": "since {since}",
        "connectors.recent_errors": "Recent errors", "connectors.recent_runs": "Recent runs", "connectors.never": "Never run",
        "connectors.none": "No connectors configured yet.", "connectors.of_runs": "last {n} runs",
        "connector.sync": "Sync now", "connector.disable": "Disable", "connector.enable": "Enable",
        "connector.disable_confirm": "While disabled the hub neither pulls from nor writes to this system (pending writes are kept and go out once enabled). Disable it?",
        "connector.synced": "Sync queued for {name}: {streams}.", "connector.no_workers": "No worker is running; the sync starts once one does (hub worker).",
        "connector.queue_down": "The job queue is unavailable ({error}); check Redis.", "connector.sync_disabled": "{name} is disabled; enable it first.",
        "connector.sync_nothing": "{name} has no stream to pull.", "connector.config_disabled": "{name} is disabled in the config file; change the config and reload.",
        "connector.switched_off": "{name} disabled: no pulls or writes; pending writes are kept.", "connector.switched_on": "{name} enabled; held writes were queued again.",
        "connector.off_by": "disabled by {by} at {at}", "connector.off_in_config": "disabled in the config file",
        "connector.detail": "Details", "connector.runs": "Runs", "connector.all_runs": "All", "connector.older": "Older",
        "connector.no_runs": "No runs yet.", "connector.run": "Run #{id}", "connector.kind": "Kind", "connector.status": "Status",
        "connector.started": "Started", "connector.duration": "Took", "connector.counts": "Counts", "connector.error": "Error",
        "connector.stream": "Stream / sink", "connector.outcomes": "What became of the records read", "connector.rejected_records": "Records a mapping rejected",
        "connector.back": "Back to {name}", "connector.burst_note": "Webhooks and deliveries are grouped into one run per minute.",
        "count.read": "read", "count.new": "new", "count.duplicates": "duplicates", "count.requests": "pushes", "count.rejected": "rejected",
        "count.delivered": "written", "count.dead": "dead-lettered", "count.retrying": "to retry", "count.throttled": "throttled",
        "inbox.processed": "processed", "inbox.rejected": "rejected", "inbox.pending": "pending", "inbox.echo": "echo (ignored)",
        "health.ok": "Healthy", "health.degraded": "Degraded", "health.failing": "Failing", "health.idle": "Idle", "health.disabled": "Disabled",
        "run.succeeded": "Succeeded", "run.failed": "Failed", "run.running": "Running",
        "run.kind.pull": "pull", "run.kind.webhook": "webhook", "run.kind.remap": "remap", "run.kind.deliver": "deliver",
        "dlq.title": "Dead letters", "dlq.lead": "Records that ran out of retries or that a mapping rejected. Fix the cause, then replay; every replay is audited.",
        "dlq.empty": "No dead letters. All clear.", "dlq.kind.outbox": "write", "dlq.kind.inbox": "read",
        "dlq.target": "Target", "dlq.attempts": "Attempts", "dlq.error": "Error", "dlq.at": "When",
        "dlq.replay": "Replay", "dlq.replay_selected": "Replay selected", "dlq.replay_confirm": "Replay the selected dead letters?",
        "dlq.replayed": "Replayed: {outbox} writes, {inbox} reads.", "dlq.select_all": "Select all",
        "dlq.customer": "Customer", "dlq.from_record": "(from the raw record; no contact yet)",
        "dlq.discard": "Discard", "dlq.discard_selected": "Discard selected", "dlq.discard_confirm": "Discarded letters are not retried (they are kept for the record and audited). Discard?",
        "dlq.discarded": "Discarded: {outbox} writes, {inbox} reads.", "dlq.as_was": "Re-send as it was",
        "dlq.as_was_hint": "By default a write is re-rendered from the current mapping; tick to re-send what failed.",
        "dlq.superseded": "{n} already have a newer write queued and were discarded.", "dlq.still_failing": "{ref} still cannot be rendered: {reason}",
        "nav.writes": "Held writes", "writes.title": "Held writes",
        "writes.lead": "Two-way destinations start in preview: the hub keeps what it would write here until someone approves it.",
        "writes.sink": "Destination", "writes.mode": "Mode", "writes.held": "Held", "writes.mode.live": "Live",
        "writes.mode.preview": "Preview (awaiting approval)", "writes.mode.approved": "Approved", "writes.approved_by": "by {by} at {at}",
        "writes.creates_updates": "{creates} creates · {updates} updates", "writes.approve_all": "Release all and approve",
        "writes.approve_all_confirm": "Release {n} writes to {target} and let later writes go straight out?", "writes.revoke": "Back to preview",
        "writes.approve_selected": "Release selected", "writes.discard_selected": "Discard selected", "writes.approve_confirm": "Release the selected writes? The destination stays in preview.",
        "writes.discard_confirm": "Discard the selected writes? They will not be sent.", "writes.action": "Action", "writes.action.create": "create", "writes.action.update": "update",
        "writes.payload": "What would be written", "writes.origin": "from {origin}", "writes.empty": "Nothing is held.",
        "writes.more": "Showing the oldest 500; hub plan lists them all.", "writes.approved_all": "{target} approved: {n} released, later writes go straight out.",
        "writes.released": "{n} writes to {target} released.", "writes.discarded": "{n} writes to {target} discarded.",
        "writes.none_selected": "Tick the writes first.", "writes.revoked": "{target} is back in preview: new writes wait here.",
        "writes.not_approved": "{target} was not approved.",
        "conflicts.title": "Merge review", "conflicts.lead": "Two contacts share an identifier but hold different strong ids (two WeCom ids, say). The hub never merges them on its own: you decide.",
        "conflicts.empty": "Nothing to review.", "conflicts.shared": "Shared identifier", "conflicts.reason": "Reason",
        "conflicts.merge": "Same person: merge", "conflicts.keep_apart": "Different people: keep apart", "conflicts.acknowledge": "Duplicate cleaned up in the destination", "conflicts.done.acknowledge": "Review item #{id} acknowledged.",
        "audit.do.conflict.acknowledge": "Acknowledged the duplicate records of {target}",
        "conflicts.merge_confirm": "Merge these two contacts?", "conflicts.done.merge": "Conflict #{id} merged.",
        "conflicts.done.keep_apart": "Conflict #{id} kept apart.", "conflicts.status": "Status",
        "conflicts.resolved": "Recently resolved", "status.open": "Open", "status.merged": "Merged", "status.kept_apart": "Kept apart",
        "audit.title": "Audit log", "audit.lead": "Replays, merges, unmerges, reveals and token changes.", "audit.actor": "Actor",
        "audit.action": "Action", "audit.target": "Target", "audit.at": "When", "audit.empty": "No audit entries yet.", "audit.older": "Older",
        "audit.cli": "command line ({user})", "audit.cli_anon": "command line", "audit.detail": "Detail",
        "audit.t.contact": "contact #{id}", "audit.t.inbox": "read record #{id}", "audit.t.outbox": "write #{id}", "audit.t.token": "token #{id}",
        "audit.t.conflict": "conflict #{id}",
        "audit.do.contact.reveal": "Revealed {target} unmasked", "audit.do.contact.search": "Searched contacts ({query_kind}, {hits} hits)", "audit.do.contact.unmerge": "Unmerged {target}",
        "audit.do.dlq.replay": "Replayed dead letter {target}", "audit.do.dlq.discard": "Discarded dead letter {target}",
        "audit.do.conflict.merge": "Merged the two contacts of {target}", "audit.do.conflict.keep_apart": "Kept the two contacts of {target} apart",
        "audit.do.token.create": "Created {target} “{name}” ({role})", "audit.do.token.revoke": "Revoked {target} “{name}”",
        "audit.do.connector.sync": "Synced connector {target} now ({streams})", "audit.do.connector.disable": "Disabled connector {target}",
        "audit.do.connector.enable": "Enabled connector {target}", "audit.do.outbox.approve": "Approved writes to {target}: {released} released",
        "audit.do.outbox.revoke": "Withdrew the write approval of {target}", "audit.do.outbox.discard": "Discarded {discarded} held writes to {target}",
        "error.forbidden": "Not allowed", "error.forbidden_body": "This page needs the “{role}” role.", "error.back": "Back to search",
        "error.not_found": "Page not found", "error.generic": "Something went wrong", "error.csrf": "The form expired. Reload the page and try again.",
        "ago.s": "{n}s ago", "ago.m": "{n} min ago", "ago.h": "{n} h ago", "ago.d": "{n} d ago",
        "dur.s": "{n}s", "dur.m": "{n} min", "dur.h": "{n} h", "dur.d": "{n} d",
        "signedin_as": "Signed in as",
    },
}

#: Display names of connector types (the timeline's channels), identity kinds, attributes, event kinds.
LABELS: dict[str, dict[str, dict[str, str]]] = {
    "zh-CN": {
        "channel": {"wecom": "企业微信", "feiyu": "飞鱼线索", "clink": "呼叫中心", "udesk": "工单", "sql": "数据库", "example": "示例 CRM"},
        "kind": {"phone": "手机号", "email": "邮箱", "wecom_external_userid": "企微外部联系人", "wechat_unionid": "微信 UnionID",
                 "crm_id": "CRM 编号", "duplicate_record": "重复记录"},
        "attr": {"name": "姓名", "gender": "性别", "city": "城市", "province": "省份", "company": "公司", "owner": "跟进人",
                 "tier": "会员等级", "stage": "阶段", "source_channel": "来源渠道", "wecom_remark": "企微备注",
                 "feiyu_clue_id": "飞鱼线索 ID", "feiyu_advertiser_id": "广告主 ID", "email": "邮箱", "tags": "标签"},
        "event": {"lead_created": "新线索", "call": "通话", "chat": "会话", "ticket_opened": "工单创建", "ticket_updated": "工单更新",
                  "order": "订单", "group_joined": "加入客户群", "group_left": "退出客户群", "chat_message": "聊天消息",
                  "chat_message_recalled": "撤回消息", "wecom_message": "群发消息", "wecom_owner_departed": "跟进人离职", "wecom_friend_added": "添加好友", "wecom_friend_removed": "好友解除", "tag_changed": "标签变更",
                  "transfer": "转接", "record_deleted": "记录删除"},
    },
    "en": {
        "channel": {"wecom": "WeCom", "feiyu": "Feiyu leads", "clink": "Call center", "udesk": "Tickets", "sql": "Database", "example": "Example CRM"},
        "kind": {"phone": "Phone", "email": "E-mail", "wecom_external_userid": "WeCom external id", "wechat_unionid": "WeChat unionid",
                 "crm_id": "CRM id", "duplicate_record": "Duplicate record"},
        "attr": {"name": "Name", "gender": "Gender", "city": "City", "province": "Province", "company": "Company", "owner": "Owner",
                 "tier": "Tier", "stage": "Stage", "source_channel": "Source channel", "wecom_remark": "WeCom remark",
                 "feiyu_clue_id": "Feiyu lead id", "feiyu_advertiser_id": "Advertiser id", "email": "E-mail", "tags": "Tags"},
        "event": {"lead_created": "New lead", "call": "Call", "chat": "Chat", "ticket_opened": "Ticket opened", "ticket_updated": "Ticket updated",
                  "order": "Order", "group_joined": "Joined a group", "group_left": "Left a group", "chat_message": "Chat message",
                  "chat_message_recalled": "Message recalled", "wecom_message": "Mass message", "wecom_owner_departed": "Owner left", "wecom_friend_added": "Added on WeCom", "wecom_friend_removed": "WeCom friend removed",
                  "tag_changed": "Tags changed", "transfer": "Transfer", "record_deleted": "Record deleted"},
    },
}


def current_lang() -> str:
    lang = g.get("lang")
    if lang:
        return lang
    wanted = request.args.get("lang") or request.cookies.get(COOKIE) or DEFAULT
    lang = next((code for code in LANGS if code.lower() == str(wanted).lower() or code.split("-")[0] == str(wanted).lower()), DEFAULT)
    g.lang = lang
    return lang


def t(key: str, **values) -> str:
    text = MESSAGES[current_lang()].get(key) or MESSAGES[DEFAULT].get(key) or key
    return text.format(**values) if values else text


def label(group: str, name: str) -> str:
    """What plugins registered (``hub_register_labels``), else the built-in table, else the name."""
    from hub.web.labels import app_labels

    lang = current_lang()
    return (app_labels().text(group, name, lang) or LABELS[lang].get(group, {}).get(name)
            or LABELS[DEFAULT].get(group, {}).get(name) or name)


def _merge_reasons() -> None:
    from hub.web.reasons import MESSAGES as REASONS

    for lang, texts in REASONS.items():
        MESSAGES[lang].update(texts)


_merge_reasons()


def _merge_automations() -> None:
    from hub.web.ui.automation_text import MESSAGES as AUTOMATIONS

    for lang, texts in AUTOMATIONS.items():
        MESSAGES[lang].update(texts)


_merge_automations()
