"""Who the credentials are: a service account's e-mail from the credentials themselves, a user's
from Google's tokeninfo endpoint (the access token's `email`, present when the login asked for
the e-mail scope, as `gcloud auth application-default login` does)."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

TOKENINFO_URL = "https://oauth2.googleapis.com/tokeninfo"
TIMEOUT = 5.0


def identity(credentials: Any) -> str:
    """`alice@example.com`, `ci@p.iam.gserviceaccount.com`, or a description when unknown."""
    email = getattr(credentials, "service_account_email", None)
    if isinstance(email, str) and "@" in email:
        return email
    token = getattr(credentials, "token", None)
    if token:
        query = urllib.parse.urlencode({"access_token": token})
        try:
            with urllib.request.urlopen(f"{TOKENINFO_URL}?{query}", timeout=TIMEOUT) as resp:
                info = json.loads(resp.read())
        except (urllib.error.URLError, OSError, ValueError):
            info = {}
        if isinstance(info, dict) and info.get("email"):
            return str(info["email"])
    return f"{type(credentials).__name__} credentials (no e-mail address readable)"
