"""会话内容存档 (chat archive): the ``chat_messages`` stream and what it stands on.

WeCom hands archived messages out only through Tencent's native finance SDK
(``libWeWorkFinanceSdk_C.so``): ``GetChatData(seq, limit)`` returns encrypted items, each
with ``publickey_ver``, ``encrypt_random_key`` (the message key, RSA-encrypted with the
public key the admin uploaded for that version, PKCS#1 v1.5) and ``encrypt_chat_msg``;
``DecryptData(random_key, encrypt_chat_msg)`` opens the body. Developer doc 91774.

* :mod:`.keys` — the RSA half, done by the hub with ``cryptography``: one private key per
  ``publickey_ver``, so keys can rotate while older messages are still being read;
* :mod:`.backends` — the body half, pluggable: the production backend loads the SDK from
  ``sdk_path`` through ctypes (never downloaded); the sandbox backend imitates its calls
  over HTTP against the WeCom sandbox so tests and the demo run the real RSA path;
* :mod:`.messages` — archived messages → records (direction, member, customer, text parts);
* :mod:`.stream` — the seq-cursor stream.
"""
