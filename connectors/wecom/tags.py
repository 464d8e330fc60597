"""The corp tag catalog: tag name → id resolution, cached, and creation of missing tags.

The CRM speaks tag *names* ("VIP客户"); ``mark_tag`` wants ids. Reading the catalog for every
write would spend the per-API limit on ``get_corp_tag_list``, so it is cached (Redis, or in
process) for a few minutes and re-read when a name is missing, when WeCom says a tag id is
invalid (40068), or after we add a tag. A tag named in a payload but absent from WeCom is
created with ``add_corp_tag`` in the configured ``tag_group_name`` group.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from typing import TYPE_CHECKING, Any

from hub.connector import PermanentError

if TYPE_CHECKING:
    from connectors.wecom.connector import WeComConnector

CATALOG_TTL = 600
#: add_corp_tag: "a tag with this name already exists" (another worker was faster).
TAG_EXISTS = 40071

_local: dict[str, tuple[list[dict[str, Any]], float]] = {}
_guard = threading.Lock()


def tag_ref(value: Any) -> tuple[str | None, str | None, str | None]:
    """A payload's tag reference → (id, group name, tag name). Accepted forms: ``"名"``,
    ``"组/名"``, ``{"name": .., "group": ..}`` and ``{"id": ..}``."""
    if isinstance(value, dict):
        if value.get("id"):
            return str(value["id"]), None, None
        return None, value.get("group") or value.get("group_name"), value.get("name") or value.get("tag_name")
    text = str(value).strip()
    if "/" in text:
        group, _, name = text.partition("/")
        return None, group.strip(), name.strip()
    return None, None, text


class TagCatalog:
    def __init__(self, connector: "WeComConnector"):
        self.connector = connector
        fingerprint = hashlib.sha256(f"{connector.config['base_url']}\0{connector.config['corp_id']}".encode()).hexdigest()[:24]
        self._key = f"hub:wecom:tags:{fingerprint}"

    def catalog(self, *, refresh: bool = False) -> list[dict[str, Any]]:
        """``tag_group`` as get_corp_tag_list returns it (cached)."""
        cache = self.connector.cache
        if not refresh:
            if cache is not None:
                raw = cache.get(self._key)
                if raw:
                    return json.loads(raw)
            else:
                entry = _local.get(self._key)
                if entry and entry[1] > time.time():
                    return entry[0]
        groups = self.connector.client.post("externalcontact/get_corp_tag_list", {}).get("tag_group") or []
        if cache is not None:
            cache.set(self._key, json.dumps(groups, ensure_ascii=False), ex=CATALOG_TTL)
        else:
            with _guard:
                _local[self._key] = (groups, time.time() + CATALOG_TTL)
        return groups

    def invalidate(self) -> None:
        if self.connector.cache is not None:
            self.connector.cache.delete(self._key)
        else:
            _local.pop(self._key, None)

    def names_by_id(self) -> dict[str, dict[str, str]]:
        return {
            tag["id"]: {"id": tag["id"], "name": tag.get("name", ""), "group_name": group.get("group_name", "")}
            for group in self.catalog()
            for tag in group.get("tag") or []
            if not tag.get("deleted")
        }

    def _find(self, groups: list[dict[str, Any]], ref: Any) -> str | None:
        tag_id, group_name, name = tag_ref(ref)
        if tag_id:
            return tag_id
        preferred = group_name or self.connector.config["tag_group_name"]
        matches = [
            (group.get("group_name"), tag["id"])
            for group in groups
            for tag in group.get("tag") or []
            if tag.get("name") == name and not tag.get("deleted") and (group_name is None or group.get("group_name") == group_name)
        ]
        in_preferred = [tid for gname, tid in matches if gname == preferred]
        if in_preferred:
            return in_preferred[0]
        if len(matches) == 1:
            return matches[0][1]
        if len(matches) > 1:
            raise PermanentError(f"WeCom tag {name!r} exists in several groups; name it as 组/名")
        return None

    def resolve(self, refs: list[Any], *, create: bool) -> list[str]:
        """Tag ids for ``refs``. Missing ones are created when ``create``, else skipped."""
        ids: list[str] = []
        missing: list[Any] = []
        groups = self.catalog()
        for ref in refs:
            found = self._find(groups, ref)
            (ids.append(found) if found else missing.append(ref))
        if missing:
            groups = self.catalog(refresh=True)  # maybe somebody added them since we cached
            still = []
            for ref in missing:
                found = self._find(groups, ref)
                (ids.append(found) if found else still.append(ref))
            if still and create:
                ids.extend(self._create(still))
        return list(dict.fromkeys(ids))

    def _create(self, refs: list[Any]) -> list[str]:
        by_group: dict[str, list[str]] = {}
        for ref in refs:
            tag_id, group_name, name = tag_ref(ref)
            if tag_id or not name:
                raise PermanentError(f"WeCom tag id {tag_id!r} does not exist" if tag_id else "empty tag name")
            by_group.setdefault(group_name or self.connector.config["tag_group_name"], []).append(name)
        created: list[str] = []
        for group_name, names in by_group.items():
            group = next((g for g in self.catalog() if g.get("group_name") == group_name and not g.get("deleted")), None)
            body: dict[str, Any] = {"tag": [{"name": n} for n in names]}
            body.update({"group_id": group["group_id"]} if group else {"group_name": group_name})
            try:
                answer = self.connector.client.post("externalcontact/add_corp_tag", body)
            except PermanentError as exc:
                if exc.code != TAG_EXISTS:
                    raise
                groups = self.catalog(refresh=True)
                created.extend(t for t in (self._find(groups, {"group": group_name, "name": n}) for n in names) if t)
                continue
            created.extend(tag["id"] for tag in (answer.get("tag_group") or {}).get("tag") or [])
        self.invalidate()
        return created
