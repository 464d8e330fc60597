"""Sobot open-platform token signature.

``GET /api/get_token?appid=&create_time=&sign=`` with ``create_time`` in Unix seconds and
``sign = hex(MD5(appid + create_time + app_key))`` (lower case, plain concatenation, no
separator). Checked against Sobot's own developer docs (工单中心 › 获取访问 token 编码:
sobot.com/developerdocs/service/work_order_center.html, developer.zhichi.com/pages/950d89)
and public integrations. The app key itself never travels.
"""

from __future__ import annotations

import hashlib
import time


def sobot_sign(appid: str, create_time: str, app_key: str) -> str:
    return hashlib.md5(f"{appid}{create_time}{app_key}".encode()).hexdigest()


def token_params(appid: str, app_key: str, now: float | None = None) -> dict[str, str]:
    """The query of one ``get_token`` call, signed for the current second."""
    create_time = str(int(time.time() if now is None else now))
    return {"appid": appid, "create_time": create_time, "sign": sobot_sign(appid, create_time, app_key)}
