"""The twin's project-level services: Service Usage (API enablement, serving quotas), Resource
Manager (project number, testIamPermissions), the Cloud Billing catalog (a fixture price list,
marked as the twin's) and the bucket metadata and IAM that the GCS emulator does not keep.

Each lives under a path named after the real host (`/serviceusage.googleapis.com/v1/...`) on the
twin's port; the knobs `quotas`, `denied_permissions`, `disabled_services` and `buckets` shape
the answers (docs/emulator.md, "Project services"). The serving quotas Service Usage reports are
the ones Vertex deploys are charged against (`quotas`).
"""
