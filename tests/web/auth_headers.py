"""Request headers for the web tests (a module of its own: ``from conftest import …`` resolves to
whichever ``conftest`` pytest imported first when several test folders run in one call)."""


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
