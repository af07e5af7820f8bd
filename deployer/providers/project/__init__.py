"""Project-level Google APIs: Service Usage (services, serving quotas), Resource Manager
(project number, testIamPermissions), the Cloud Billing Catalog (prices) and Cloud Storage
bucket metadata and IAM. Like every provider, the only code here talks to the cloud; what to make
of the answers (doctor, quota checks, cost) lives above, in plain data.
"""
