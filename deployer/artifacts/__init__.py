"""Artifacts: content digests of local directories and gs:// prefixes, uploads to Cloud Storage.

SavedModel inspection (TensorFlow) is imported lazily where it is needed.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from deployer.core.stack import Stack


def digests_for(stack: Stack) -> dict[str, str]:
    """Digest of every artifact the stack declares, keyed by its source (dir path or gs:// URI)."""
    sources = {
        model.artifact_source(version)
        for model in stack.models
        for version in model.spec.versions
        if version.artifact is not None
    }
    return digest_sources(sources, stack.project)


def digest_sources(sources: Iterable[str], project: str) -> dict[str, str]:
    """Digest of each source: local directories hashed (with the file-hash cache), gs://
    prefixes from their objects' stored checksums (a storage client is made only if needed)."""
    from deployer.artifacts.digest import HashCache, local_digest

    sources = set(sources)
    digests: dict[str, str] = {}
    cache = HashCache()
    try:
        for source in sorted(s for s in sources if not s.startswith("gs://")):
            digests[source] = local_digest(Path(source), cache)
    finally:
        cache.save()
    remote = sorted(s for s in sources if s.startswith("gs://"))
    if remote:
        from deployer.artifacts.gcs import gcs_digest, storage_client

        client = storage_client(project)
        for source in remote:
            digests[source] = gcs_digest(client, source)
    return digests
