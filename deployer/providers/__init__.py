"""The backends, one package each (`mlengine`, `vertex`), found by `registry`; and what they
share: Google API discovery, credentials, retries, pacing, operation polling. This is the only
code that talks to the cloud APIs; it depends on `deployer.core` only."""
